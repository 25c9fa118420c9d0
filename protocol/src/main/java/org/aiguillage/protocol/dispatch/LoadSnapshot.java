package org.aiguillage.protocol.dispatch;

import org.aiguillage.protocol.CborSerializable;

/**
 * An agent's live view of its server, sent with every demand.
 *
 * @param inFlight calls this agent has open on the server now (always exact)
 * @param maxParallel the configured ceiling of open calls
 * @param running requests the server is decoding (from its metrics; -1 when it has none)
 * @param waiting requests in the server's own queue (-1 when unknown)
 * @param kvCacheUsage KV-cache use 0..1 (-1 when unknown)
 * @param recentTtftSeconds recent time to first token seen by this agent (0 when nothing seen yet)
 * @param state why the agent takes work or not
 * @param otherCalls requests on the server that are not this agent's (other dispatchers, direct users), running
 *     or waiting, at the last scrape (0 when unknown)
 * @param batchLimit the most requests the server was seen to run at once while it queued more: its real batch
 *     size ({@code max-num-seqs} or what its KV cache holds), learned from its metrics (-1 when not seen lately)
 * @param stepBaseMillis with {@code stepMillisPerCall}, how long one engine step of the server lasts against the
 *     requests it runs: {@code stepBaseMillis + stepMillisPerCall x running} ms, learned from its inter-token latency
 *     (-1 when not known)
 * @param stepMillisPerCall what each running request adds to a step, in ms (-1 when not known)
 * @param awaitingFirstToken calls of this agent that have not had their first token yet: their prompts are being
 *     prefilled, or wait to be
 * @param prefixCacheHitRate of the prompt tokens the server looked up in its prefix cache since it started, the share
 *     it found there (vLLM's {@code prefix_cache_hits_total / _queries_total}; -1 when it does not say)
 * @param batchCalls of {@code inFlight}, the lines of batches: the rest is what interactive users ask of the server
 * @param firstTokenWaitMillis how long the call of this agent that has waited longest for its first token, and still
 *     waits, has waited (0 when none waits): a server that queues requests of its own shows it here first
 */
public record LoadSnapshot(
    int inFlight,
    int maxParallel,
    int running,
    int waiting,
    double kvCacheUsage,
    double recentTtftSeconds,
    long takenAtMillis,
    ServerState state,
    int otherCalls,
    int batchLimit,
    double stepBaseMillis,
    double stepMillisPerCall,
    int awaitingFirstToken,
    double prefixCacheHitRate,
    int batchCalls,
    long firstTokenWaitMillis) implements CborSerializable {

  public LoadSnapshot(int inFlight, int maxParallel, int running, int waiting, double kvCacheUsage,
      double recentTtftSeconds, long takenAtMillis, ServerState state, int otherCalls, int batchLimit,
      double stepBaseMillis, double stepMillisPerCall, int awaitingFirstToken, double prefixCacheHitRate,
      int batchCalls) {
    this(inFlight, maxParallel, running, waiting, kvCacheUsage, recentTtftSeconds, takenAtMillis, state, otherCalls,
        batchLimit, stepBaseMillis, stepMillisPerCall, awaitingFirstToken, prefixCacheHitRate, batchCalls, 0);
  }

  public LoadSnapshot(int inFlight, int maxParallel, int running, int waiting, double kvCacheUsage,
      double recentTtftSeconds, long takenAtMillis, ServerState state, int otherCalls, int batchLimit,
      double stepBaseMillis, double stepMillisPerCall, int awaitingFirstToken, double prefixCacheHitRate) {
    this(inFlight, maxParallel, running, waiting, kvCacheUsage, recentTtftSeconds, takenAtMillis, state, otherCalls,
        batchLimit, stepBaseMillis, stepMillisPerCall, awaitingFirstToken, prefixCacheHitRate, 0);
  }

  public LoadSnapshot(int inFlight, int maxParallel, int running, int waiting, double kvCacheUsage,
      double recentTtftSeconds, long takenAtMillis, ServerState state, int otherCalls, int batchLimit,
      double stepBaseMillis, double stepMillisPerCall, int awaitingFirstToken) {
    this(inFlight, maxParallel, running, waiting, kvCacheUsage, recentTtftSeconds, takenAtMillis, state, otherCalls,
        batchLimit, stepBaseMillis, stepMillisPerCall, awaitingFirstToken, -1);
  }

  public LoadSnapshot(int inFlight, int maxParallel, int running, int waiting, double kvCacheUsage,
      double recentTtftSeconds, long takenAtMillis) {
    this(inFlight, maxParallel, running, waiting, kvCacheUsage, recentTtftSeconds, takenAtMillis, ServerState.READY, 0,
        -1, -1, -1, 0, -1);
  }

  /** A first token awaited longer than this, and than three recent ones, says the server queues. */
  public static final long STALLED_MILLIS = 500;

  /**
   * Whether a call has waited for its first token far longer than the server's calls lately did (three times its
   * recent time to first token, and {@link #STALLED_MILLIS}): the server queues requests of its own, whatever its
   * ceiling says.
   */
  public static boolean stalled(long firstTokenWaitMillis, double recentTtftSeconds) {
    return firstTokenWaitMillis > Math.max(3 * recentTtftSeconds * 1000, STALLED_MILLIS);
  }

  /** Whether a call of this agent's waits for its first token far longer than usual: {@link #stalled}. */
  public boolean firstTokenStalled() {
    return stalled(firstTokenWaitMillis, recentTtftSeconds);
  }

  /** Whether the server's step time against its batch is known. */
  public boolean knowsItsSteps() {
    return stepBaseMillis >= 0 && stepMillisPerCall >= 0;
  }
}
