package org.aiguillage.actors;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Function;
import kamon.Kamon;
import kamon.metric.MeasurementUnit;
import org.aiguillage.priority.LeastRecentlyUsed;
import org.aiguillage.priority.RecentWaits;
import org.aiguillage.priority.Ticket;
import org.aiguillage.priority.TicketQueue;
import org.aiguillage.priority.routing.Routing;
import org.aiguillage.priority.routing.ServerLoad;
import org.aiguillage.protocol.dispatch.AgentCommand;
import org.aiguillage.protocol.dispatch.DispatchTicket;
import org.aiguillage.protocol.dispatch.QueueCommand;
import org.aiguillage.protocol.dispatch.RequestCommand;
import org.aiguillage.protocol.dispatch.ServerState;
import org.aiguillage.protocol.dispatch.TicketInfo;
import org.aiguillage.protocol.openai.OpenAiError;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.Terminated;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;

/**
 * The queue of one model: a sharded entity holding the waiting tickets ({@link TicketQueue}) and the demand of
 * the agents that serve the model ({@link ServerLoad}). It matches them: for each server with room, in the order of
 * the model's routing strategy ({@link Routing}), the best ticket for that server.
 *
 * <p>Tickets are leased, not persisted: each request actor re-asserts its ticket every second, and a queue that
 * restarted elsewhere re-learns its tickets (at their original arrival times) and its agents (from their next
 * demand) within a second or two.
 */
public final class ModelQueue extends AbstractBehavior<QueueCommand> {

  public static final EntityTypeKey<QueueCommand> TYPE_KEY = EntityTypeKey.create(QueueCommand.class, "ModelQueue");

  /** Registers the entity; {@code settingsFor} gives each model's settings by its name. */
  public static void initSharding(ActorSystem<?> system, Function<String, QueueSettings> settingsFor) {
    ClusterSharding.get(system).init(Entity.of(TYPE_KEY, ctx -> create(ctx.getEntityId(), settingsFor)));
  }

  private enum Tick implements QueueCommand { INSTANCE }

  /** How often the queue looks at its leases, its agents' demands and its tickets' deadlines. */
  static final Duration TICK = Duration.ofMillis(500);

  private record Assigned(DispatchTicket ticket, String serverId, long sentMillis) {}

  private record Started(String serverId, long atMillis) {}

  public static Behavior<QueueCommand> create(String model, Function<String, QueueSettings> settingsFor) {
    return create(model, settingsFor, Clock.systemUTC());
  }

  /** @param clock the queue's time: its leases, deadlines, and what its routing strategy counts */
  public static Behavior<QueueCommand> create(String model, Function<String, QueueSettings> settingsFor,
      Clock clock) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      timers.startTimerWithFixedDelay(Tick.INSTANCE, TICK);
      return new ModelQueue(ctx, model, settingsFor, clock);
    }));
  }

  private Routing routingFor(QueueSettings settings) {
    return Routing.of(settings.routingStrategy(), settings.prefixAffinity(), settings.prefixBlocksPerServer(), clock,
        new SplittableRandom());
  }

  private final String model;
  private QueueSettings settings;
  private final Function<String, QueueSettings> settingsFor;
  private final TicketQueue<DispatchTicket> waiting;
  private final Map<String, Long> leases = new HashMap<>();
  /** What this queue knows of each server's load, and how to reach its agent. */
  private final Map<String, ServerLoad> servers = new HashMap<>();
  private final Map<String, ActorRef<AgentCommand>> agents = new HashMap<>();
  private final Map<String, Assigned> assigned = new HashMap<>();
  /**
   * Tickets an agent accepted lately. The agent tells this queue and the request actor at once; a lease renewal
   * the request actor sent before it heard may arrive after, and must not put the ticket back in the queue. Only
   * the server and the time are kept: the ticket itself (its body, its request actor) is the agent's now, and a
   * lease timeout's worth of calls at a busy edge would otherwise hold megabytes.
   */
  private final Map<String, Started> recentlyStarted = new HashMap<>();
  /**
   * Which server answered each recent Responses API call (a follow-up must go there), the oldest forgotten past
   * {@link #RESPONSES_KEPT}: about 150 bytes each.
   */
  private final Map<String, String> responses = LeastRecentlyUsed.map(RESPONSES_KEPT);
  /**
   * The server each batch line went to lately: a line sent again (its batch's node died before it wrote the answer)
   * goes back there, where the agent kept the answer, rather than to a server that would compute it again.
   */
  private final Map<String, String> batchLinesServedBy = LeastRecentlyUsed.map(BATCH_LINES_KEPT);
  static final int BATCH_LINES_KEPT = 20_000;
  /** When the latest interactive ticket came: for this long after, batch lines start one at a time per server. */
  private long lastInteractiveMillis = Long.MIN_VALUE / 2;
  static final long INTERACTIVE_LATELY_MILLIS = 5_000;
  static final int RESPONSES_KEPT = 100_000;
  private final Clock clock;
  private final long createdMillis;
  private boolean agentsEverSeen;
  private final Map<Integer, kamon.metric.Histogram> queueWait = new HashMap<>();
  private final kamon.metric.Gauge queueLength;
  private final kamon.metric.Gauge usableServers;
  /** The waits of the last minutes, for the status page. */
  private final RecentWaits recentWaits = new RecentWaits(4096);
  /** Chooses the server of each ticket: the model's routing strategy, made again when its settings change. */
  private Routing routing;
  static final Duration RECENT = Duration.ofMinutes(5);

  /** @param settingsFor the model's settings as this node knows them now: read again every tick */
  private ModelQueue(ActorContext<QueueCommand> ctx, String model, Function<String, QueueSettings> settingsFor,
      Clock clock) {
    super(ctx);
    this.model = model;
    this.settingsFor = settingsFor;
    this.clock = clock;
    this.createdMillis = clock.millis();
    this.settings = settingsFor.apply(model);
    this.waiting = new TicketQueue<>(settings.policy());
    this.routing = routingFor(settings);
    this.queueLength = Kamon.gauge("aiguillage_queue_tickets", "tickets waiting for a server")
        .withTag("model", model);
    this.usableServers = Kamon.gauge("aiguillage_queue_servers",
        "servers whose agents asked for work lately and can take it").withTag("model", model);
    ctx.getLog().debug("queue for model {} started", model);
  }

  @Override
  public Receive<QueueCommand> createReceive() {
    return newReceiveBuilder()
        .onMessage(QueueCommand.Enqueue.class, e -> onEnqueue(e.ticket(), false))
        .onMessage(QueueCommand.Reassert.class, r -> onEnqueue(r.ticket(), true))
        .onMessage(QueueCommand.Withdraw.class, this::onWithdraw)
        .onMessage(QueueCommand.Demand.class, this::onDemand)
        .onMessage(QueueCommand.GetFleet.class, this::onGetFleet)
        .onMessage(QueueCommand.AssignAccepted.class, this::onAccepted)
        .onMessage(QueueCommand.AssignRefused.class, this::onRefused)
        .onMessage(QueueCommand.DemandWithdrawn.class, this::onDemandWithdrawn)
        .onMessage(QueueCommand.ResponseStored.class, stored -> {
          responses.put(stored.responseId(), stored.serverId());
          return this;
        })
        .onMessageEquals(Tick.INSTANCE, this::onTick)
        .onSignal(Terminated.class, this::onAgentTerminated)
        // The queue moved to another node, or this node stops: its gauges go, and with them its series from this
        // node's /metrics (NodeMetrics drops the last values Kamon's reporter would keep).
        .onSignal(PostStop.class, stop -> {
          queueLength.remove();
          usableServers.remove();
          return this;
        })
        .build();
  }

  private Behavior<QueueCommand> onEnqueue(DispatchTicket ticket, boolean reassert) {
    long now = clock.millis();
    String id = ticket.id();
    // A batch line sent again keeps its id (its batch's new incarnation, after the old one's node died or handed it
    // over): the new sender takes a waiting ticket's place, and queues again beside one assigned to the old sender
    // (the server's agent answers it from the answer it keeps).
    boolean resent = !reassert && ticket.info().batch();
    if (resent) {
      waiting.remove(id);
    }
    Assigned sent = assigned.get(id);
    if (sent != null && !(resent && !sent.ticket().requester().equals(ticket.requester()))
        || reassert && recentlyStarted.containsKey(id)) {
      return this;
    }
    recentlyStarted.remove(id); // an explicit Enqueue of a started ticket is a retry
    if (waiting.contains(id)) {
      leases.put(id, now);
      return this;
    }
    TicketInfo info = ticket.info();
    if (!info.batch()) {
      lastInteractiveMillis = now;
    }
    if (!reassert && liveAgents(now) == 0 && now - createdMillis > settings.demandTimeout().toMillis()) {
      reject(ticket, 503, OpenAiError.serverError("No server is available for model '" + model
          + "' right now. Retry later.", "no_server_available"), 5);
      return this;
    }
    if (!reassert && waiting.sizeOf(info.keyId()) >= info.maxQueued()) {
      reject(ticket, 429, OpenAiError.rateLimited("Too many queued requests for this API key on model '" + model
          + "': its threshold is " + info.maxQueued() + " waiting at once. Retry when some have started.",
          "queue_threshold"), 1);
      return this;
    }
    String server = null;
    if (info.previousResponseId() != null) {
      server = responses.get(info.previousResponseId());
      if (server != null && !agents.containsKey(server)) {
        reject(ticket, 404, OpenAiError.invalidRequest("Previous response with id '" + info.previousResponseId()
            + "' not found: the server that answered it is no longer in the fleet.", "previous_response_id",
            "previous_response_not_found"), 0);
        return this;
      }
      // Unknown here (answered before this queue started, or never): any server, which answers 404 if it is not
      // the one that has it.
    } else if (info.batch() && agents.containsKey(batchLinesServedBy.get(id))) {
      server = batchLinesServedBy.get(id);
    }
    waiting.add(toTicket(info, server), ticket);
    leases.put(id, now);
    dispatch(now);
    return this;
  }

  /** The request actor gave up; a ticket already on its way to an agent has that agent cancel the call. */
  private Behavior<QueueCommand> onWithdraw(QueueCommand.Withdraw withdraw) {
    String id = withdraw.ticketId();
    waiting.remove(id);
    leases.remove(id);
    Assigned a = assigned.remove(id);
    Started started = recentlyStarted.remove(id);
    String serverId = a != null ? a.serverId() : started != null ? started.serverId() : null;
    if (serverId != null && agents.containsKey(serverId)) {
      agents.get(serverId).tell(new AgentCommand.CancelCall(id));
    }
    publishLength();
    return this;
  }

  private Behavior<QueueCommand> onGetFleet(QueueCommand.GetFleet get) {
    long now = clock.millis();
    List<QueueCommand.ServerView> views = servers.values().stream()
        .sorted(Comparator.comparing(ServerLoad::serverId))
        .map(s -> new QueueCommand.ServerView(s.serverId(), s.organization(), s.datacenter(), s.credit(), s.snapshot(),
            now - s.lastDemandMillis()))
        .toList();
    get.replyTo().tell(new QueueCommand.Fleet(model, waiting.size(), views,
        recentWaits.median(now - RECENT.toMillis())));
    return this;
  }

  private Behavior<QueueCommand> onDemand(QueueCommand.Demand demand) {
    ActorRef<AgentCommand> known = agents.get(demand.serverId());
    if (known == null || !known.equals(demand.agent())) {
      if (known != null) {
        getContext().unwatch(known);
      }
      agents.put(demand.serverId(), demand.agent());
      getContext().watch(demand.agent());
    }
    agentsEverSeen = true;
    long now = clock.millis();
    ServerLoad server = servers.computeIfAbsent(demand.serverId(), ServerLoad::new);
    server.demand(demand.organization(), demand.datacenter(), demand.freeSlots(), demand.assignsSeen(),
        demand.snapshot(), now);
    routing.observed(server);
    dispatch(now);
    return this;
  }

  private Behavior<QueueCommand> onAccepted(QueueCommand.AssignAccepted accepted) {
    Assigned a = assigned.remove(accepted.ticketId());
    if (a != null) {
      recentlyStarted.put(accepted.ticketId(), new Started(a.serverId(), clock.millis()));
      if (a.ticket().info().batch()) {
        batchLinesServedBy.put(accepted.ticketId(), a.serverId());
      }
    }
    return this;
  }

  private Behavior<QueueCommand> onRefused(QueueCommand.AssignRefused refused) {
    ServerLoad server = servers.get(refused.serverId());
    if (server != null) {
      server.noRoom();
    }
    Assigned a = assigned.remove(refused.ticketId());
    if (a != null) {
      requeue(a.ticket());
    }
    return this;
  }

  private Behavior<QueueCommand> onDemandWithdrawn(QueueCommand.DemandWithdrawn withdrawn) {
    ServerLoad server = servers.get(withdrawn.serverId());
    if (server != null) {
      server.noRoom();
    }
    return this;
  }

  private Behavior<QueueCommand> onAgentTerminated(Terminated terminated) {
    List<String> gone = agents.entrySet().stream().filter(e -> e.getValue().equals(terminated.getRef()))
        .map(Map.Entry::getKey).toList();
    gone.forEach(this::forgetServer);
    return this;
  }

  private Behavior<QueueCommand> onTick() {
    long now = clock.millis();
    QueueSettings fresh = settingsFor.apply(model);
    if (!fresh.equals(settings)) {
      getContext().getLog().info("queue of {}: settings changed ({} -> {})", model, settings, fresh);
      if (fresh.routingStrategy() != settings.routingStrategy() || fresh.prefixAffinity() != settings.prefixAffinity()
          || fresh.prefixBlocksPerServer() != settings.prefixBlocksPerServer()) {
        routing = routingFor(fresh);
      }
      settings = fresh;
      waiting.policy(fresh.policy());
    }
    // Leases: a request actor that stopped re-asserting is gone.
    List<String> lapsed = new ArrayList<>();
    leases.forEach((id, seen) -> {
      if (now - seen > settings.leaseTimeout().toMillis()) {
        lapsed.add(id);
      }
    });
    lapsed.forEach(id -> {
      leases.remove(id);
      waiting.remove(id);
    });
    recentlyStarted.values().removeIf(started -> now - started.atMillis() > settings.leaseTimeout().toMillis());
    // Agents that stopped demanding are forgotten; their unanswered assignments come back.
    List<String> silent = servers.values().stream()
        .filter(s -> !s.demandedWithin(settings.demandTimeout(), now))
        .map(ServerLoad::serverId).toList();
    silent.forEach(serverId -> {
      getContext().unwatch(agents.get(serverId));
      forgetServer(serverId);
    });
    List<Assigned> stale = assigned.values().stream()
        .filter(a -> now - a.sentMillis() > settings.assignTimeout().toMillis()).toList();
    stale.forEach(a -> {
      assigned.remove(a.ticket().id());
      requeue(a.ticket());
    });
    expireDeadlines(now);
    publishServers(now);
    if (!agentsEverSeen && now - createdMillis > settings.demandTimeout().toMillis()) {
      // No server has ever asked for this model's work: the tickets of its first moments get the answer later
      // ones get at once. (Tickets waiting while known agents come and go, in a rolling restart, keep waiting.)
      waiting.removeIf(e -> true).forEach(e -> {
        leases.remove(e.ticket().id());
        reject(e.payload(), 503, OpenAiError.serverError("No server is available for model '" + model
            + "' right now. Retry later.", "no_server_available"), 5);
      });
    }
    dispatch(now);
    return this;
  }

  private void expireDeadlines(long now) {
    waiting.removeIf(e -> e.payload().info().deadlineMillis() <= now).forEach(e -> {
      leases.remove(e.ticket().id());
      reject(e.payload(), 503, OpenAiError.serverError("The request waited longer than the queue timeout of model '"
          + model + "': every server is busy. Retry later.", "queue_timeout"), 10);
    });
  }

  /**
   * The server's agent is gone: the server is forgotten, what was assigned to it comes back, and batch lines waiting
   * for it go anywhere.
   */
  private void forgetServer(String serverId) {
    servers.remove(serverId);
    agents.remove(serverId);
    List<Assigned> theirs = assigned.values().stream().filter(a -> a.serverId().equals(serverId)).toList();
    theirs.forEach(a -> {
      assigned.remove(a.ticket().id());
      requeue(a.ticket());
    });
    waiting.removeIf(e -> e.ticket().batch() && serverId.equals(e.ticket().server()))
        .forEach(e -> waiting.add(toTicket(e.payload().info(), null), e.payload()));
  }

  private void requeue(DispatchTicket ticket) {
    String previous = ticket.info().previousResponseId();
    waiting.add(toTicket(ticket.info(), previous == null ? null : responses.get(previous)), ticket);
    leases.put(ticket.id(), clock.millis());
    dispatch(clock.millis());
  }

  // ---- matching

  private void dispatch(long now) {
    while (!waiting.isEmpty()) {
      List<ServerLoad> candidates = routing.order(servers.values(), settings.demandTimeout());
      if (candidates.isEmpty()) {
        break;
      }
      Set<String> organizationsWithRoom = new HashSet<>();
      candidates.forEach(s -> organizationsWithRoom.add(s.organization()));
      boolean interactiveLately = now - lastInteractiveMillis < INTERACTIVE_LATELY_MILLIS;
      boolean matched = false;
      for (ServerLoad server : candidates) {
        Optional<TicketQueue.Entry<DispatchTicket>> next = waiting.pollFor(
            new TicketQueue.Server(server.serverId(), server.organization()), organizationsWithRoom::contains, now,
            server.takesBatch(settings.batchSlotShare(), interactiveLately));
        if (next.isPresent()) {
          DispatchTicket ticket = next.get().payload();
          assign(routing.place(server, candidates, ticket.info()), ticket, now);
          matched = true;
          break;
        }
      }
      if (!matched) {
        break;
      }
    }
    publishLength();
  }

  private void assign(ServerLoad server, DispatchTicket ticket, long now) {
    routing.sent(server, ticket.info());
    leases.remove(ticket.id());
    assigned.put(ticket.id(), new Assigned(ticket, server.serverId(), now));
    agents.get(server.serverId()).tell(new AgentCommand.Assign(ticket, getContext().getSelf()));
    long wait = Math.max(0, now - ticket.info().arrivalMillis());
    queueWait.computeIfAbsent(ticket.info().priority(), p -> Kamon.histogram("aiguillage_queue_wait_seconds",
            "time a ticket waited for a server", MeasurementUnit.time().nanoseconds())
        .withTags(kamon.tag.TagSet.builder().add("model", model).add("priority", Integer.toString(p)).build()))
        .record(wait * 1_000_000L);
    recentWaits.record(now, wait);
  }

  private int liveAgents(long now) {
    int n = 0;
    for (ServerLoad s : servers.values()) {
      if (s.demandedWithin(settings.demandTimeout(), now)) {
        n++;
      }
    }
    return n;
  }

  private void reject(DispatchTicket ticket, int status, OpenAiError error, long retryAfterSeconds) {
    ticket.requester().tell(new RequestCommand.Rejected(ticket.id(), status, error, retryAfterSeconds));
  }

  private void publishLength() {
    queueLength.update(waiting.size());
  }

  /** Servers that asked for work lately and can take it, now or once their calls end. */
  private void publishServers(long now) {
    int usable = 0;
    for (ServerLoad server : servers.values()) {
      ServerState s = server.state();
      if (server.demandedWithin(settings.demandTimeout(), now) && s != ServerState.UNHEALTHY
          && s != ServerState.DRAINING && s != ServerState.ENDPOINT_MISSING) {
        usable++;
      }
    }
    usableServers.update(usable);
  }

  private static Ticket toTicket(TicketInfo info, String server) {
    return new Ticket(info.id(), info.keyId(), info.organization(), info.priority(), info.routingMode(),
        info.arrivalMillis(), server);
  }
}
