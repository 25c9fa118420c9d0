package org.aiguillage.loadtest.run;

import java.util.Map;

/**
 * The figures of one group of requests (a concurrency level, a key class), as vLLM's benchmark defines them; see
 * {@link LoadMetrics#FORMULAS}.
 */
public record Summary(
    String group,
    int concurrency,
    int requests,
    int completed,
    double durationS,
    double requestsPerS,
    double outputTokensPerS,
    double outputTokensPerSPerUser,
    double goodputPerS,
    Percentiles ttftMs,
    Percentiles itlMs,
    Percentiles tpotMs,
    Percentiles e2eMs,
    Map<String, Integer> errorsByStatus) {

  /**
   * The same requests over {@code seconds}: the rates of requests pooled from rounds run one after the other, whose
   * times each count from their own round's start, are over the rounds' summed durations, not over the longest.
   */
  public Summary over(double seconds) {
    double k = durationS / seconds;
    return new Summary(group, concurrency, requests, completed, seconds, requestsPerS * k, outputTokensPerS * k,
        outputTokensPerSPerUser, goodputPerS * k, ttftMs, itlMs, tpotMs, e2eMs, errorsByStatus);
  }
}
