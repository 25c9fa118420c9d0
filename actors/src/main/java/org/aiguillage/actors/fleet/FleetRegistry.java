package org.aiguillage.actors.fleet;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.UnaryOperator;
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
 * The federation's models and their servers, as the configuration files and the admin API make them: event-sourced,
 * one entity for the cluster (sharded under the id {@link #ID}).
 *
 * <p>Each model and server has an owner (decision 012): the configuration file of a datacentre ({@code file:dc1})
 * or the admin API ({@code api}). What a file owns follows that file each time a node of its datacentre applies it
 * ({@link Apply}: at start and at each reload): added, changed, removed. What the API made stays until the API
 * removes it. The API may change a file-owned model's lifecycle and aliases, and a file-owned server's ceilings: the
 * change is kept as an override beside the file's value, until the file changes that value or the API drops it.
 * Entries registered before owners were recorded have none (legacy): a file that lists them adopts them; one that
 * does not leaves them, and says so.
 */
public final class FleetRegistry
    extends EventSourcedBehaviorWithEnforcedReplies<FleetRegistry.Command, FleetRegistry.Event, FleetRegistry.State> {

  public static final EntityTypeKey<Command> TYPE_KEY = EntityTypeKey.create(Command.class, "FleetRegistry");
  public static final String ID = "fleet";
  /** The owner of what the admin API made. */
  public static final String API = "api";

  public static void initSharding(ActorSystem<?> system) {
    ClusterSharding.get(system).init(Entity.of(TYPE_KEY, ctx ->
        create(PersistenceId.of(ctx.getEntityTypeKey().name(), ctx.getEntityId()))));
  }

  public static Behavior<Command> create(PersistenceId persistenceId) {
    return new FleetRegistry(persistenceId);
  }

  /** The owner of what a datacentre's configuration file lists. */
  public static String fileOf(String datacenter) {
    return "file:" + datacenter;
  }

  /**
   * An API change to a file-owned server's ceilings; null fields: no override.
   */
  public record ServerOverride(Integer maxParallelRequests, Integer maxWaiting) implements CborSerializable {
    public static final ServerOverride NONE = new ServerOverride(null, null);

    boolean none() {
      return maxParallelRequests == null && maxWaiting == null;
    }

    ServerConfig over(ServerConfig s) {
      return new ServerConfig(s.url(), s.bearerToken(), s.organization(),
          maxParallelRequests != null ? maxParallelRequests : s.maxParallelRequests(), s.type(), s.datacenter(),
          s.powerWatts(), maxWaiting != null ? maxWaiting : s.maxWaiting(), s.gpu());
    }

    /** What is left of it once the file's server changed from {@code before} to {@code after}. */
    ServerOverride keptThrough(ServerConfig before, ServerConfig after) {
      return new ServerOverride(
          before.maxParallelRequests().equals(after.maxParallelRequests()) ? maxParallelRequests : null,
          before.maxWaiting().equals(after.maxWaiting()) ? maxWaiting : null);
    }
  }

  /** An API change to a file-owned model's lifecycle and aliases; null fields: no override. */
  public record ModelOverride(Lifecycle lifecycle, List<String> aliases) implements CborSerializable {
    public static final ModelOverride NONE = new ModelOverride(null, null);

    boolean none() {
      return lifecycle == null && aliases == null;
    }

    ModelConfig over(ModelConfig m) {
      return m.withLifecycleAndAliases(lifecycle != null ? lifecycle : m.lifecycle(),
          aliases != null ? aliases : m.aliases());
    }

    ModelOverride keptThrough(ModelConfig before, ModelConfig after) {
      return new ModelOverride(before.lifecycle() == after.lifecycle() ? lifecycle : null,
          before.aliases().equals(after.aliases()) ? aliases : null);
    }
  }

  /**
   * A server as registered: its configuration (the file's, for a file-owned one), its registration number, its
   * owner (null: registered before owners were recorded) and the API's override of it.
   */
  public record Registered(ServerConfig server, long registration, String owner, ServerOverride override)
      implements CborSerializable {

    public Registered {
      override = override == null ? ServerOverride.NONE : override;
    }

    /** The server as it is run: with the API's override. */
    public ServerConfig effective() {
      return override.over(server);
    }
  }

  /** A model with its registered servers (the {@code vllmServers} of {@code model} are not used). */
  public record RegisteredModel(ModelConfig model, List<Registered> servers, String owner, ModelOverride override)
      implements CborSerializable {

    public RegisteredModel {
      override = override == null ? ModelOverride.NONE : override;
    }

    /** The model's configuration with its servers, overrides applied, as the rest of the node reads it. */
    public ModelConfig withServers() {
      return override.over(model).withServers(servers.stream().map(Registered::effective).toList());
    }

    Optional<Registered> server(String url) {
      return servers.stream().filter(r -> r.server().url().equals(url)).findFirst();
    }
  }

  /** The whole fleet. {@code everSeen}: servers and models once registered ({@code model} and {@code model@url}). */
  public record State(List<RegisteredModel> models, Set<String> everSeen, long registrations)
      implements CborSerializable {

    public Optional<RegisteredModel> model(String name) {
      return models.stream().filter(m -> m.model().name().equals(name)).findFirst();
    }
  }

  public sealed interface Command extends CborSerializable {}

  /**
   * A configuration file's models, as its datacentre's nodes read it ({@code owner}: {@link #fileOf}): what it owns
   * follows it. Answered by {@link Applied}, with a line for each change.
   *
   * @param servers whether the file's servers are applied too: a node that runs agents fronts its datacentre's
   *     servers and its file says which; a node without agents (an edge, a queue) may list models without them
   */
  public record Apply(String owner, List<ModelConfig> models, boolean servers, ActorRef<Reply> replyTo)
      implements Command {

    public Apply(String owner, List<ModelConfig> models, ActorRef<Reply> replyTo) {
      this(owner, models, true, replyTo);
    }
  }

  public record Get(ActorRef<Reply> replyTo) implements Command {}

  public record AddModel(ModelConfig model, ActorRef<Reply> replyTo) implements Command {}

  public record RemoveModel(String name, ActorRef<Reply> replyTo) implements Command {}

  public record AddServer(String model, ServerConfig server, ActorRef<Reply> replyTo) implements Command {}

  /** @param url the server's URL (its id within the model) */
  public record RemoveServer(String model, String url, ActorRef<Reply> replyTo) implements Command {}

  /** Sets a model's lifecycle and aliases (null: as they are); for a file-owned model, as an override. */
  public record SetModel(String name, Lifecycle lifecycle, List<String> aliases, ActorRef<Reply> replyTo)
      implements Command {}

  /**
   * Sets a server's ceilings: for an API-owned server, its configuration; for a file-owned one, an override.
   *
   * @param change the new override of a file-owned server (null fields: dropped), or the values to set on an
   *     API-owned one (null fields: unchanged)
   */
  public record SetServer(String model, String url, ServerOverride change, ActorRef<Reply> replyTo)
      implements Command {}

  /** Drops the API's overrides of a file-owned model ({@code url} null) or server. */
  public record DropOverride(String model, String url, ActorRef<Reply> replyTo) implements Command {}

  public sealed interface Reply extends CborSerializable {}

  public record Fleet(State state) implements Reply {}

  /**
   * What a file's {@link Apply} changed, one line each, for the log and the answer, and what the operator should look
   * at (the database held another configuration's fleet).
   */
  public record Applied(State state, List<String> changes, List<String> warnings) implements Reply {}

  public record Refused(int status, String message) implements Reply {}

  public sealed interface Event extends CborSerializable {}

  /** @param owner null in events written before owners were recorded */
  public record ModelAdded(ModelConfig model, String owner) implements Event {}

  public record ModelRemoved(String name) implements Event {}

  /** @param owner null in events written before owners were recorded */
  public record ServerAdded(String model, ServerConfig server, String owner) implements Event {}

  public record ServerRemoved(String model, String url) implements Event {}

  /** A model's lifecycle and aliases set directly (an API-owned model, or before overrides existed). */
  public record ModelChanged(String name, Lifecycle lifecycle, List<String> aliases) implements Event {}

  /** A file changed a model's settings (its servers apart): overrides of the values it changed go. */
  public record ModelReplaced(ModelConfig model) implements Event {}

  /** A server's configuration replaced (by its file, or by the API for its own): overrides it changed go. */
  public record ServerReplaced(String model, ServerConfig server) implements Event {}

  /** A file took over a model (or a server, {@code url} set) that the API or no owner had. */
  public record Owned(String model, String url, String owner) implements Event {}

  public record ModelOverridden(String name, ModelOverride override) implements Event {}

  public record ServerOverridden(String model, String url, ServerOverride override) implements Event {}

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
        .onCommand(Apply.class, this::onApply)
        .onCommand(Get.class, (state, c) -> Effect().reply(c.replyTo(), new Fleet(state)))
        .onCommand(AddModel.class, (state, c) -> {
          if (state.model(c.model().name()).isPresent()) {
            return Effect().reply(c.replyTo(), new Refused(409, "Model '" + c.model().name() + "' exists."));
          }
          List<Event> events = new ArrayList<>();
          events.add(new ModelAdded(c.model(), API));
          c.model().vllmServers().forEach(s -> events.add(new ServerAdded(c.model().name(), s, API)));
          return Effect().persist(events).thenReply(c.replyTo(), Fleet::new);
        })
        .onCommand(RemoveModel.class, (state, c) -> {
          Optional<RegisteredModel> model = state.model(c.name());
          if (model.isEmpty()) {
            return Effect().reply(c.replyTo(), new Refused(404, "No model '" + c.name() + "'."));
          }
          if (isFile(model.get().owner())) {
            return Effect().reply(c.replyTo(), ownedByFile("Model '" + c.name() + "'", model.get().owner()));
          }
          return Effect().persist(new ModelRemoved(c.name())).thenReply(c.replyTo(), Fleet::new);
        })
        .onCommand(AddServer.class, (state, c) -> {
          Optional<RegisteredModel> model = state.model(c.model());
          if (model.isEmpty()) {
            return Effect().reply(c.replyTo(), new Refused(404, "No model '" + c.model() + "'."));
          }
          if (model.get().server(c.server().url()).isPresent()) {
            return Effect().reply(c.replyTo(), new Refused(409, "Model '" + c.model() + "' has a server at "
                + c.server().url() + " already."));
          }
          return Effect().persist(new ServerAdded(c.model(), c.server(), API)).thenReply(c.replyTo(), Fleet::new);
        })
        .onCommand(SetModel.class, this::onSetModel)
        .onCommand(SetServer.class, this::onSetServer)
        .onCommand(DropOverride.class, (state, c) -> {
          Optional<RegisteredModel> model = state.model(c.model());
          if (model.isEmpty() || c.url() != null && model.get().server(c.url()).isEmpty()) {
            return Effect().reply(c.replyTo(), new Refused(404, "No " + (c.url() == null ? "model '" + c.model()
                + "'." : "server " + c.url() + " for model '" + c.model() + "'.")));
          }
          Event dropped = c.url() == null ? new ModelOverridden(c.model(), ModelOverride.NONE)
              : new ServerOverridden(c.model(), c.url(), ServerOverride.NONE);
          return Effect().persist(dropped).thenReply(c.replyTo(), Fleet::new);
        })
        .onCommand(RemoveServer.class, (state, c) -> {
          Optional<RegisteredModel> model = state.model(c.model());
          Optional<Registered> server = model.flatMap(m -> m.server(c.url()));
          if (server.isEmpty()) {
            return Effect().reply(c.replyTo(), new Refused(404, "No server " + c.url() + " for model '" + c.model()
                + "'."));
          }
          if (isFile(server.get().owner())) {
            return Effect().reply(c.replyTo(), ownedByFile("Server " + c.url() + " of model '" + c.model() + "'",
                server.get().owner()));
          }
          return Effect().persist(new ServerRemoved(c.model(), c.url())).thenReply(c.replyTo(), Fleet::new);
        })
        .build();
  }

  private static boolean isFile(String owner) {
    return owner != null && owner.startsWith("file:");
  }

  private static Refused ownedByFile(String what, String owner) {
    return new Refused(409, what + " is the configuration file's (" + owner + "): remove it from the file and "
        + "reload (POST /admin/config/reload, SIGHUP) to drain and remove it.");
  }

  private ReplyEffect<Event, State> onSetModel(State state, SetModel c) {
    Optional<RegisteredModel> model = state.model(c.name());
    if (model.isEmpty()) {
      return Effect().reply(c.replyTo(), new Refused(404, "No model '" + c.name() + "'."));
    }
    List<String> aliases = c.aliases() != null ? c.aliases() : model.get().withServers().aliases();
    for (String alias : aliases) {
      if (state.models().stream().anyMatch(m -> !m.model().name().equals(c.name())
          && m.withServers().answersTo(alias))) {
        return Effect().reply(c.replyTo(), new Refused(409, "'" + alias + "' already names another model."));
      }
    }
    RegisteredModel m = model.get();
    if (isFile(m.owner())) {
      ModelOverride next = new ModelOverride(
          c.lifecycle() != null ? c.lifecycle() : m.override().lifecycle(),
          c.aliases() != null ? c.aliases() : m.override().aliases());
      return Effect().persist(new ModelOverridden(c.name(), next)).thenReply(c.replyTo(), Fleet::new);
    }
    return Effect().persist(new ModelChanged(c.name(), c.lifecycle() != null ? c.lifecycle() : m.model().lifecycle(),
        aliases)).thenReply(c.replyTo(), Fleet::new);
  }

  private ReplyEffect<Event, State> onSetServer(State state, SetServer c) {
    Optional<Registered> server = state.model(c.model()).flatMap(m -> m.server(c.url()));
    if (server.isEmpty()) {
      return Effect().reply(c.replyTo(), new Refused(404, "No server " + c.url() + " for model '" + c.model()
          + "'."));
    }
    Registered r = server.get();
    if (isFile(r.owner())) {
      return Effect().persist(new ServerOverridden(c.model(), c.url(), c.change()))
          .thenReply(c.replyTo(), Fleet::new);
    }
    return Effect().persist(new ServerReplaced(c.model(), c.change().over(r.server())))
        .thenReply(c.replyTo(), Fleet::new);
  }

  /** A file's models against what it owns: the events that make the registry follow it, and a line for each. */
  private ReplyEffect<Event, State> onApply(State state, Apply c) {
    List<Event> events = new ArrayList<>();
    List<String> changes = new ArrayList<>();
    List<String> warnings = new ArrayList<>();
    String owner = c.owner();
    Set<String> listed = new HashSet<>();
    for (ModelConfig m : c.models()) {
      listed.add(m.name());
      ModelConfig bare = m.withServers(List.of());
      Optional<RegisteredModel> found = state.model(m.name());
      if (found.isEmpty()) {
        events.add(new ModelAdded(bare, owner));
        if (c.servers()) {
          m.vllmServers().forEach(s -> events.add(new ServerAdded(m.name(), s, owner)));
        }
        changes.add("model " + m.name() + " added with " + (c.servers() ? m.vllmServers().size() : 0)
            + " server(s)");
        continue;
      }
      RegisteredModel existing = found.get();
      boolean ours = owner.equals(existing.owner());
      if (!ours && !isFile(existing.owner())) {
        events.add(new Owned(m.name(), null, owner));
        changes.add("model " + m.name() + " (" + (existing.owner() == null ? "no owner recorded" : "made through "
            + "the API") + ") now follows the file");
        ours = true;
      }
      if (ours) {
        ModelConfig registered = existing.model().withServers(List.of());
        if (!registered.equals(bare)) {
          events.add(new ModelReplaced(bare));
          changes.add("model " + m.name() + " changed: " + String.join(", ", differences(registered, bare)));
        }
        ModelOverride kept = existing.override().keptThrough(registered, bare);
        if (!kept.none()) {
          changes.add("model " + m.name() + ": override kept (" + describe(kept) + "; the file says lifecycle "
              + bare.lifecycle() + ", aliases " + bare.aliases() + ")");
        } else if (!existing.override().none()) {
          changes.add("model " + m.name() + ": the file changed what the API overrode; the override is dropped");
        }
      } else if (!differences(existing.model().withServers(List.of()), bare).isEmpty()) {
        changes.add("model " + m.name() + " is " + existing.owner() + "'s: this file's settings of it ("
            + String.join(", ", differences(existing.model().withServers(List.of()), bare)) + ") do not apply");
      }
      if (!c.servers()) {
        continue;
      }
      Set<String> urls = new HashSet<>();
      for (ServerConfig s : m.vllmServers()) {
        urls.add(s.url());
        Optional<Registered> reg = existing.server(s.url());
        if (reg.isEmpty()) {
          events.add(new ServerAdded(m.name(), s, owner));
          changes.add("server " + s.url() + " of " + m.name() + " added");
          continue;
        }
        if (!owner.equals(reg.get().owner())) {
          events.add(new Owned(m.name(), s.url(), owner));
          changes.add("server " + s.url() + " of " + m.name() + " now follows the file");
        }
        ServerConfig before = reg.get().server();
        if (!before.equals(s)) {
          events.add(new ServerReplaced(m.name(), s));
          changes.add("server " + s.url() + " of " + m.name() + " changed: "
              + String.join(", ", differences(before, s)));
        }
        ServerOverride kept = reg.get().override().keptThrough(before, s);
        if (!kept.none()) {
          changes.add("server " + s.url() + " of " + m.name() + ": override kept (max_parallel_requests "
              + kept.maxParallelRequests() + ", max_waiting " + kept.maxWaiting() + "; the file says "
              + s.maxParallelRequests() + ", " + s.maxWaiting() + ")");
        }
      }
      for (Registered r : existing.servers()) {
        if (owner.equals(r.owner()) && !urls.contains(r.server().url())) {
          events.add(new ServerRemoved(m.name(), r.server().url()));
          changes.add("server " + r.server().url() + " of " + m.name() + " removed: it drains");
        }
      }
    }
    List<String> ownedBefore = state.models().stream().filter(m -> owner.equals(m.owner()))
        .map(m -> m.model().name()).toList();
    if (!ownedBefore.isEmpty() && !listed.isEmpty() && ownedBefore.stream().noneMatch(listed::contains)) {
      warnings.add("this database held another configuration's fleet (models " + ownedBefore + ", none of them "
          + "in this file): they are removed and the file's added; give each configuration its own database "
          + "(persistence.url) if that was not meant");
    }
    for (RegisteredModel m : state.models()) {
      String name = m.model().name();
      if (listed.contains(name)) {
        continue;
      }
      if (owner.equals(m.owner())) {
        events.add(new ModelRemoved(name));
        changes.add("model " + name + " removed: its servers drain");
      } else {
        for (Registered r : c.servers() ? m.servers() : List.<Registered>of()) {
          if (owner.equals(r.owner())) {
            events.add(new ServerRemoved(name, r.server().url()));
            changes.add("server " + r.server().url() + " of " + name + " removed: it drains");
          }
        }
        if (m.owner() == null) {
          changes.add("model " + name + " was registered before owners were recorded and is not in the file: it "
              + "stays until the file lists it or the API removes it (DELETE /admin/models/" + name + ")");
        }
      }
    }
    return events.isEmpty() ? Effect().reply(c.replyTo(), new Applied(state, changes, warnings))
        : Effect().persist(events).thenReply(c.replyTo(), s -> new Applied(s, changes, warnings));
  }

  private static String describe(ModelOverride o) {
    List<String> parts = new ArrayList<>();
    if (o.lifecycle() != null) {
      parts.add("lifecycle " + o.lifecycle());
    }
    if (o.aliases() != null) {
      parts.add("aliases " + o.aliases());
    }
    return String.join(", ", parts);
  }

  /** The settings of a model that differ, as the YAML names them, with both values. */
  static List<String> differences(ModelConfig a, ModelConfig b) {
    List<String> d = new ArrayList<>();
    diff(d, "model", a.servedName(), b.servedName());
    diff(d, "type", a.type(), b.type());
    diff(d, "routing_strategy", a.routingStrategy(), b.routingStrategy());
    diff(d, "queue_timeout", a.queueTimeout(), b.queueTimeout());
    diff(d, "priority_handler", a.priorityHandler(), b.priorityHandler());
    diff(d, "priority_aging", a.priorityAging(), b.priorityAging());
    diff(d, "lifecycle", a.lifecycle(), b.lifecycle());
    diff(d, "aliases", a.aliases(), b.aliases());
    diff(d, "first_token_timeout", a.firstTokenTimeout(), b.firstTokenTimeout());
    return d;
  }

  /** The settings of a server that differ, its token said changed, never shown. */
  static List<String> differences(ServerConfig a, ServerConfig b) {
    List<String> d = new ArrayList<>();
    diff(d, "organization", a.organization(), b.organization());
    diff(d, "max_parallel_requests", a.maxParallelRequests(), b.maxParallelRequests());
    diff(d, "type", a.type(), b.type());
    diff(d, "datacenter", a.datacenter(), b.datacenter());
    diff(d, "power_watts", a.powerWatts(), b.powerWatts());
    diff(d, "max_waiting", a.maxWaiting(), b.maxWaiting());
    diff(d, "gpu", a.gpu(), b.gpu());
    if (!java.util.Objects.equals(a.bearerToken(), b.bearerToken())) {
      d.add("token changed");
    }
    return d;
  }

  private static void diff(List<String> d, String name, Object a, Object b) {
    if (!java.util.Objects.equals(a, b)) {
      d.add(name + " " + a + " -> " + b);
    }
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState()
        .onEvent(ModelAdded.class, (state, e) -> {
          List<RegisteredModel> models = new ArrayList<>(state.models());
          models.add(new RegisteredModel(e.model().withServers(List.of()), List.of(), e.owner(), null));
          return new State(List.copyOf(models), plus(state.everSeen(), e.model().name()), state.registrations());
        })
        .onEvent(ModelRemoved.class, (state, e) -> new State(state.models().stream()
            .filter(m -> !m.model().name().equals(e.name())).toList(), state.everSeen(), state.registrations()))
        .onEvent(ServerAdded.class, (state, e) -> {
          long registration = state.registrations() + 1;
          State next = withModel(state, e.model(), m -> {
            List<Registered> servers = new ArrayList<>(m.servers());
            servers.add(new Registered(e.server(), registration, e.owner(), null));
            return new RegisteredModel(m.model(), List.copyOf(servers), m.owner(), m.override());
          });
          return new State(next.models(), plus(state.everSeen(), e.model() + "@" + e.server().url()), registration);
        })
        .onEvent(ModelChanged.class, (state, e) -> withModel(state, e.name(), m -> new RegisteredModel(
            m.model().withLifecycleAndAliases(e.lifecycle(), e.aliases()), m.servers(), m.owner(), m.override())))
        .onEvent(ModelReplaced.class, (state, e) -> withModel(state, e.model().name(), m -> new RegisteredModel(
            e.model(), m.servers(), m.owner(), m.override().keptThrough(m.model(), e.model()))))
        .onEvent(ModelOverridden.class, (state, e) -> withModel(state, e.name(), m -> new RegisteredModel(
            m.model(), m.servers(), m.owner(), e.override())))
        .onEvent(ServerRemoved.class, (state, e) -> withModel(state, e.model(), m -> new RegisteredModel(m.model(),
            m.servers().stream().filter(r -> !r.server().url().equals(e.url())).toList(), m.owner(), m.override())))
        .onEvent(ServerReplaced.class, (state, e) -> withServer(state, e.model(), e.server().url(), r ->
            new Registered(e.server(), r.registration(), r.owner(), r.override().keptThrough(r.server(), e.server()))))
        .onEvent(ServerOverridden.class, (state, e) -> withServer(state, e.model(), e.url(), r ->
            new Registered(r.server(), r.registration(), r.owner(), e.override())))
        .onEvent(Owned.class, (state, e) -> e.url() == null
            ? withModel(state, e.model(), m -> new RegisteredModel(m.model(), m.servers(), e.owner(), m.override()))
            : withServer(state, e.model(), e.url(), r -> new Registered(r.server(), r.registration(), e.owner(),
                r.override())))
        .build();
  }

  private static State withModel(State state, String name, UnaryOperator<RegisteredModel> change) {
    return new State(state.models().stream().map(m -> m.model().name().equals(name) ? change.apply(m) : m).toList(),
        state.everSeen(), state.registrations());
  }

  private static State withServer(State state, String model, String url, UnaryOperator<Registered> change) {
    return withModel(state, model, m -> new RegisteredModel(m.model(), m.servers().stream()
        .map(r -> r.server().url().equals(url) ? change.apply(r) : r).toList(), m.owner(), m.override()));
  }

  private static Set<String> plus(Set<String> set, String value) {
    Set<String> copy = new HashSet<>(set);
    copy.add(value);
    return Set.copyOf(copy);
  }
}
