package org.aiguillage.agents;

/**
 * What an agent learns of its server from successive scrapes: its real batch size and the calls of others, for the
 * least-busy score, and whether it queues requests of its own.
 *
 * <p>The configured {@code max_parallel_requests} is what the operator allows this dispatcher, not what the server
 * runs at once: a server started with {@code --max-num-seqs 16}, or whose KV cache holds 16 of today's prompts,
 * queues the 17th whatever the ceiling says. One scrape that shows requests waiting beside requests running proves
 * little: vLLM samples its gauges after each step's scheduling, but a burst of prompts over one step's token budget
 * waits a step or two on a server with room, and a server that samples its gauges at any moment (this project's
 * simulator did, until it was made to sample as vLLM does) shows the requests that arrived since the last step. A
 * full server shows a queue scrape after scrape at the same running count. So the limit is learned from
 * {@link #CONFIRMATIONS} scrapes in a row that show a queue at the same running count, or from one that shows a queue
 * while a call of this agent's has waited for its first token far longer than the server's first tokens lately took
 * (a burst waits a step or two; that call waits for a running request to end); any scrape showing more running than
 * a learned limit raises it (a wrong limit is corrected as soon as the server runs more).
 *
 * <p>A queue teaches a limit only when it is a queue for slots: the server runs as many as it ran at most lately (a
 * {@code --max-num-seqs} reached), or its KV cache is {@link #KV_FULL} (no room for another prompt). A server busy
 * prefilling long prompts also queues, while each step's token budget goes to the prompts it runs (vLLM admits a
 * request only with budget left), at whatever running count those prompts leave; a limit learnt there (measured: 16
 * on simulated H200s allowing 1,024, after 40 s of round-robin past capacity with 10,000-token conversations) would
 * outlive the overload, count the server full at 16 calls for minutes, and send conversations away from the server
 * holding their history. That queue is the prefills', which least-busy already counts call by call.
 *
 * <p>A limit is forgotten {@link #MEMORY_MILLIS} after the last scrapes that confirmed it, so that one set by long
 * prompts does not outlive them for long. The memory is long on purpose: a router that uses the limit well keeps
 * the server from queueing, and learning it again costs a burst of requests queued inside the server (seconds of
 * TTFT each), where a stale limit costs only a less even balance.
 *
 * <p>The same reading of vLLM's waiting count makes the agent's backlog rule: the server queues requests of its
 * own when two scrapes in a row (a scrape interval apart, far longer than an engine step) show more waiting than
 * the agent tolerates. With one scrape, a momentary wait stops the server's demand until the next scrape: the
 * simulator sampling at arrivals showed waiting requests in 22 of 100 scrapes of a server at 45 of 64 running, its
 * agent withdrew that often, and the dispatcher's added TTFT p99 went from 12 ms to hundreds of milliseconds.
 *
 * <p>It also counts the requests on the server that are not this agent's (other dispatchers, the contributing
 * university's own users calling it directly): the server's running and waiting counts less the calls this agent
 * had open when the scrape answered.
 */
final class ScrapeHistory {

  static final long MEMORY_MILLIS = 300_000;
  static final int CONFIRMATIONS = 3;
  /** KV-cache use at which a server's queue is one for room in its cache. */
  static final double KV_FULL = 0.9;

  private int batchLimit = -1;
  private long confirmedMillis;
  private int candidate = -1;
  private int streak;
  private int otherCalls;
  private int waitingNow = -1;
  private int waitingBefore = -1;
  /** The most the server ran lately, and when it was last seen running that many. */
  private int peakRunning;
  private long peakMillis;

  /**
   * A scrape answered with {@code load} while this agent had {@code ownCalls} calls open; {@code stalled}: one of
   * them has waited for its first token far longer than the server's first tokens lately took.
   */
  void observe(ServerLoad load, int ownCalls, boolean stalled, long nowMillis) {
    waitingBefore = waitingNow;
    waitingNow = load.waiting();
    if (load.running() < 0) {
      otherCalls = 0;
      return;
    }
    int running = load.running();
    int waiting = Math.max(0, load.waiting());
    otherCalls = Math.max(0, running + waiting - ownCalls);
    if (batchLimit > 0 && running > batchLimit) {
      batchLimit = running;
    }
    if (running >= peakRunning || nowMillis - peakMillis > MEMORY_MILLIS) {
      peakRunning = running;
      peakMillis = nowMillis;
    }
    boolean queueIsForSlots = running == peakRunning || load.kvCacheUsage() >= KV_FULL;
    if (waiting > 0 && running > 0 && queueIsForSlots) {
      streak = running == candidate ? streak + 1 : 1;
      candidate = running;
      if (streak >= CONFIRMATIONS || stalled) {
        batchLimit = running;
        confirmedMillis = nowMillis;
      }
    } else {
      streak = 0;
      candidate = -1;
    }
    if (batchLimit > 0 && nowMillis - confirmedMillis > MEMORY_MILLIS) {
      batchLimit = -1;
    }
  }

  /** The server's own queue held more than {@code maxWaiting} requests at the last two scrapes ({@code -1}: never). */
  boolean backlogged(int maxWaiting) {
    return maxWaiting >= 0 && waitingNow > maxWaiting && waitingBefore > maxWaiting;
  }

  /** The scrape failed or the server has no metrics: nothing known. */
  void forget() {
    waitingNow = -1;
    waitingBefore = -1;
    batchLimit = -1;
    candidate = -1;
    streak = 0;
    otherCalls = 0;
    peakRunning = 0;
  }

  int batchLimit() {
    return batchLimit;
  }

  int otherCalls() {
    return otherCalls;
  }
}
