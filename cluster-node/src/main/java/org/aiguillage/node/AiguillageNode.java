package org.aiguillage.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import org.aiguillage.actors.ModelQueue;
import org.aiguillage.actors.QueueSettings;
import org.aiguillage.actors.RequestActor;
import org.aiguillage.actors.accounts.Accounts;
import org.aiguillage.actors.accounts.AuditLog;
import org.aiguillage.actors.accounts.Database;
import org.aiguillage.actors.accounts.UsageLedger;
import org.aiguillage.actors.accounts.UsageRecorder;
import org.aiguillage.actors.batch.Batch;
import org.aiguillage.actors.batch.BatchStore;
import org.aiguillage.actors.batch.FileStore;
import org.aiguillage.actors.batch.JdbcFileStore;
import org.aiguillage.actors.fleet.FleetRegistry;
import org.aiguillage.agents.GpuAgent;
import org.aiguillage.protocol.accounting.UsageRecord;
import org.aiguillage.protocol.config.Bootstrap;
import org.aiguillage.protocol.config.ClusterSettings;
import org.aiguillage.protocol.config.FederationConfig;
import org.aiguillage.protocol.config.NodeSettings;
import org.aiguillage.protocol.dispatch.AgentCommand;
import org.aiguillage.protocol.dispatch.QueueCommand;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.RecipientRef;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.cluster.typed.SelfUp;
import org.apache.pekko.cluster.typed.Subscribe;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.management.cluster.bootstrap.ClusterBootstrap;
import org.apache.pekko.management.javadsl.PekkoManagement;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Sink;

/**
 * One Aiguillage process: a Pekko cluster node with some or all of three roles: the edge (HTTP), the queues
 * (shards: the {@link ModelQueue}s and the key accounts) and the agents (one {@link GpuAgent} per server of its
 * datacentre). Wiring, not logic. A node asked to leave (SIGTERM, or the admin API) stops taking work, finishes
 * its streams, hands over its shards and singletons, then stops.
 */
public final class AiguillageNode implements AutoCloseable {

  private static final Duration ASK_TIMEOUT = Duration.ofSeconds(5);

  private final ActorSystem<Void> system;
  private final ServerBinding binding;
  /** A node without the edge role: where it serves its metrics; null otherwise, or when its port was taken. */
  private final ServerBinding metricsBinding;
  private final FederationConfig config;

  private AiguillageNode(ActorSystem<Void> system, ServerBinding binding, ServerBinding metricsBinding,
      FederationConfig config) {
    this.system = system;
    this.binding = binding;
    this.metricsBinding = metricsBinding;
    this.config = config;
  }

  /** Starts a node and returns once it is a cluster member that serves HTTP. */
  public static AiguillageNode start(FederationConfig config) {
    return start(config, ConfigFactory.empty());
  }

  public static AiguillageNode start(FederationConfig config, Config overrides) {
    return start(config, overrides, Optional.empty(), () -> config);
  }

  /**
   * Starts a node from its configuration file, and reloads the file on {@code SIGHUP}, on {@code POST
   * /admin/config/reload} and when it changes.
   */
  public static AiguillageNode start(Path file, Map<String, String> env) {
    Supplier<FederationConfig> source = () -> NodeConfigLoader.load(file, env);
    return start(source.get(), ConfigFactory.empty(), Optional.of(file), source);
  }

  private static AiguillageNode start(FederationConfig config, Config overrides, Optional<Path> file,
      Supplier<FederationConfig> source) {
    NodeMetrics.start();
    Database database = new Database(config.persistence());
    database.createSchema();
    // System properties (-Dpekko.cluster...) win over everything: operators tune Pekko without a rebuild.
    Config pekko = ConfigFactory.defaultOverrides().withFallback(overrides)
        .withFallback(ClusterConfig.of(config)).withFallback(EdgeLimits.pekkoConfig(config))
        .withFallback(database.pekkoConfig())
        .withFallback(ConfigFactory.parseResources("aiguillage.conf"))
        .withFallback(ConfigFactory.defaultReference()).resolve();
    UsageLedger ledger = new UsageLedger(database);
    NodeSettings node = config.node();
    Set<ActorRef<AgentCommand>> localAgents = ConcurrentHashMap.newKeySet();
    java.util.concurrent.atomic.AtomicReference<FleetView> fleetRef = new java.util.concurrent.atomic.AtomicReference<>();
    java.util.concurrent.atomic.AtomicReference<ActorRef<UsageRecorder.Command>> recorderRef =
        new java.util.concurrent.atomic.AtomicReference<>();
    // With seed nodes the node may be Up before its guardian has run: the start waits for both.
    CompletableFuture<Done> wired = new CompletableFuture<>();
    ActorSystem<Void> system = ActorSystem.create(Behaviors.setup(ctx -> {
      // Sharding first: the node counts as started once it is Up, and from then on asks its entities. On a node
      // without the queue role these are proxies to the shards elsewhere.
      Accounts.initSharding(ctx.getSystem());
      FleetRegistry.initSharding(ctx.getSystem());
      // The fleet's settings as this node last read them (a reload changes them within a second); a model it does
      // not know (yet, or any more) keeps the configuration's.
      ModelQueue.initSharding(ctx.getSystem(), name -> Optional.ofNullable(fleetRef.get())
          .flatMap(fleet -> fleet.model(name)).or(() -> config.model(name))
          .map(QueueSettings::of).orElseGet(QueueSettings::defaults));
      if (node.has("agent")) {
        recorderRef.set(ctx.spawn(UsageRecorder.create(ledger, Duration.ofMillis(250)), "usage-recorder",
            DispatcherSelector.blocking()));
      }
      join(ctx.getSystem(), config.cluster());
      wired.complete(Done.getInstance());
      return Behaviors.empty();
    }), "aiguillage", pekko);
    try {
      wired.get(30, TimeUnit.SECONDS);
      awaitUp(system, Duration.ofSeconds(60));
      Accounts accounts = new Accounts(system, ASK_TIMEOUT);
      accounts.acceptTokensOf(config.oidc());
      seedKeys(accounts, config);
      FleetView fleet = startFleet(system, config, accounts, recorderRef.get(), localAgents);
      fleetRef.set(fleet);
      ConfigReload reload = new ConfigReload(system, config, file, source, fleet, accounts);
      try {
        reload.apply(config, List.of()).toCompletableFuture().get(60, TimeUnit.SECONDS);
      } catch (Exception e) {
        throw new IllegalStateException("cannot apply the configuration's fleet in " + config.persistence() + ": "
            + (e.getCause() != null ? e.getCause() : e), e);
      }
      fleet.refreshEverySecond();
      reload.watchFile();
      reload.onHangUp();
      Supplier<FederationConfig> current = () -> reload.inForce().withModels(fleet.models());
      drainAgentsWhenLeaving(system, localAgents, node.drainTimeout());
      ClusterSharding sharding = ClusterSharding.get(system);
      Function<String, RecipientRef<QueueCommand>> queues = model -> sharding.entityRefFor(ModelQueue.TYPE_KEY,
          model);
      // Every node dispatches: the edge its clients' requests, a queue node the lines of the batches it hosts.
      Dispatch dispatch = new Dispatch(system, current, accounts, queues, RequestActor.Settings.defaults());
      Executor blocking = system.dispatchers().lookup(DispatcherSelector.blocking());
      FileStore files = new JdbcFileStore(database, blocking);
      BatchStore batches = new BatchStore(database, blocking);
      Batch.initSharding(system, new Batch.Services(files, batches, dispatch::line,
          name -> current.get().model(name), () -> current.get().batch()));
      if (node.has("queue")) {
        carryOnBatches(system, batches);
      }
      ServerBinding binding = null;
      ServerBinding metricsBinding = null;
      if (node.has("edge")) {
        Materializer materializer = Materializer.matFromSystem(system);
        OpenAiRoutes openAi = new OpenAiRoutes(materializer, current, accounts, dispatch);
        FleetRoutes fleetRoutes = new FleetRoutes(materializer, system, current, queues, fleet);
        AdminRoutes admin = new AdminRoutes(materializer, system, current,
            new KeyRoutes(materializer, system, accounts), new OrganizationRoutes(materializer, current, accounts),
            fleetRoutes,
            new UsageRoutes(materializer, system, ledger, () -> current.get().batch().priceFactor()),
            new ConfigRoutes(materializer, reload, fleet), accounts,
            new AuditLog(database), batches);
        // The completion routes first: they are the ones that must be fast.
        Route routes = openAi.route()
            .orElse(new FileRoutes(materializer, current, accounts, files, batches).route())
            .orElse(new BatchRoutes(materializer, system, current, accounts, files, batches).route())
            .orElse(new StatusRoutes(materializer, fleetRoutes, new ClusterMetrics(system, node.has("queue"))).route())
            .orElse(new AnthropicRoutes(materializer, current, accounts, dispatch).route())
            .orElse(new OllamaRoutes(materializer, current, accounts, dispatch).route())
            .orElse(admin.route())
            .seal(openAi.rejections(),
            EdgeDirectives.failures(system.log(), Dispatch::accountsUnavailable,
                cause -> "The dispatcher failed on this request."));
        InFlight inFlight = new InFlight();
        // The ceiling as Pekko has it: the node's file gives it, a system property may have changed it.
        int maxConnections = system.settings().config().getInt("pekko.http.server.max-connections");
        binding = bind(system, routes, config, inFlight, maxConnections);
        EdgeLimits.fileLimitWarning(maxConnections, node.has("agent") ? EdgeLimits.serverConnections(config) : 0,
                EdgeLimits.processFileLimit())
            .ifPresent(why -> system.log().warn("open files: {}", why));
        ServerBinding bound = binding;
        CoordinatedShutdown shutdown = CoordinatedShutdown.get(system);
        shutdown.addTask(CoordinatedShutdown.PhaseServiceUnbind(), "http-unbind",
            () -> bound.unbind().thenApply(u -> Done.getInstance()));
        // A leaving edge takes no new request and lets the ones in flight (streams included) finish.
        shutdown.addTask(CoordinatedShutdown.PhaseServiceRequestsDone(), "http-drain", () -> {
          system.log().info("leaving: waiting for {} request(s) in flight", inFlight.count());
          return inFlight.drained(system, node.drainTimeout());
        });
      } else {
        metricsBinding = serveMetrics(system, config);
      }
      system.log().info("Aiguillage node up: roles {}, datacenter {}, cluster {}{}", node.roles(),
          node.datacenter(), Cluster.get(system).selfMember().address(),
          binding == null ? "" : ", http://" + config.http().host() + ":" + binding.localAddress().getPort());
      return new AiguillageNode(system, binding, metricsBinding, config);
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      system.terminate();
      throw new IllegalStateException("the node's actors did not start: " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      system.terminate();
      throw new IllegalStateException(e);
    } catch (RuntimeException e) {
      system.terminate();
      throw e;
    }
  }

  /**
   * This node's view of the fleet registry (the configuration's models are applied to it next, see {@link
   * ConfigReload}). On an agent node the view keeps one agent per registered server of its datacentre, each a cluster
   * singleton among the datacentre's agent nodes: a server is fronted once however many agent nodes run there,
   * and when its node leaves or dies another one takes it over. Server tokens stay in their datacentre's YAML.
   */
  private static FleetView startFleet(ActorSystem<?> system, FederationConfig config, Accounts accounts,
      ActorRef<UsageRecorder.Command> recorder, Set<ActorRef<AgentCommand>> localAgents) {
    Consumer<UsageRecord> usage = record -> {
      if (recorder != null) {
        recorder.tell(new UsageRecorder.Record(record));
      }
      accounts.settle(record);
    };
    FleetView fleet = new FleetView(system, config.models(), config.node().datacenter(),
        config.node().has("agent"), usage, localAgents, config::datacenter);
    return fleet;
  }

  private static void join(ActorSystem<?> system, ClusterSettings cluster) {
    if (cluster.managementPort() != null) {
      PekkoManagement.get(system.classicSystem()).start();
    }
    if (cluster.formsItsOwnCluster()) {
      Cluster self = Cluster.get(system);
      self.manager().tell(Join.create(self.selfMember().address()));
    } else if (cluster.bootstrap() != Bootstrap.SEED_NODES) {
      ClusterBootstrap.get(system.classicSystem()).start();
    }
    // Otherwise pekko.cluster.seed-nodes joins.
  }

  /**
   * Every few seconds, every unfinished batch is told to carry on: its entity starts wherever sharding places it
   * (after a node died: on a surviving one) and resumes where its results say it was.
   */
  private static void carryOnBatches(ActorSystem<?> system, BatchStore batches) {
    ClusterSharding sharding = ClusterSharding.get(system);
    system.scheduler().scheduleWithFixedDelay(BATCH_RESUME_INTERVAL, BATCH_RESUME_INTERVAL,
        () -> batches.unfinished().thenAccept(ids -> ids.forEach(id ->
            sharding.entityRefFor(Batch.TYPE_KEY, id).tell(new Batch.Resume()))),
        system.executionContext());
  }

  private static final Duration BATCH_RESUME_INTERVAL = Duration.ofSeconds(3);

  /** Before the node leaves the cluster, its agents stop taking work and finish their calls. */
  private static void drainAgentsWhenLeaving(ActorSystem<?> system, Set<ActorRef<AgentCommand>> localAgents,
      Duration timeout) {
    CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseBeforeClusterShutdown(), "agents-drain", () -> {
      List<CompletableFuture<Done>> drained = localAgents.stream()
          .map(agent -> AskPattern.<AgentCommand, Done>ask(agent, replyTo -> new AgentCommand.Drain(replyTo, false),
              timeout, system.scheduler()).toCompletableFuture().exceptionally(failure -> Done.getInstance()))
          .toList();
      return CompletableFuture.allOf(drained.toArray(CompletableFuture[]::new)).thenApply(v -> Done.getInstance());
    });
  }

  /** The YAML's keys, created or brought up to date before the node serves (idempotent). */
  private static void seedKeys(Accounts accounts, FederationConfig config) {
    try {
      CompletableFuture.allOf(config.tokens().stream().map(t -> accounts.seed(t).toCompletableFuture())
          .toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("cannot record the configured API keys in " + config.persistence() + ": "
          + (e.getCause() != null ? e.getCause() : e), e);
    }
  }

  /**
   * Serves each connection with its own flow (decision 003): its requests carry the connection, whose end tells the
   * ones still waiting that their client left.
   */
  /**
   * A node without the edge role still has figures to give (an agent node: its servers, calls, tokens and energy):
   * it serves {@code /metrics} and {@code /health} on its HTTP port. A port already taken (several nodes on one host
   * with the default port) is said and the node goes on without it: its work does not depend on being watched.
   */
  private static ServerBinding serveMetrics(ActorSystem<Void> system, FederationConfig config) {
    Materializer materializer = Materializer.matFromSystem(system);
    StatusRoutes metrics = new StatusRoutes(materializer, null, new ClusterMetrics(system, config.node().has("queue")));
    try {
      ServerBinding binding = bind(system, metrics.metricsAndHealth(), config, new InFlight(),
          system.settings().config().getInt("pekko.http.server.max-connections"));
      CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseServiceUnbind(), "metrics-unbind",
          () -> binding.unbind().thenApply(u -> Done.getInstance()));
      system.log().info("metrics at http://{}:{}/metrics", config.http().host(), binding.localAddress().getPort());
      return binding;
    } catch (IllegalStateException e) {
      system.log().warn("no /metrics on this node: {}", e.getMessage());
      return null;
    }
  }

  /** @param maxConnections the most client connections open at once */
  private static ServerBinding bind(ActorSystem<Void> system, Route routes, FederationConfig config,
      InFlight inFlight, int maxConnections) {
    Materializer materializer = Materializer.matFromSystem(system);
    org.apache.pekko.japi.function.Function<HttpRequest, CompletionStage<HttpResponse>> handler =
        routes.handler(system);
    try {
      // At most maxConnections open at once (Pekko applies its max-connections only in its bind methods, not to a
      // connection source): past it no connection is accepted until one closes, and the next wait in the listen queue.
      return Http.get(system).newServerAt(config.http().host(), config.http().port()).connectionSource()
          .mapAsyncUnordered(maxConnections, connection -> {
            ClientConnection client = new ClientConnection();
            Flow<HttpRequest, HttpResponse, CompletionStage<Done>> flow = Flow.of(HttpRequest.class)
                .watchTermination((mat, done) -> done.handle((d, failure) -> {
                  client.close();
                  return Done.getInstance();
                }))
                .mapAsync(1, request -> inFlight.track(handler.apply(
                    request.addAttribute(EdgeDirectives.CLIENT, client))));
            return connection.handleWith(flow, materializer);
          })
          .to(Sink.ignore())
          .run(materializer)
          .toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("cannot listen on " + config.http().host() + ":" + config.http().port()
          + ": " + (e.getCause() != null ? e.getCause().getMessage() : e.getMessage()), e);
    }
  }

  /** Blocks start-up until this node is Up in its cluster, as the cluster itself says it ({@code SelfUp}). */
  private static void awaitUp(ActorSystem<?> system, Duration timeout) {
    CompletableFuture<Done> up = new CompletableFuture<>();
    system.systemActorOf(Behaviors.<SelfUp>setup(ctx -> {
      Cluster.get(system).subscriptions().tell(Subscribe.create(ctx.getSelf(), SelfUp.class));
      return Behaviors.receiveMessage(selfUp -> {
        up.complete(Done.getInstance());
        return Behaviors.stopped();
      });
    }), "await-self-up", Props.empty());
    try {
      up.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException("the node did not join its cluster within " + timeout.toSeconds() + "s");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    } catch (java.util.concurrent.ExecutionException e) {
      throw new IllegalStateException(e.getCause());
    }
  }

  /** Where this node serves {@code /metrics}: its edge's port, or a node without the edge role its own. */
  public String metricsUrl() {
    ServerBinding b = binding != null ? binding : metricsBinding;
    if (b == null) {
      throw new IllegalStateException("this node serves no metrics (its HTTP port was taken)");
    }
    return "http://" + config.http().host() + ":" + b.localAddress().getPort() + "/metrics";
  }

  public int httpPort() {
    if (binding == null) {
      throw new IllegalStateException("this node has no edge role: it serves no HTTP");
    }
    return binding.localAddress().getPort();
  }

  /** The node's cluster address, {@code host:port}, as other nodes' {@code seed_nodes} name it. */
  public String clusterAddress() {
    org.apache.pekko.actor.Address a = Cluster.get(system).selfMember().address();
    return a.getHost().orElseThrow() + ":" + a.getPort().orElseThrow();
  }

  public String baseUrl() {
    return "http://" + config.http().host() + ":" + httpPort();
  }

  public ActorSystem<Void> system() {
    return system;
  }

  @Override
  public void close() {
    system.terminate();
    try {
      system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("the node did not stop within 30s", e);
    }
  }

  public java.util.concurrent.CompletionStage<Done> whenTerminated() {
    return system.getWhenTerminated();
  }
}
