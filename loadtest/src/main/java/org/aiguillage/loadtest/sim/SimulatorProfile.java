package org.aiguillage.loadtest.sim;

/**
 * How a simulated vLLM server performs and misbehaves.
 *
 * <p>Latency model: a request waits (at most {@code maxNumSeqs} run at once, and the KV cache must hold its prompt
 * plus its {@code max_tokens}), then its prompt is prefilled in chunks of at most {@code maxBatchedTokens} per
 * engine step at {@code prefillMsPerToken}, then every engine step emits one token for every running request. A
 * step lasts the inter-token latency of the current batch, linear from {@code itlBatch1Ms} at batch 1 to
 * {@code itlBatch128Ms} at batch 128, plus the prefill work it carries. {@code ttftOverheadMs} (plus a uniform
 * random share of {@code ttftJitterMs}) is added once before a request reaches the scheduler (HTTP, tokenisation).
 * Steps follow each other on the engine's own clock: a busy host CPU delays when a step is noticed, not how long
 * the simulated GPU takes.
 *
 * @param errorRate share of requests answered with HTTP 500 (0..1)
 * @param failAfter after this many requests every new one gets HTTP 500 (0: never)
 * @param slowStartMs extra delay before the first token of every request
 */
public record SimulatorProfile(
    int maxNumSeqs,
    long kvCacheTokens,
    int maxModelLen,
    int maxBatchedTokens,
    double ttftOverheadMs,
    double ttftJitterMs,
    double prefillMsPerToken,
    double itlBatch1Ms,
    double itlBatch128Ms,
    int defaultMaxTokens,
    double errorRate,
    int failAfter,
    long slowStartMs) {

  /** The seed benchmarks' H200: about 8 ms between tokens alone, 46 ms at a batch of 128. */
  public static SimulatorProfile h200() {
    return new SimulatorProfile(128, 1_300_000, 32_768, 8192, 15, 5, 0.04, 8, 46, 256, 0, 0, 0);
  }

  /** A fast server for tests: 1 ms steps, a few ms to the first token. */
  public static SimulatorProfile fast() {
    return new SimulatorProfile(64, 1_000_000, 32_768, 8192, 2, 0, 0.001, 1, 2, 16, 0, 0, 0);
  }

  public double interTokenLatencyMs(int batch) {
    if (batch <= 1) {
      return itlBatch1Ms;
    }
    return itlBatch1Ms + (itlBatch128Ms - itlBatch1Ms) * (batch - 1) / 127.0;
  }

  public SimulatorProfile withMaxNumSeqs(int n) {
    return new SimulatorProfile(n, kvCacheTokens, maxModelLen, maxBatchedTokens, ttftOverheadMs, ttftJitterMs, prefillMsPerToken,
        itlBatch1Ms, itlBatch128Ms, defaultMaxTokens, errorRate, failAfter, slowStartMs);
  }

  public SimulatorProfile withItl(double batch1Ms, double batch128Ms) {
    return new SimulatorProfile(maxNumSeqs, kvCacheTokens, maxModelLen, maxBatchedTokens, ttftOverheadMs,
        ttftJitterMs, prefillMsPerToken, batch1Ms, batch128Ms, defaultMaxTokens, errorRate, failAfter, slowStartMs);
  }

  public SimulatorProfile withMaxModelLen(int n) {
    return new SimulatorProfile(maxNumSeqs, kvCacheTokens, n, maxBatchedTokens, ttftOverheadMs, ttftJitterMs, prefillMsPerToken,
        itlBatch1Ms, itlBatch128Ms, defaultMaxTokens, errorRate, failAfter, slowStartMs);
  }

  /**
   * A server whose latency does not depend on who else is being served: no prefill cost, the same step time at
   * any batch size, and an arrival overhead spread over a whole step so that closed-loop users do not lock onto
   * the step grid. Only for measuring what sits in front of it (the dispatcher's overhead).
   */
  public static SimulatorProfile steady(double itlMs) {
    return new SimulatorProfile(1024, 10_000_000, 32_768, 8192, 10, itlMs, 0, itlMs, itlMs, 256, 0, 0, 0);
  }

  public SimulatorProfile withFaults(double newErrorRate, int newFailAfter, long newSlowStartMs) {
    return new SimulatorProfile(maxNumSeqs, kvCacheTokens, maxModelLen, maxBatchedTokens, ttftOverheadMs,
        ttftJitterMs, prefillMsPerToken, itlBatch1Ms, itlBatch128Ms, defaultMaxTokens, newErrorRate, newFailAfter, newSlowStartMs);
  }
}
