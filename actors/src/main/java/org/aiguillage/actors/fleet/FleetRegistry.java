package org.aiguillage.actors.fleet;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.aiguillage.protocol.CborSerializable;
import org.aiguillage.protocol.config.Lifecycle;
import org.aiguillage.protocol.config.ModelConfig;
import org.aiguillage.protocol.config.ServerConfig;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;

/**
 * The federation's models and their servers, as operators change them while it serves: event-sourced, one entity
 * for the cluster (sharded under the id {@link #ID}). Each node seeds it from its YAML: a model or server the
 * registry has never seen is added; one an operator removed stays removed. Each server registration gets a
 * number, so that a server removed and added again gets a fresh agent.
 */
public final class FleetRegistry
    extends EventSourcedBehaviorWithEnforcedReplies<FleetRegistry.Command, FleetRegistry.Event, FleetRegistry.State> {

  public static final EntityTypeKey<Command> TYPE_KEY = EntityTypeKey.create(Command.class, "FleetRegistry");
  public static final String ID = "fleet";

  public static void initSharding(ActorSystem<?> system) {
    ClusterSharding.get(system).init(Entity.of(TYPE_KEY, ctx ->
        create(PersistenceId.of(ctx.getEntityTypeKey().name(), ctx.getEntityId()))));
  }

  public static Behavior<Command> create(PersistenceId persistenceId) {
    return new FleetRegistry(persistenceId);
  }

  /** A server as registered: its configuration and its registration number. */
  public record Registered(ServerConfig server, long registration) implements CborSerializable {}

  /** A model with its registered servers (the {@code vllmServers} of {@code model} are not used). */
  public record RegisteredModel(ModelConfig model, List<Registered> servers) implements CborSerializable {

    /** The model's configuration with its servers, as the rest of the node reads it. */
    public ModelConfig withServers() {
      return model.withServers(servers.stream().map(Registered::server).toList());
    }
  }

  /** The whole fleet. {@code everSeen}: servers and models once registered ({@code model} and {@code model@url}). */
  public record State(List<RegisteredModel> models, Set<String> everSeen, long registrations)
      implements CborSerializable {

    Optional<RegisteredModel> model(String name) {
      return models.stream().filter(m -> m.model().name().equals(name)).findFirst();
    }
  }

  public sealed interface Command extends CborSerializable {}

  /** A node's YAML models: adds what the registry never saw. */
  public record Seed(List<ModelConfig> models, ActorRef<Reply> replyTo) implements Command {}

  public record Get(ActorRef<Reply> replyTo) implements Command {}

  public record AddModel(ModelConfig model, ActorRef<Reply> replyTo) implements Command {}

  public record RemoveModel(String name, ActorRef<Reply> replyTo) implements Command {}

  public record AddServer(String model, ServerConfig server, ActorRef<Reply> replyTo) implements Command {}

  /** @param url the server's URL (its id within the model) */
  public record RemoveServer(String model, String url, ActorRef<Reply> replyTo) implements Command {}

  /** Sets a model's lifecycle and aliases. */
  public record SetModel(String name, Lifecycle lifecycle, List<String> aliases, ActorRef<Reply> replyTo)
      implements Command {}

  public sealed interface Reply extends CborSerializable {}

  public record Fleet(State state) implements Reply {}

  public record Refused(int status, String message) implements Reply {}

  public sealed interface Event extends CborSerializable {}

  public record ModelAdded(ModelConfig model) implements Event {}

  public record ModelRemoved(String name) implements Event {}

  public record ServerAdded(String model, ServerConfig server) implements Event {}

  public record ServerRemoved(String model, String url) implements Event {}

  public record ModelChanged(String name, Lifecycle lifecycle, List<String> aliases) implements Event {}

  private FleetRegistry(PersistenceId persistenceId) {
    super(persistenceId);
  }

  @Override
  public State emptyState() {
    return new State(List.of(), Set.of(), 0);
  }

  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    return newCommandHandlerWithReplyBuilder().forAnyState()
        .onCommand(Seed.class, this::onSeed)
        .onCommand(Get.class, (state, c) -> Effect().reply(c.replyTo(), new Fleet(state)))
        .onCommand(AddModel.class, (state, c) -> {
          if (state.model(c.model().name()).isPresent()) {
            return Effect().reply(c.replyTo(), new Refused(409, "Model '" + c.model().name() + "' exists."));
          }
          List<Event> events = new ArrayList<>();
          events.add(new ModelAdded(c.model()));
          c.model().vllmServers().forEach(s -> events.add(new ServerAdded(c.model().name(), s)));
          return Effect().persist(events).thenReply(c.replyTo(), Fleet::new);
        })
        .onCommand(RemoveModel.class, (state, c) -> state.model(c.name()).isEmpty()
            ? Effect().reply(c.replyTo(), new Refused(404, "No model '" + c.name() + "'."))
            : Effect().persist(new ModelRemoved(c.name())).thenReply(c.replyTo(), Fleet::new))
        .onCommand(AddServer.class, (state, c) -> {
          Optional<RegisteredModel> model = state.model(c.model());
          if (model.isEmpty()) {
            return Effect().reply(c.replyTo(), new Refused(404, "No model '" + c.model() + "'."));
          }
          if (model.get().servers().stream().anyMatch(r -> r.server().url().equals(c.server().url()))) {
            return Effect().reply(c.replyTo(), new Refused(409, "Model '" + c.model() + "' has a server at "
                + c.server().url() + " already."));
          }
          return Effect().persist(new ServerAdded(c.model(), c.server())).thenReply(c.replyTo(), Fleet::new);
        })
        .onCommand(SetModel.class, (state, c) -> {
          if (state.model(c.name()).isEmpty()) {
            return Effect().reply(c.replyTo(), new Refused(404, "No model '" + c.name() + "'."));
          }
          for (String alias : c.aliases()) {
            if (state.models().stream().anyMatch(m -> !m.model().name().equals(c.name()) && m.model().answersTo(alias))) {
              return Effect().reply(c.replyTo(), new Refused(409, "'" + alias + "' already names another model."));
            }
          }
          return Effect().persist(new ModelChanged(c.name(), c.lifecycle(), c.aliases()))
              .thenReply(c.replyTo(), Fleet::new);
        })
        .onCommand(RemoveServer.class, (state, c) -> {
          Optional<RegisteredModel> model = state.model(c.model());
          if (model.isEmpty() || model.get().servers().stream().noneMatch(r -> r.server().url().equals(c.url()))) {
            return Effect().reply(c.replyTo(), new Refused(404, "No server " + c.url() + " for model '" + c.model()
                + "'."));
          }
          return Effect().persist(new ServerRemoved(c.model(), c.url())).thenReply(c.replyTo(), Fleet::new);
        })
        .build();
  }

  private ReplyEffect<Event, State> onSeed(State state, Seed c) {
    List<Event> events = new ArrayList<>();
    Set<String> seen = new HashSet<>(state.everSeen());
    for (ModelConfig m : c.models()) {
      if (seen.add(m.name())) {
        events.add(new ModelAdded(m));
      }
      for (ServerConfig s : m.vllmServers()) {
        if (seen.add(m.name() + "@" + s.url())) {
          events.add(new ServerAdded(m.name(), s));
        }
      }
    }
    return events.isEmpty() ? Effect().reply(c.replyTo(), new Fleet(state))
        : Effect().persist(events).thenReply(c.replyTo(), Fleet::new);
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState()
        .onEvent(ModelAdded.class, (state, e) -> {
          List<RegisteredModel> models = new ArrayList<>(state.models());
          ModelConfig bare = e.model().withServers(List.of());
          models.add(new RegisteredModel(bare, List.of()));
          return new State(List.copyOf(models), plus(state.everSeen(), e.model().name()), state.registrations());
        })
        .onEvent(ModelRemoved.class, (state, e) -> new State(state.models().stream()
            .filter(m -> !m.model().name().equals(e.name())).toList(), state.everSeen(), state.registrations()))
        .onEvent(ServerAdded.class, (state, e) -> {
          long registration = state.registrations() + 1;
          List<RegisteredModel> models = state.models().stream().map(m -> {
            if (!m.model().name().equals(e.model())) {
              return m;
            }
            List<Registered> servers = new ArrayList<>(m.servers());
            servers.add(new Registered(e.server(), registration));
            return new RegisteredModel(m.model(), List.copyOf(servers));
          }).toList();
          return new State(models, plus(state.everSeen(), e.model() + "@" + e.server().url()), registration);
        })
        .onEvent(ModelChanged.class, (state, e) -> new State(state.models().stream().map(m ->
            !m.model().name().equals(e.name()) ? m
                : new RegisteredModel(m.model().withLifecycleAndAliases(e.lifecycle(), e.aliases()), m.servers()))
            .toList(), state.everSeen(), state.registrations()))
        .onEvent(ServerRemoved.class, (state, e) -> new State(state.models().stream().map(m ->
            !m.model().name().equals(e.model()) ? m : new RegisteredModel(m.model(), m.servers().stream()
                .filter(r -> !r.server().url().equals(e.url())).toList())).toList(),
            state.everSeen(), state.registrations()))
        .build();
  }

  private static Set<String> plus(Set<String> set, String value) {
    Set<String> copy = new HashSet<>(set);
    copy.add(value);
    return Set.copyOf(copy);
  }
}
