package org.aiguillage.priority.routing;

import java.time.Duration;
import java.util.ArrayDeque;
import org.aiguillage.protocol.dispatch.LoadSnapshot;
import org.aiguillage.protocol.dispatch.ServerState;

/**
 * What a model's queue knows of one server's load: the demand its agent sent last (its free slots and the snapshot
 * of its server), and what the queue sent it since. A routing strategy ({@link Routing}) reads it to choose.
 *
 * <p>Times are the queue's clock in milliseconds, passed in: this class reads no clock of its own.
 */
public final class ServerLoad {

  /** While interactive tickets come, a server keeps room for a quarter more than its peak of them over this long. */
  public static final long INTERACTIVE_PEAK_WINDOW_MILLIS = 60_000;
  /** When no interactive ticket came lately, this many batch lines may prefill at once on a server. */
  public static final int BATCH_PREFILLS_WHEN_QUIET = 4;

  private final String serverId;
  private String organization;
  private String datacenter;
  private int freeSlots;
  private long assignsSeen;
  private long assignsSent;
  private LoadSnapshot snapshot;
  private long lastDemandMillis;
  /** When the queue's latest assignments to the server were sent, oldest first. */
  private final ArrayDeque<Long> assignedAt = new ArrayDeque<>();
  /** Calls on the server still waiting for their first token, as counted by {@link #countPrefilling(long)}. */
  private int prefilling;
  /** The most interactive calls seen on the server in the last minute, and when that was seen. */
  private int interactivePeak;
  private long interactivePeakMillis;
  /**
   * The agent's recent time to first token over the load it was first seen at ({@code 1 + calls / capacity}), in
   * ms: what {@link #predictedFirstTokenMillis()} scales to the load now (-1 while the agent has measured none). Taken
   * when the agent's figure changes, so that a figure measured under one load and repeated in later demands is not
   * read against another.
   */
  private double firstTokenPerLoad = -1;
  private double firstTokenSeenMillis = -1;

  public ServerLoad(String serverId) {
    this.serverId = serverId;
  }

  /**
   * The agent's demand: {@code freeSlots} calls it can open now, counted after it had seen {@code assignsSeen} of
   * the queue's assignments.
   */
  public void demand(String organization, String datacenter, int freeSlots, long assignsSeen, LoadSnapshot snapshot,
      long now) {
    this.organization = organization;
    this.datacenter = datacenter;
    this.freeSlots = freeSlots;
    // An agent that restarted counts from zero again.
    if (assignsSeen < this.assignsSeen || assignsSeen > assignsSent) {
      assignsSent = assignsSeen;
    }
    this.assignsSeen = assignsSeen;
    this.snapshot = snapshot;
    this.lastDemandMillis = now;
    noteInteractive(now);
    double ttftMillis = snapshot.recentTtftSeconds() * 1000;
    if (ttftMillis <= 0) {
      firstTokenPerLoad = -1;
    } else if (ttftMillis != firstTokenSeenMillis) {
      firstTokenPerLoad = ttftMillis / loadFactor(snapshot.inFlight() + Math.max(0, snapshot.otherCalls()));
    }
    firstTokenSeenMillis = ttftMillis;
  }

  /** The agent refused a call or withdrew its demand: no room until its next demand says otherwise. */
  public void noRoom() {
    freeSlots = 0;
  }

  /** The queue sent the server a ticket at {@code now}. */
  public void sent(long now) {
    assignsSent++;
    assignedAt.addLast(now);
    while (assignedAt.size() > 4096) {
      assignedAt.pollFirst();
    }
  }

  public String serverId() {
    return serverId;
  }

  public String organization() {
    return organization;
  }

  public String datacenter() {
    return datacenter;
  }

  public LoadSnapshot snapshot() {
    return snapshot;
  }

  public long lastDemandMillis() {
    return lastDemandMillis;
  }

  /** Whether the agent's last demand is at most {@code demandTimeout} old at {@code now}: the agent is alive. */
  public boolean demandedWithin(Duration demandTimeout, long now) {
    return now - lastDemandMillis <= demandTimeout.toMillis();
  }

  public ServerState state() {
    return snapshot == null ? ServerState.READY : snapshot.state();
  }

  /** Free slots minus the assignments sent that the agent had not seen when it counted them. */
  public int credit() {
    return freeSlots - (int) (assignsSent - assignsSeen);
  }

  /** Calls open on the server now, as far as this queue can tell. */
  public int inFlight() {
    return snapshot.inFlight() + (int) (assignsSent - assignsSeen);
  }

  /**
   * How full the server is for its size. The requests on it now (this dispatcher's open calls and assignments on
   * their way, plus the others its metrics showed: other dispatchers', direct users') over its capacity: the batch
   * it was seen to run while queueing more when the agent has seen that lately, otherwise the configured ceiling.
   * Above 1 the server queues, and a new request waits for a slot; KV-cache use is a lighter second term. Relative
   * to capacity, so a large server with 10 calls scores below a small one with 5, and a server whose ceiling
   * overstates its batch is scored by what it runs.
   */
  public double busyness() {
    double kv = Math.max(0, snapshot.kvCacheUsage());
    return calls() / capacity() + 0.25 * kv;
  }

  /**
   * Whether a new request could wait in the server's own queue: its calls already fill its capacity, less a margin
   * for the calls that are not ours. Those are known from a scrape up to half a second old and move by about their
   * square root between two scrapes (6 direct users: 3 slots kept free); a request that finds the batch full waits
   * there until a running one ends, a whole answer's time shared by the batch, far more than any step.
   */
  public boolean full() {
    return calls() + Math.ceil(Math.sqrt(Math.max(0, snapshot.otherCalls()))) >= capacity() || stalled();
  }

  /**
   * Whether a call sent here has waited for its first token far longer than the server's calls lately did
   * ({@link LoadSnapshot#firstTokenStalled()}): the server queues requests of its own, whatever its ceiling says.
   */
  public boolean stalled() {
    return snapshot.firstTokenStalled();
  }

  /**
   * What a new request's first token would cost on this server, in ms: the step it would join, from the server's
   * step curve at its calls plus this one, and half a step more for every call still waiting for its first token
   * (their prompts are prefilled in the same steps as the new one's: requests that arrive together, as closed-loop
   * users whose answers ended in the same step do, are spread rather than prefilled together). KV-cache use weighs
   * as in {@link #busyness()}. Only when the agent knows the curve ({@link LoadSnapshot#knowsItsSteps()}).
   */
  public double firstTokenCost() {
    double batch = Math.min(calls(), capacity()) + 1;
    double kv = Math.max(0, snapshot.kvCacheUsage());
    double step = snapshot.stepBaseMillis() + snapshot.stepMillisPerCall() * batch;
    return step * (1 + 0.5 * prefilling) * (1 + 0.25 * kv);
  }

  /**
   * The first token a new request would have here, in ms, from what any server gives: the time to first token its
   * agent measured lately (the server's queue, its prefills and its step, whatever its engine), scaled from the load
   * it was measured at to the load with this request. A step grows with the batch, from its base at an idle server to
   * about three times that at a full one on today's GPUs; the scale {@code 1 + calls / capacity} doubles it from idle
   * to full, between those of a step that hardly grows and one that grows steeply. A quarter more for every call still
   * waiting for its first token (half a step in {@link #firstTokenCost()}, but a first token is more than the steps
   * its prefill shares: tokenizing, scheduling and the network do not grow with the prefills beside it, 99 of the
   * 145 ms of the H200 profile's), and KV-cache use as in {@link #busyness()}.
   * At least as long as a call sent here has been waiting for its first token: a new one would wait behind it.
   * Negative while the agent has measured no first token. For least-busy when the step curve is not known: the
   * server has no inter-token histogram and its agent has not yet learnt one from its own streams.
   */
  public double predictedFirstTokenMillis() {
    if (firstTokenPerLoad < 0) {
      return -1;
    }
    double kv = Math.max(0, snapshot.kvCacheUsage());
    double scaled = firstTokenPerLoad * loadFactor(calls() + 1) * (1 + 0.25 * prefilling) * (1 + 0.25 * kv);
    return Math.max(scaled, snapshot.firstTokenWaitMillis());
  }

  private double loadFactor(int calls) {
    return 1 + Math.min(Math.max(calls, 1), capacity()) / capacity();
  }

  /**
   * Counts the calls still waiting for their first token: those this queue assigned less than the server's recent
   * time to first token ago (known here at once, where the agent's count is only as fresh as its last demand);
   * before the agent has measured that time, the agent's count and the assignments on their way.
   */
  public void countPrefilling(long now) {
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

  /** The calls {@link #countPrefilling(long)} counted last. */
  public int prefilling() {
    return prefilling;
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
  public boolean takesBatch(double share, boolean interactiveLately) {
    int ceiling = (int) Math.floor(share * capacity());
    if (interactiveLately) {
      ceiling = Math.min(ceiling, (int) capacity() - (int) Math.ceil(1.25 * interactivePeak) - 2);
    }
    return !full() && prefilling < (interactiveLately ? 1 : BATCH_PREFILLS_WHEN_QUIET)
        && calls() + 1 <= Math.max(interactiveLately ? 0 : 1, ceiling);
  }

  /** Notes the interactive calls on the server now (its calls less the batch lines), the most in a minute kept. */
  private void noteInteractive(long now) {
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

  @Override
  public String toString() {
    return serverId + "{" + organization + ", credit " + credit() + ", calls " + (snapshot == null ? "?" : calls())
        + "}";
  }
}
