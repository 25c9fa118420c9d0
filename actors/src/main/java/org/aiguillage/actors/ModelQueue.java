package org.aiguillage.actors;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;
import kamon.Kamon;
import kamon.metric.MeasurementUnit;
import org.aiguillage.priority.PrefixIndex;
import org.aiguillage.priority.RecentWaits;
import org.aiguillage.priority.Ticket;
import org.aiguillage.priority.TicketQueue;
import org.aiguillage.protocol.config.RoutingStrategy;
import org.aiguillage.protocol.dispatch.AgentCommand;
import org.aiguillage.protocol.dispatch.DispatchTicket;
import org.aiguillage.protocol.dispatch.LoadSnapshot;
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
 * the agents that serve the model. It matches them: for each agent with room, chosen by the model's routing
 * strategy, the best ticket for that agent's server.
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

  /** An agent's demand as this queue tracks it. */
  private static final class AgentView {
    final String serverId;
    ActorRef<AgentCommand> ref;
    String organization;
    String datacenter;
    int freeSlots;
    long assignsSeen;
    long assignsSent;
    LoadSnapshot snapshot;
    long lastDemandMillis;
    /** When this queue's latest assignments to the agent were sent, oldest first. */
    final ArrayDeque<Long> assignedAt = new ArrayDeque<>();
    /** Calls on the server still waiting for their first token, as counted by {@link #countPrefilling(long)}. */
    int prefilling;
    /** The most interactive calls seen on the server in the last minute, and when that was seen. */
    int interactivePeak;
    long interactivePeakMillis;

    AgentView(String serverId) {
      this.serverId = serverId;
    }

    /** Free slots minus the assignments sent that the agent had not seen when it counted them. */
    int credit() {
      return freeSlots - (int) (assignsSent - assignsSeen);
    }

    /** Calls open on the server now, as far as this queue can tell. */
    int inFlight() {
      return snapshot.inFlight() + (int) (assignsSent - assignsSeen);
    }

    /**
     * The least-busy score: how full the server is for its size. The requests on it now (this dispatcher's open
     * calls and assignments on their way, plus the others its metrics showed: other dispatchers', direct users')
     * over its capacity: the batch it was seen to run while queueing more when the agent has seen that lately,
     * otherwise the configured ceiling. Above 1 the server queues, and a new request waits for a slot; KV-cache use
     * is a lighter second term. Relative to capacity, so a large server with 10 calls scores below a small one
     * with 5, and a server whose ceiling overstates its batch is scored by what it runs.
     */
    double busyness() {
      double kv = Math.max(0, snapshot.kvCacheUsage());
      return calls() / capacity() + 0.25 * kv;
    }

    /**
     * Whether a new request could wait in the server's own queue: its calls already fill its capacity, less a margin
     * for the calls that are not ours. Those are known from a scrape up to half a second old and move by about their
     * square root between two scrapes (6 direct users: 3 slots kept free); a request that finds the batch full waits
     * there until a running one ends, a whole answer's time shared by the batch, far more than any step.
     */
    boolean full() {
      return calls() + Math.ceil(Math.sqrt(Math.max(0, snapshot.otherCalls()))) >= capacity();
    }

    /**
     * What a new request's first token would cost on this server, in ms: the step it would join, from the
     * server's step curve at its calls plus this one, and half a step more for every call still waiting for its
     * first token (their prompts are prefilled in the same steps as the new one's: requests that arrive together,
     * as closed-loop users whose answers ended in the same step do, are spread rather than prefilled together).
     * KV-cache use weighs as in {@link #busyness()}. Only when the agent knows the curve.
     */
    double firstTokenCost() {
      double batch = Math.min(calls(), capacity()) + 1;
      double kv = Math.max(0, snapshot.kvCacheUsage());
      double step = snapshot.stepBaseMillis() + snapshot.stepMillisPerCall() * batch;
      return step * (1 + 0.5 * prefilling) * (1 + 0.25 * kv);
    }

    /**
     * Counts the calls still waiting for their first token: those this queue assigned less than the server's recent
     * time to first token ago (known here at once, where the agent's count is only as fresh as its last demand);
     * before the agent has measured that time, the agent's count and the assignments on their way.
     */
    void countPrefilling(long now) {
      long ttftMillis = Math.round(snapshot.recentTtftSeconds() * 1000);
      while (!assignedAt.isEmpty() && now - assignedAt.peekFirst() > Math.max(ttftMillis, 1_000)) {
        assignedAt.pollFirst();
      }
      if (ttftMillis <= 0) {
        prefilling = snapshot.awaitingFirstToken() + (int) (assignsSent - assignsSeen);
        return;
      }
      int n = 0;
      for (long t : assignedAt) {
        if (now - t < ttftMillis) {
          n++;
        }
      }
      prefilling = n;
    }

    /**
     * Whether a batch's line may start here (only when no other ticket wants the slot): the server is not full, and
     * its calls with this one stay within the share of its capacity batches may fill. While interactive tickets come
     * ({@code interactiveLately}), also: no call sent there is still waiting for its first token (a batch line's
     * prompt would take the prefill budget of the steps an interactive one arriving now needs), and a quarter more
     * than the most interactive calls it ran in the last minute, and two, stay free for them (a batch line holds its
     * slot for its whole answer). Otherwise a few lines prefill at once: enough to fill an idle server, not so many
     * that a user arriving finds their prompt queued behind a wall of them (measured: docs/batches.md).
     */
    boolean takesBatch(double share, boolean interactiveLately) {
      int ceiling = (int) Math.floor(share * capacity());
      if (interactiveLately) {
        ceiling = Math.min(ceiling, (int) capacity() - (int) Math.ceil(1.25 * interactivePeak) - 2);
      }
      return !full() && prefilling < (interactiveLately ? 1 : BATCH_PREFILLS_WHEN_QUIET)
          && calls() + 1 <= Math.max(interactiveLately ? 0 : 1, ceiling);
    }

    /** Notes the interactive calls on the server now (its calls less the batch lines), the most in a minute kept. */
    void noteInteractive(long now) {
      int interactive = Math.max(0, snapshot.inFlight() - snapshot.batchCalls()) + Math.max(0, snapshot.otherCalls());
      if (interactive >= interactivePeak || now - interactivePeakMillis > INTERACTIVE_PEAK_WINDOW_MILLIS) {
        interactivePeak = interactive;
        interactivePeakMillis = now;
      }
    }

    private int calls() {
      return inFlight() + Math.max(0, snapshot.otherCalls());
    }

    private double capacity() {
      return snapshot.batchLimit() > 0 ? snapshot.batchLimit() : Math.max(1, snapshot.maxParallel());
    }
  }

  private record Assigned(DispatchTicket ticket, String serverId, long sentMillis) {}

  private record Started(String serverId, long atMillis) {}

  private static final Comparator<AgentView> BY_BUSYNESS = Comparator.comparingDouble(AgentView::busyness);
  private static final Comparator<AgentView> BY_STEP = Comparator.comparing(AgentView::full)
      .thenComparingDouble(a -> a.full() ? a.busyness() : a.firstTokenCost());

  /** A map that forgets its least recently used entry past {@code most} entries. */
  private static Map<String, String> leastRecentlyUsedOut(int most) {
    return new LinkedHashMap<>(1024, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
        return size() > most;
      }
    };
  }

  public static Behavior<QueueCommand> create(String model, Function<String, QueueSettings> settingsFor) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      timers.startTimerWithFixedDelay(Tick.INSTANCE, Duration.ofMillis(500));
      return new ModelQueue(ctx, model, settingsFor);
    }));
  }

  private final String model;
  private QueueSettings settings;
  private final Function<String, QueueSettings> settingsFor;
  private final TicketQueue<DispatchTicket> waiting;
  private final Map<String, Long> leases = new HashMap<>();
  private final Map<String, AgentView> agents = new HashMap<>();
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
  private final Map<String, String> responses = leastRecentlyUsedOut(RESPONSES_KEPT);
  /**
   * The server each batch line went to lately: a line sent again (its batch's node died before it wrote the answer)
   * goes back there, where the agent kept the answer, rather than to a server that would compute it again.
   */
  private final Map<String, String> batchLinesServedBy = leastRecentlyUsedOut(BATCH_LINES_KEPT);
  static final int BATCH_LINES_KEPT = 20_000;
  /** When the latest interactive ticket came: for this long after, batch lines start one at a time per server. */
  private long lastInteractiveMillis = Long.MIN_VALUE / 2;
  static final long INTERACTIVE_LATELY_MILLIS = 5_000;
  static final long INTERACTIVE_PEAK_WINDOW_MILLIS = 60_000;
  static final int BATCH_PREFILLS_WHEN_QUIET = 4;
  static final int RESPONSES_KEPT = 100_000;
  private final long createdMillis = System.currentTimeMillis();
  private boolean agentsEverSeen;
  private long roundRobin;
  private final Map<Integer, kamon.metric.Histogram> queueWait = new HashMap<>();
  private final kamon.metric.Gauge queueLength;
  private final kamon.metric.Gauge usableServers;
  /** The waits of the last minutes, for the status page. */
  private final RecentWaits recentWaits = new RecentWaits(4096);
  /** The prompt blocks sent to each server lately: what its prefix cache likely holds. */
  private final PrefixIndex prefixes;
  /** The server each named conversation went to last, the least recent forgotten past {@link #SESSIONS_KEPT}. */
  private final Map<String, String> sessions = leastRecentlyUsedOut(SESSIONS_KEPT);
  static final int SESSIONS_KEPT = 20_000;
  /**
   * How much of a ticket's first token its cached prefix saves, at most: the prefill of a long prompt is most of
   * its first token on a server with room, the step it joins the rest.
   */
  static final double PREFIX_SAVING = 0.8;
  /** A server whose KV cache is this full has been evicting: what it was sent is no longer known to be there. */
  static final double KV_EVICTING = 0.98;
  static final Duration RECENT = Duration.ofMinutes(5);

  /** @param settingsFor the model's settings as this node knows them now: read again every tick */
  private ModelQueue(ActorContext<QueueCommand> ctx, String model, Function<String, QueueSettings> settingsFor) {
    super(ctx);
    this.model = model;
    this.settingsFor = settingsFor;
    this.settings = settingsFor.apply(model);
    this.waiting = new TicketQueue<>(settings.policy());
    this.prefixes = new PrefixIndex(settings.prefixBlocksPerServer());
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
    long now = System.currentTimeMillis();
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
      agents.get(serverId).ref.tell(new AgentCommand.CancelCall(id));
    }
    publishLength();
    return this;
  }

  private Behavior<QueueCommand> onGetFleet(QueueCommand.GetFleet get) {
    long now = System.currentTimeMillis();
    List<QueueCommand.ServerView> servers = agents.values().stream()
        .sorted(Comparator.comparing(a -> a.serverId))
        .map(a -> new QueueCommand.ServerView(a.serverId, a.organization, a.datacenter, a.credit(), a.snapshot,
            now - a.lastDemandMillis))
        .toList();
    get.replyTo().tell(new QueueCommand.Fleet(model, waiting.size(), servers,
        recentWaits.median(now - RECENT.toMillis())));
    return this;
  }

  private Behavior<QueueCommand> onDemand(QueueCommand.Demand demand) {
    AgentView agent = agents.computeIfAbsent(demand.serverId(), AgentView::new);
    if (agent.ref == null || !agent.ref.equals(demand.agent())) {
      if (agent.ref != null) {
        getContext().unwatch(agent.ref);
      }
      agent.ref = demand.agent();
      getContext().watch(demand.agent());
    }
    agentsEverSeen = true;
    agent.organization = demand.organization();
    agent.datacenter = demand.datacenter();
    agent.freeSlots = demand.freeSlots();
    // An agent that restarted counts from zero again.
    if (demand.assignsSeen() < agent.assignsSeen || demand.assignsSeen() > agent.assignsSent) {
      agent.assignsSent = demand.assignsSeen();
    }
    agent.assignsSeen = demand.assignsSeen();
    if (demand.snapshot().kvCacheUsage() >= KV_EVICTING || demand.snapshot().state() == ServerState.UNHEALTHY) {
      prefixes.forget(agent.serverId); // its cache is evicting, or the server went down (and restarts empty)
    }
    agent.snapshot = demand.snapshot();
    agent.noteInteractive(System.currentTimeMillis());
    agent.lastDemandMillis = System.currentTimeMillis();
    dispatch(agent.lastDemandMillis);
    return this;
  }

  private Behavior<QueueCommand> onAccepted(QueueCommand.AssignAccepted accepted) {
    Assigned a = assigned.remove(accepted.ticketId());
    if (a != null) {
      recentlyStarted.put(accepted.ticketId(), new Started(a.serverId(), System.currentTimeMillis()));
      if (a.ticket().info().batch()) {
        batchLinesServedBy.put(accepted.ticketId(), a.serverId());
      }
    }
    return this;
  }

  private Behavior<QueueCommand> onRefused(QueueCommand.AssignRefused refused) {
    AgentView agent = agents.get(refused.serverId());
    if (agent != null) {
      agent.freeSlots = 0; // until its next demand says otherwise
    }
    Assigned a = assigned.remove(refused.ticketId());
    if (a != null) {
      requeue(a.ticket());
    }
    return this;
  }

  private Behavior<QueueCommand> onDemandWithdrawn(QueueCommand.DemandWithdrawn withdrawn) {
    AgentView agent = agents.get(withdrawn.serverId());
    if (agent != null) {
      agent.freeSlots = 0;
    }
    return this;
  }

  private Behavior<QueueCommand> onAgentTerminated(Terminated terminated) {
    agents.values().removeIf(a -> {
      if (a.ref.equals(terminated.getRef())) {
        requeueAssignedTo(a.serverId);
        return true;
      }
      return false;
    });
    return this;
  }

  private Behavior<QueueCommand> onTick() {
    long now = System.currentTimeMillis();
    QueueSettings fresh = settingsFor.apply(model);
    if (!fresh.equals(settings)) {
      getContext().getLog().info("queue of {}: settings changed ({} -> {})", model, settings, fresh);
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
    agents.values().removeIf(a -> {
      if (now - a.lastDemandMillis > settings.demandTimeout().toMillis()) {
        getContext().unwatch(a.ref);
        requeueAssignedTo(a.serverId);
        return true;
      }
      return false;
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

  /** The server's agent is gone: what was assigned to it comes back, and batch lines waiting for it go anywhere. */
  private void requeueAssignedTo(String serverId) {
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
    leases.put(ticket.id(), System.currentTimeMillis());
    dispatch(System.currentTimeMillis());
  }

  // ---- matching

  private void dispatch(long now) {
    while (!waiting.isEmpty()) {
      List<AgentView> candidates = candidates(now);
      if (candidates.isEmpty()) {
        break;
      }
      Set<String> organizationsWithRoom = new HashSet<>();
      candidates.forEach(a -> organizationsWithRoom.add(a.organization));
      boolean matched = false;
      for (AgentView agent : candidates) {
        Optional<TicketQueue.Entry<DispatchTicket>> next = waiting.pollFor(
            new TicketQueue.Server(agent.serverId, agent.organization), organizationsWithRoom::contains, now,
            agent.takesBatch(settings.batchSlotShare(), now - lastInteractiveMillis < INTERACTIVE_LATELY_MILLIS));
        if (next.isPresent()) {
          DispatchTicket ticket = next.get().payload();
          // A batch's line goes where there was room for one, not where a prompt's prefix would rather have it.
          assign(next.get().ticket().batch() ? agent
              : inTicketsDatacenter(withAffinity(agent, candidates, ticket), candidates, ticket), ticket, now);
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

  /**
   * Between servers the strategy finds equal (same busyness, same organisation, so the same ticket would go to
   * either), the one in the datacentre of the ticket's edge: its stream crosses no datacentre link.
   */
  private AgentView inTicketsDatacenter(AgentView chosen, List<AgentView> candidates, DispatchTicket ticket) {
    String datacenter = ticket.info().datacenter();
    if (settings.routingStrategy() != RoutingStrategy.LEAST_BUSY || datacenter.equals(chosen.datacenter)) {
      return chosen;
    }
    Comparator<AgentView> order = leastBusyOrder(candidates);
    for (AgentView other : candidates) {
      if (datacenter.equals(other.datacenter) && other.organization.equals(chosen.organization)
          && order.compare(other, chosen) == 0) {
        return other;
      }
    }
    return chosen;
  }

  /**
   * Least-busy with prefix affinity: between the chosen server and the others of its organisation (the same ticket
   * would go to either), the one with the shortest predicted first token once what its prefix cache likely holds of
   * the ticket's prompt is taken off: {@link #PREFIX_SAVING} of the first token, in proportion to the prompt's
   * blocks it was sent lately. A hot prefix so stays on its server while that server's load costs less than the
   * prefill it saves, and spreads when it saturates. A conversation the client named goes back to its server
   * while that server has room in its batch.
   */
  private AgentView withAffinity(AgentView chosen, List<AgentView> candidates, DispatchTicket ticket) {
    if (settings.routingStrategy() != RoutingStrategy.LEAST_BUSY || !settings.prefixAffinity()) {
      return chosen;
    }
    String session = ticket.info().session();
    if (session != null) {
      String server = sessions.get(session);
      for (AgentView a : candidates) {
        if (a.serverId.equals(server) && a.organization.equals(chosen.organization) && !a.full()) {
          return a;
        }
      }
    }
    long[] prefix = ticket.info().prefix();
    if (prefix.length == 0) {
      return chosen;
    }
    boolean steps = leastBusyOrder(candidates) == BY_STEP;
    AgentView best = chosen;
    double bestCost = affinityCost(chosen, prefix, steps);
    for (AgentView a : candidates) {
      if (a != chosen && a.organization.equals(chosen.organization) && !a.full()) {
        double cost = affinityCost(a, prefix, steps);
        if (cost < bestCost) {
          best = a;
          bestCost = cost;
        }
      }
    }
    return best;
  }

  /** A server's predicted first token for this prompt, relative: its load's cost less what its cache saves. */
  private double affinityCost(AgentView a, long[] prefix, boolean steps) {
    double load = steps ? a.firstTokenCost() : 0.05 + a.busyness();
    double cached = (double) prefixes.cachedPrefix(a.serverId, prefix) / prefix.length;
    return (a.full() ? 1e6 : 0) + load * (1 - PREFIX_SAVING * cached);
  }

  private List<AgentView> candidates(long now) {
    List<AgentView> withRoom = new ArrayList<>();
    for (AgentView a : agents.values()) {
      if (a.credit() > 0 && now - a.lastDemandMillis <= settings.demandTimeout().toMillis()) {
        withRoom.add(a);
      }
    }
    switch (settings.routingStrategy()) {
      case ROUND_ROBIN -> {
        withRoom.sort(Comparator.comparing(a -> a.serverId));
        if (!withRoom.isEmpty()) {
          Collections.rotate(withRoom, -(int) (roundRobin % withRoom.size()));
        }
      }
      case RANDOM -> Collections.shuffle(withRoom, ThreadLocalRandom.current());
      default -> {
        withRoom.forEach(a -> a.countPrefilling(now));
        withRoom.sort(leastBusyOrder(withRoom)
          .thenComparingDouble(a -> a.snapshot.recentTtftSeconds())
          .thenComparing(a -> a.serverId));
      }
    }
    return withRoom;
  }

  /**
   * Least-busy's order. When every candidate's agent knows how its server's step grows with its batch: first the
   * servers with room in their batch, the cheapest first token first ({@link AgentView#firstTokenCost()}: the step a
   * new request would join sets its first token and every token after, so a fast server takes more requests than
   * a slow one until their steps are alike); then full servers, the least over first. Otherwise, servers by how
   * full they are for their size ({@link AgentView#busyness()}).
   */
  private static Comparator<AgentView> leastBusyOrder(List<AgentView> candidates) {
    for (AgentView a : candidates) {
      if (!a.snapshot.knowsItsSteps()) {
        return BY_BUSYNESS;
      }
    }
    return BY_STEP;
  }

  private void assign(AgentView agent, DispatchTicket ticket, long now) {
    agent.assignsSent++;
    if (settings.prefixAffinity()) {
      prefixes.sent(agent.serverId, ticket.info().prefix());
      if (ticket.info().session() != null) {
        sessions.put(ticket.info().session(), agent.serverId);
      }
    }
    if (settings.routingStrategy() == RoutingStrategy.LEAST_BUSY) {
      agent.assignedAt.addLast(now); // only least-busy reads (and prunes) them
    }
    roundRobin++;
    leases.remove(ticket.id());
    assigned.put(ticket.id(), new Assigned(ticket, agent.serverId, now));
    agent.ref.tell(new AgentCommand.Assign(ticket, getContext().getSelf()));
    long wait = Math.max(0, now - ticket.info().arrivalMillis());
    queueWait.computeIfAbsent(ticket.info().priority(), p -> Kamon.histogram("aiguillage_queue_wait_seconds",
            "time a ticket waited for a server", MeasurementUnit.time().nanoseconds())
        .withTags(kamon.tag.TagSet.builder().add("model", model).add("priority", Integer.toString(p)).build()))
        .record(wait * 1_000_000L);
    recentWaits.record(now, wait);
  }

  private int liveAgents(long now) {
    int n = 0;
    for (AgentView a : agents.values()) {
      if (now - a.lastDemandMillis <= settings.demandTimeout().toMillis()) {
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
    for (AgentView a : agents.values()) {
      ServerState s = a.snapshot == null ? ServerState.READY : a.snapshot.state();
      if (now - a.lastDemandMillis <= settings.demandTimeout().toMillis() && s != ServerState.UNHEALTHY
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
