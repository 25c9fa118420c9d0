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
    Map<String, Integer> errorsByStatus) {}
