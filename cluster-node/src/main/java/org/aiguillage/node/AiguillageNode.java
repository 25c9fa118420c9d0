package org.aiguillage.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.aiguillage.actors.ModelQueue;
import org.aiguillage.actors.QueueSettings;
import org.aiguillage.actors.RequestActor;
import org.aiguillage.actors.accounts.Database;
import org.aiguillage.actors.accounts.KeyAccount;
import org.aiguillage.actors.accounts.KeyAccounts;
import org.aiguillage.actors.accounts.UsageLedger;
import org.aiguillage.actors.accounts.UsageRecorder;
import org.aiguillage.protocol.accounting.UsageRecord;
import java.util.function.Consumer;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.aiguillage.agents.AgentSettings;
import org.aiguillage.agents.GpuAgent;
import org.aiguillage.agents.ServerSpec;
import org.aiguillage.protocol.config.FederationConfig;
import org.aiguillage.protocol.config.ModelConfig;
import org.aiguillage.protocol.config.ServerConfig;
import org.aiguillage.protocol.dispatch.QueueCommand;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.RecipientRef;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Sink;

/**
 * One Aiguillage process: a Pekko cluster node that (for now) runs all three roles: the edge (HTTP), the queues
 * (sharded {@link ModelQueue}s) and the agents (one {@link GpuAgent} per configured server). Wiring, not logic.
 */
public final class AiguillageNode implements AutoCloseable {

  private static final Duration ASK_TIMEOUT = Duration.ofSeconds(5);

  private final ActorSystem<Void> system;
  private final ServerBinding binding;
  private final FederationConfig config;

  private AiguillageNode(ActorSystem<Void> system, ServerBinding binding, FederationConfig config) {
    this.system = system;
    this.binding = binding;
    this.config = config;
  }

  /** Starts a node and returns once it is a cluster member that serves HTTP. */
  public static AiguillageNode start(FederationConfig config) {
    return start(config, ConfigFactory.empty());
  }

  public static AiguillageNode start(FederationConfig config, Config overrides) {
    NodeMetrics.start();
    Database database = new Database(config.persistence());
    database.createSchema();
    Config pekko = overrides.withFallback(database.pekkoConfig())
        .withFallback(ConfigFactory.parseResources("aiguillage.conf"))
        .withFallback(ConfigFactory.defaultReference()).resolve();
    UsageLedger ledger = new UsageLedger(database);
    ActorSystem<Void> system = ActorSystem.create(Behaviors.setup(ctx -> {
      // Sharding first: the node counts as started once it is Up, and from then on asks its entities.
      KeyAccount.initSharding(ctx.getSystem());
      KeyAccounts accounts = new KeyAccounts(ctx.getSystem(), ASK_TIMEOUT);
      ActorRef<UsageRecorder.Command> recorder = ctx.spawn(UsageRecorder.create(ledger, Duration.ofMillis(250)),
          "usage-recorder", DispatcherSelector.blocking());
      Consumer<UsageRecord> usage = record -> {
        recorder.tell(new UsageRecorder.Record(record));
        accounts.settle(record);
      };
      ModelQueue.initSharding(ctx.getSystem(), name -> config.model(name).map(QueueSettings::of)
          .orElseGet(QueueSettings::defaults));
      ClusterSharding sharding = ClusterSharding.get(ctx.getSystem());
      Cluster cluster = Cluster.get(ctx.getSystem());
      cluster.manager().tell(Join.create(cluster.selfMember().address()));
      for (ModelConfig model : config.models()) {
        RecipientRef<QueueCommand> queue = sharding.entityRefFor(ModelQueue.TYPE_KEY, model.name());
        for (ServerConfig server : model.vllmServers()) {
          ServerSpec spec = ServerSpec.of(model, server);
          ctx.spawn(GpuAgent.create(spec, queue, AgentSettings.defaults(), usage),
              "agent-" + URLEncoder.encode(spec.serverId(), StandardCharsets.UTF_8));
        }
      }
      return Behaviors.empty();
    }), "aiguillage", pekko);
    try {
      awaitUp(Cluster.get(system), Duration.ofSeconds(30));

      KeyAccounts accounts = new KeyAccounts(system, ASK_TIMEOUT);
      seedKeys(accounts, config);
      ClusterSharding sharding = ClusterSharding.get(system);
      OpenAiEdge edge = new OpenAiEdge(system, () -> config, accounts,
          model -> sharding.entityRefFor(ModelQueue.TYPE_KEY, model), RequestActor.Settings.defaults());
      AdminApi admin = new AdminApi(system, () -> config, accounts, ledger);
      ServerBinding binding = bind(system, edge, admin, config);
      CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseServiceUnbind(), "http-unbind",
          () -> binding.unbind().thenApply(u -> Done.getInstance()));
      system.log().info("Aiguillage node serving {} model(s) on http://{}:{}", config.models().size(),
          config.http().host(), binding.localAddress().getPort());
      return new AiguillageNode(system, binding, config);
    } catch (RuntimeException e) {
      system.terminate();
      throw e;
    }
  }

  /**
   * Serves each connection with its own flow, so that a request knows when its client went away, even while it
   * waits in a queue with nothing sent yet: its ticket is withdrawn and no GPU time is spent on it.
   */
  /** The YAML's keys, created or brought up to date before the node serves (idempotent). */
  private static void seedKeys(KeyAccounts accounts, FederationConfig config) {
    try {
      CompletableFuture.allOf(config.tokens().stream().map(t -> accounts.seed(t).toCompletableFuture())
          .toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("cannot record the configured API keys in " + config.persistence() + ": "
          + (e.getCause() != null ? e.getCause() : e), e);
    }
  }

  private static ServerBinding bind(ActorSystem<Void> system, OpenAiEdge edge, AdminApi admin,
      FederationConfig config) {
    Materializer materializer = Materializer.matFromSystem(system);
    try {
      return Http.get(system).newServerAt(config.http().host(), config.http().port()).connectionSource()
          .to(Sink.foreach(connection -> {
            CompletableFuture<Done> gone = new CompletableFuture<>();
            Flow<HttpRequest, HttpResponse, ?> flow = Flow.of(HttpRequest.class)
                .watchTermination((mat, done) -> {
                  done.whenComplete((d, failure) -> gone.complete(Done.getInstance()));
                  return mat;
                })
                .mapAsync(1, request -> request.getUri().path().startsWith("/admin/")
                    ? admin.handle(request) : edge.handle(request, gone));
            connection.handleWith(flow, materializer);
          }))
          .run(materializer)
          .toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("cannot listen on " + config.http().host() + ":" + config.http().port()
          + ": " + (e.getCause() != null ? e.getCause().getMessage() : e.getMessage()), e);
    }
  }

  private static void awaitUp(Cluster cluster, Duration timeout) {
    long until = System.nanoTime() + timeout.toNanos();
    while (cluster.selfMember().status() != MemberStatus.up()) {
      if (System.nanoTime() > until) {
        throw new IllegalStateException("the node did not join its cluster within " + timeout.toSeconds() + "s");
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
  }

  public int httpPort() {
    return binding.localAddress().getPort();
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
