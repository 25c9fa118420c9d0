package org.aiguillage.agents;

import java.util.Collection;
import org.aiguillage.agents.SseEvents.Usage;
import org.aiguillage.protocol.dispatch.LoadSnapshot;
import org.aiguillage.protocol.dispatch.ServerState;

/**
 * The live load an agent keeps of its server, pushed with every demand as the {@link LoadSnapshot} the queue scores
 * (not the queue's view of a server, {@code QueueCommand.ServerView}): the last scrape of its metrics, what
 * successive scrapes taught ({@link ScrapeHistory}: its real batch limit, the calls of others, its backlog;
 * {@link StepCurve}: how its step grows with its batch), its recent time to first token, and what the agent's own
 * calls show (their waits for a first token, their token gaps when the server does not measure its own). Plain Java:
 * the agent tells it what it saw, on its clock, and asks it for the snapshot.
 */
final class LiveLoad {

  private ServerLoad load = ServerLoad.UNKNOWN;
  private final ScrapeHistory scrapes = new ScrapeHistory();
  private final StepCurve steps = new StepCurve();
  /**
   * The token gaps of this agent's own streams, summed as a server's inter-token histogram sums its: the step curve's
   * input when the server gives none (a metrics filter, an engine that does not measure its latencies).
   */
  private double ownGapSeconds;
  private double ownGaps;
  /** Whether a call waited far longer than usual for its first token at the last scrape (see LoadSnapshot). */
  private boolean stalled;
  private double recentTtftSeconds;

  ServerLoad load() {
    return load;
  }

  boolean kvCacheFull(double highWater) {
    return load.kvCacheUsage() >= highWater;
  }

  boolean backlogged(int maxWaiting) {
    return scrapes.backlogged(maxWaiting);
  }

  /**
   * A scrape answered with {@code load} while the agent had {@code calls} open.
   *
   * @return whether the queue should hear of it now, not at the next demand: the server's learnt batch limit moved,
   *     or a call of the agent's just started to wait far longer than usual (the server queues)
   */
  boolean scraped(ServerLoad load, Collection<ServerCall> calls, long nowMillis) {
    this.load = load;
    int limitBefore = scrapes.batchLimit();
    boolean stalledNow = LoadSnapshot.stalled(firstTokenWait(calls, nowMillis), recentTtftSeconds);
    scrapes.observe(load, calls.size(), stalledNow, nowMillis);
    boolean tell = scrapes.batchLimit() != limitBefore || stalledNow && !stalled;
    stalled = stalledNow;
    if (load.tokenGapSeconds() >= 0) {
      steps.observe(load.tokenGapSeconds(), load.tokenGaps(), load.running(), nowMillis);
    } else {
      steps.observe(ownGapSeconds, ownGaps, load.running() >= 0 ? load.running() : calls.size(), nowMillis);
    }
    return tell;
  }

  /** The metrics did not answer: nothing is known of the server's load until they do (it may have restarted). */
  void scrapeFailed() {
    load = ServerLoad.UNKNOWN;
    scrapes.forget();
    steps.forget();
  }

  /** A streamed call got its first event {@code seconds} after it was sent. */
  void firstToken(double seconds) {
    recentTtftSeconds = recentTtftSeconds == 0 ? seconds : 0.8 * recentTtftSeconds + 0.2 * seconds;
  }

  double recentTtftSeconds() {
    return recentTtftSeconds;
  }

  /**
   * A stream ended whole ({@code status} under 300): it adds its token gaps, from its first event to its end, over its
   * tokens but the first (each event of a vLLM-like stream carries a step's token; without the server's usage, the
   * events but the usage chunk and {@code [DONE]}).
   */
  void streamEnded(ServerCall call, int status, Usage usage, long events, long nowMillis) {
    long tokens = usage.completionTokens() > 0 ? usage.completionTokens() : events - 2;
    if (call.ticket.call().stream() && status < 300 && call.firstEventMillis > 0 && tokens > 1) {
      ownGapSeconds += Math.max(0, nowMillis - call.firstEventMillis) / 1000.0;
      ownGaps += tokens - 1;
    }
  }

  LoadSnapshot snapshot(Collection<ServerCall> calls, int maxParallel, ServerState state, long nowMillis) {
    int batchCalls = 0;
    for (ServerCall c : calls) {
      if (c.ticket.info().batch()) {
        batchCalls++;
      }
    }
    return new LoadSnapshot(calls.size(), maxParallel, load.running(), load.waiting(), load.kvCacheUsage(),
        recentTtftSeconds, nowMillis, state, scrapes.otherCalls(), scrapes.batchLimit(), steps.baseMillis(),
        steps.millisPerCall(), awaitingFirstToken(calls, nowMillis),
        load.prefixCacheQueries() > 0 ? load.prefixCacheHits() / load.prefixCacheQueries() : -1, batchCalls,
        firstTokenWait(calls, nowMillis));
  }

  /** How long the streamed call that has waited longest for its first token, and still waits, has waited. */
  static long firstTokenWait(Collection<ServerCall> calls, long nowMillis) {
    long longest = 0;
    for (ServerCall c : calls) {
      if (c.firstEventMillis < 0 && c.ticket.call().stream()) {
        longest = Math.max(longest, nowMillis - c.startMillis);
      }
    }
    return longest;
  }

  /**
   * Calls whose prompt the server is still prefilling, as far as the agent can tell: streams without their first
   * event; a call that is not streamed answers only when it is whole, so it counts while it is younger than the
   * server's recent time to first token.
   */
  private int awaitingFirstToken(Collection<ServerCall> calls, long nowMillis) {
    long ttftMillis = Math.round(recentTtftSeconds * 1000);
    int n = 0;
    for (ServerCall c : calls) {
      if (c.firstEventMillis < 0 && (c.ticket.call().stream() || nowMillis - c.startMillis < ttftMillis)) {
        n++;
      }
    }
    return n;
  }
}
