package org.aiguillage.node;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;
import java.util.function.Function;
import org.aiguillage.actors.ModelQueue;
import org.aiguillage.actors.fleet.FleetRegistry;
import org.aiguillage.agents.AgentSettings;
import org.aiguillage.agents.CallEnergy;
import org.aiguillage.agents.GpuAgent;
import org.aiguillage.agents.ServerSpec;
import org.aiguillage.protocol.accounting.UsageRecord;
import org.aiguillage.protocol.config.DatacenterConfig;
import org.aiguillage.protocol.config.ModelConfig;
import org.aiguillage.protocol.dispatch.AgentCommand;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.typed.ClusterSingleton;
import org.apache.pekko.cluster.typed.ClusterSingletonSettings;
import org.apache.pekko.cluster.typed.SingletonActor;

/**
 * This node's view of the fleet registry: the models and servers the edge serves and the agents run, refreshed
 * every second (at once on this node after an admin change). On an agent node it also keeps one agent singleton
 * per registered server of its datacentre: a new server gets its agent, a removed one's agent drains and stops.
 */
final class FleetView {

  static final Duration REFRESH = Duration.ofSeconds(1);

  private final ActorSystem<?> system;
  private final String datacenter;
  private final boolean agents;
  private final Consumer<UsageRecord> usage;
  private final Set<ActorRef<AgentCommand>> localAgents;
  /** The PUE and carbon intensity of each datacentre, as the node's file gives them at its start. */
  private final Function<String, DatacenterConfig> datacenters;
  private volatile List<ModelConfig> models;
  /** The models whose queue timeouts the metrics last said: said again only when the fleet changes. */
  private List<ModelConfig> timeoutsPublished;
  private volatile FleetRegistry.State state = new FleetRegistry.State(List.of(), Set.of(), 0);
  private volatile Set<String> registered = Set.of();
  /** The server each registration's agent should run with, read by the agent singleton where it starts. */
  private final Map<String, ServerSpec> specs = new java.util.concurrent.ConcurrentHashMap<>();
  /** The agents this node started, by registration key, and their singleton proxies. */
  private final Map<String, ActorRef<AgentCommand>> started = new HashMap<>();

  FleetView(ActorSystem<?> system, List<ModelConfig> initial, String datacenter, boolean agents,
      Consumer<UsageRecord> usage, Set<ActorRef<AgentCommand>> localAgents,
      Function<String, DatacenterConfig> datacenters) {
    this.system = system;
    this.datacenters = datacenters;
    this.models = List.copyOf(initial);
    this.datacenter = datacenter;
    this.agents = agents;
    this.usage = usage;
    this.localAgents = localAgents;
  }

  List<ModelConfig> models() {
    return models;
  }

  Optional<ModelConfig> model(String name) {
    return models.stream().filter(m -> m.name().equals(name)).findFirst();
  }

  /** The registry as last read: owners and overrides. */
  FleetRegistry.State state() {
    return state;
  }

  CompletionStage<FleetRegistry.Reply> ask(Function<ActorRef<FleetRegistry.Reply>, FleetRegistry.Command> command) {
    return ClusterSharding.get(system).entityRefFor(FleetRegistry.TYPE_KEY, FleetRegistry.ID)
        .ask(command::apply, Duration.ofSeconds(10))
        .thenApply(reply -> {
          if (reply instanceof FleetRegistry.Fleet fleet) {
            update(fleet.state());
          } else if (reply instanceof FleetRegistry.Applied applied) {
            update(applied.state());
          }
          return reply;
        });
  }

  void refreshEverySecond() {
    system.scheduler().scheduleWithFixedDelay(REFRESH, REFRESH, () -> ask(FleetRegistry.Get::new),
        system.executionContext());
  }

  private synchronized void update(FleetRegistry.State state) {
    this.state = state;
    models = state.models().stream().map(FleetRegistry.RegisteredModel::withServers).toList();
    if (!models.equals(timeoutsPublished)) {
      for (ModelConfig m : models) {
        kamon.Kamon.gauge("aiguillage_queue_timeout_seconds", "the model's queue_timeout")
            .withTag("model", m.name()).update(m.queueTimeout().toMillis() / 1000.0);
      }
      timeoutsPublished = models;
    }
    Map<String, ServerSpec> wanted = new HashMap<>();
    for (FleetRegistry.RegisteredModel m : state.models()) {
      for (FleetRegistry.Registered r : m.servers()) {
        String dc = r.server().datacenter();
        if (dc.equals("default") || dc.equals(datacenter)) {
          wanted.put(key(m.model().name(), r),
              ServerSpec.of(m.withServers(), r.effective().withDatacenter(datacenter)));
        }
      }
    }
    registered = Set.copyOf(wanted.keySet());
    if (!agents) {
      return;
    }
    wanted.forEach((key, spec) -> {
      ServerSpec before = specs.put(key, spec);
      ActorRef<AgentCommand> agent = started.get(key);
      if (agent == null) {
        started.put(key, startAgent(key, spec));
      } else if (!spec.equals(before)) {
        agent.tell(new AgentCommand.Reconfigure(spec.server()));
      }
    });
    specs.keySet().retainAll(wanted.keySet());
    started.entrySet().removeIf(e -> {
      if (wanted.containsKey(e.getKey())) {
        return false;
      }
      system.log().info("fleet: server {} removed, its agent drains", e.getKey());
      e.getValue().tell(new AgentCommand.Drain(null, true));
      return true;
    });
  }

  private static String key(String model, FleetRegistry.Registered r) {
    return model + "|" + r.server().url() + "|" + r.registration();
  }

  private AgentSettings settingsFor(ServerSpec spec) {
    DatacenterConfig dc = datacenters.apply(spec.server().datacenter());
    Optional<ModelConfig> model = model(spec.model());
    CallEnergy energy = CallEnergy.of(spec.server().servingWatts(),
        model.map(ModelConfig::servedName).orElse(spec.model()), dc.pue(), dc.carbonIntensityGPerKwh());
    return model.map(m -> AgentSettings.defaults().withFirstEventTimeout(m.firstTokenTimeout()))
        .orElseGet(AgentSettings::defaults).withEnergy(energy);
  }

  /**
   * A singleton among the agent nodes of this datacentre. Where it starts, it first checks that its server is
   * still registered: a singleton removed here could otherwise start again on another node after a hand-over.
   */
  private ActorRef<AgentCommand> startAgent(String key, ServerSpec spec) {
    var queue = ClusterSharding.get(system).entityRefFor(ModelQueue.TYPE_KEY, spec.model());
    // Where the singleton starts (here, or on another node after a hand-over), it runs with the server's
    // configuration as that node knows it then, not as it was when the singleton was first declared.
    Behavior<AgentCommand> agent = Behaviors.setup(ctx -> {
      ServerSpec now = specs.get(key);
      return registered.contains(key) && now != null
          ? Behaviors.supervise(GpuAgent.create(now, queue, settingsFor(now), usage, localAgents))
              .onFailure(SupervisorStrategy.restart())
          : Behaviors.stopped();
    });
    String name = "agent-" + URLEncoder.encode(spec.serverId(), StandardCharsets.UTF_8) + "-"
        + key.substring(key.lastIndexOf('|') + 1);
    return ClusterSingleton.get(system).init(SingletonActor.of(agent, name)
        .withStopMessage(new AgentCommand.Drain(null, true))
        .withSettings(ClusterSingletonSettings.create(system).withRole(ClusterConfig.agentRole(datacenter))));
  }
}
