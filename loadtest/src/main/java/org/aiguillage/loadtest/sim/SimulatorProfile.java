package org.aiguillage.loadtest.sim;

/**
 * How a simulated vLLM server performs and misbehaves: one engine model, with the parameters of a GPU and model.
 *
 * <p>The engine ({@link Scheduler}) works in steps, as vLLM's does. A request first waits {@code ttftOverheadMs}
 * (plus a uniform random share of {@code ttftJitterMs}): HTTP, tokenisation, what the published TTFT shows at one
 * user. It then queues until it is admitted: at most {@code maxNumSeqs} run at once, a step computes at most
 * {@code maxBatchedTokens} tokens (every running request's next token, then chunks of prompts: chunked prefill), and
 * a request is admitted only when the KV cache ({@code kvCacheTokens}, in blocks of 16) holds its prompt. Decoding
 * takes one more KV slot per token; when the cache runs out the latest admitted request is preempted (its blocks
 * freed, to be computed again from its prompt and what it had generated, as vLLM's recompute does).
 *
 * <p>A step lasts {@link #stepMs}: the decode time of its batch (from {@code itlBatch1Ms} at one request to
 * {@code itlBatch128Ms} at 128, along {@code n^batchExponent}: concave below 1), plus {@code contextMsPer1kTokens}
 * for every thousand tokens of context its requests attend to, plus {@code prefillMsPerToken} per prompt token it
 * computes. Steps follow each other on the engine's own clock: a busy host CPU delays when a step is noticed, not how
 * long the simulated GPU takes.
 *
 * <p>With {@code prefixCaching} (vLLM's default), a prompt's full blocks are cached under the hash of their tokens
 * and all before them; a prompt that begins like one seen before takes those blocks and skips their prefill
 * ({@link KvCache}).
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
    double batchExponent,
    double contextMsPer1kTokens,
    int defaultMaxTokens,
    double errorRate,
    int failAfter,
    long slowStartMs,
    boolean prefixCaching) {

  /**
   * vLLM refuses to start when its KV cache cannot hold one request of its context length; the simulator shortens
   * the context to the cache instead, so that every request it accepts can finish.
   */
  public SimulatorProfile {
    maxModelLen = (int) Math.min(maxModelLen, Math.max(1, kvCacheTokens));
  }

  /** vLLM's KV-cache block, in tokens. */
  public static final int BLOCK_TOKENS = 16;

  /** A profile of the plain model (step curve, KV cache, overhead) with vLLM's defaults for the rest. */
  public static SimulatorProfile of(long kvCacheTokens, double ttftOverheadMs, double prefillMsPerToken,
      double itlBatch1Ms, double itlBatch128Ms, double batchExponent, double contextMsPer1kTokens,
      int maxBatchedTokens) {
    return new SimulatorProfile(1024, kvCacheTokens, 32_768, maxBatchedTokens, ttftOverheadMs, 0, prefillMsPerToken,
        itlBatch1Ms, itlBatch128Ms, batchExponent, contextMsPer1kTokens, 256, 0, 0, 0, true);
  }

  /**
   * vLLM on one H200 (141 GB) serving an 80B FP8 mixture of experts, as in the seed benchmarks
   * ({@code ../shared/fixtures/seed-benchmarks/}), fitted to their shapes A and C by {@code loadtest.jar fit}
   * (docs/benchmarks.md, "Simulator profiles"). {@code maxNumSeqs} 1024 and {@code maxBatchedTokens} 8192 are vLLM's
   * defaults for an OpenAI server on a GPU of 70 GB or more; {@code maxModelLen} is large enough for shape C.
   */
  public static SimulatorProfile h200() {
    return ProfileFiles.load("h200");
  }

  /**
   * vLLM on one RTX 6000 Pro (96 GB) serving the same model: little memory is left for the KV cache once its 82 GB
   * of weights are loaded, so at 64 users of shape C requests wait for the cache and are preempted. Fitted like
   * {@link #h200()}.
   */
  public static SimulatorProfile rtx6000pro() {
    return ProfileFiles.load("rtx6000pro");
  }

  /** A fast server for tests: 1 ms steps, a few ms to the first token. */
  public static SimulatorProfile fast() {
    return new SimulatorProfile(64, 1_000_000, 32_768, 8192, 2, 0, 0.001, 1, 2, 1, 0, 16, 0, 0, 0, true);
  }

  /**
   * A server whose latency does not depend on who else is being served: no prefill cost, the same step time at
   * any batch size, and an arrival overhead spread over a whole step so that closed-loop users do not lock onto
   * the step grid. Only for measuring what sits in front of it (the dispatcher's overhead).
   */
  public static SimulatorProfile steady(double itlMs) {
    // The first token about 20 ms after the call at any step time up to 10 ms (overhead, then one step), 10 ms of
    // overhead beyond. No step budget worth the name (16M tokens): with 8,192, five thousand open streams left room
    // for 30 new prompts a step, and arrivals waited tens of seconds for it.
    return new SimulatorProfile(1024, 10_000_000, 32_768, 1 << 24, Math.max(10, 20 - itlMs), itlMs, 0, itlMs, itlMs,
        1, 0, 256, 0, 0, 0, true);
  }

  /** The profile a name gives on the command line. */
  public static SimulatorProfile named(String name) {
    return switch (name) {
      case "h200" -> h200();
      case "rtx6000pro" -> rtx6000pro();
      case "fast" -> fast();
      case "steady" -> steady(20);
      default -> {
        if (name.matches("steady:[0-9]+(\\.[0-9]+)?") && Double.parseDouble(name.substring(7)) > 0) {
          // steady:5 streams a token every 5 ms: the event rate of a fast server at low batch.
          yield steady(Double.parseDouble(name.substring("steady:".length())));
        }
        throw new IllegalArgumentException("--profile is h200, rtx6000pro, fast, steady or steady:MS_PER_TOKEN; "
            + "not '" + name + "'");
      }
    };
  }

  /** The decode time of a step of {@code batch} requests, context and prefill left out. */
  public double interTokenLatencyMs(int batch) {
    if (batch <= 1) {
      return itlBatch1Ms;
    }
    double shape = (Math.pow(batch, batchExponent) - 1) / (Math.pow(128, batchExponent) - 1);
    return itlBatch1Ms + (itlBatch128Ms - itlBatch1Ms) * shape;
  }

  /**
   * How long one engine step lasts: {@code decoding} requests each computing one token, {@code contextTokens} tokens
   * of context attended to by the step's requests, {@code prefillTokens} prompt tokens computed. A step of prefill
   * alone costs the weights' pass of a batch of one.
   */
  public double stepMs(int decoding, long contextTokens, int prefillTokens) {
    return interTokenLatencyMs(Math.max(1, decoding)) + contextMsPer1kTokens * contextTokens / 1000.0
        + prefillMsPerToken * prefillTokens;
  }

  public long kvCacheBlocks() {
    return kvCacheTokens / BLOCK_TOKENS;
  }

  public SimulatorProfile withMaxNumSeqs(int n) {
    return new SimulatorProfile(n, kvCacheTokens, maxModelLen, maxBatchedTokens, ttftOverheadMs, ttftJitterMs,
        prefillMsPerToken, itlBatch1Ms, itlBatch128Ms, batchExponent, contextMsPer1kTokens, defaultMaxTokens,
        errorRate, failAfter, slowStartMs, prefixCaching);
  }

  /** A linear step curve through these two points, with no cost for context. */
  public SimulatorProfile withItl(double batch1Ms, double batch128Ms) {
    return new SimulatorProfile(maxNumSeqs, kvCacheTokens, maxModelLen, maxBatchedTokens, ttftOverheadMs,
        ttftJitterMs, prefillMsPerToken, batch1Ms, batch128Ms, 1, 0, defaultMaxTokens, errorRate, failAfter,
        slowStartMs, prefixCaching);
  }

  public SimulatorProfile withMaxModelLen(int n) {
    return new SimulatorProfile(maxNumSeqs, kvCacheTokens, n, maxBatchedTokens, ttftOverheadMs, ttftJitterMs,
        prefillMsPerToken, itlBatch1Ms, itlBatch128Ms, batchExponent, contextMsPer1kTokens, defaultMaxTokens,
        errorRate, failAfter, slowStartMs, prefixCaching);
  }

  public SimulatorProfile withKvCacheTokens(long tokens) {
    return new SimulatorProfile(maxNumSeqs, tokens, maxModelLen, maxBatchedTokens, ttftOverheadMs, ttftJitterMs,
        prefillMsPerToken, itlBatch1Ms, itlBatch128Ms, batchExponent, contextMsPer1kTokens, defaultMaxTokens,
        errorRate, failAfter, slowStartMs, prefixCaching);
  }

  /** vLLM's automatic prefix caching on (its default, and every profile's) or off. */
  public SimulatorProfile withPrefixCaching(boolean on) {
    return new SimulatorProfile(maxNumSeqs, kvCacheTokens, maxModelLen, maxBatchedTokens, ttftOverheadMs,
        ttftJitterMs, prefillMsPerToken, itlBatch1Ms, itlBatch128Ms, batchExponent, contextMsPer1kTokens,
        defaultMaxTokens, errorRate, failAfter, slowStartMs, on);
  }

  public SimulatorProfile withFaults(double newErrorRate, int newFailAfter, long newSlowStartMs) {
    return new SimulatorProfile(maxNumSeqs, kvCacheTokens, maxModelLen, maxBatchedTokens, ttftOverheadMs,
        ttftJitterMs, prefillMsPerToken, itlBatch1Ms, itlBatch128Ms, batchExponent, contextMsPer1kTokens,
        defaultMaxTokens, newErrorRate, newFailAfter, newSlowStartMs, prefixCaching);
  }
}
