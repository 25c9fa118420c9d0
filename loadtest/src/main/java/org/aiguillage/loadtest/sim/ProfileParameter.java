package org.aiguillage.loadtest.sim;

import java.util.Arrays;

/**
 * The parameters of a GPU's profile that {@code loadtest.jar fit} searches, each with its name in a profile's file
 * ({@link ProfileFiles}), its range and what it means.
 */
public enum ProfileParameter {
  KV_CACHE_TOKENS("kv_cache_tokens", 10_000, 20_000_000, "KV-cache capacity in tokens (blocks of 16): when throughput "
      + "stops growing and TTFT jumps (users wait for the cache); only bounded below when no level fills it"),
  TTFT_OVERHEAD_MS("ttft_overhead_ms", 1, 1_000, "time before a request reaches the scheduler (HTTP, tokenisation, "
      + "the benchmark client): TTFT at one user, less its prefill"),
  PREFILL_MS_PER_TOKEN("prefill_ms_per_token", 0.001, 1, "prompt computation per token: TTFT at one user of a long "
      + "prompt against a short one"),
  ITL_BATCH1_MS("itl_batch1_ms", 1, 200, "a decode step of one request (the weights' pass): ITL at one user"),
  ITL_BATCH128_MS("itl_batch128_ms", 1, 1_000, "a decode step of 128 requests: ITL at 128 users of short prompts"),
  BATCH_EXPONENT("batch_exponent", 0.2, 2, "the step curve between the two: n^exponent, concave below 1 (ITL at "
      + "2 to 64 users)"),
  CONTEXT_MS_PER_1K_TOKENS("context_ms_per_1k_tokens", 0.000_01, 1, "attention per 1,000 tokens of context in the "
      + "step: ITL of long prompts against short ones at the same users"),
  MAX_BATCHED_TOKENS("max_num_batched_tokens", 256, 32_768, "tokens one step computes (vLLM's "
      + "max_num_batched_tokens, chunked prefill): how TTFT of long prompts grows with users, an effective value");

  /** The name in the properties file. */
  public final String key;
  /** The range the fit searches (the parameter's meaningful values). */
  public final double min;
  public final double max;
  /** What it is, and which published figures tell it. */
  public final String meaning;

  ProfileParameter(String key, double min, double max, String meaning) {
    this.key = key;
    this.min = min;
    this.max = max;
    this.meaning = meaning;
  }

  /** The parameter of this name in the properties file. */
  public static ProfileParameter byKey(String key) {
    return Arrays.stream(values()).filter(p -> p.key.equals(key)).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("--fix: no parameter '" + key + "' (one of "
            + String.join(", ", Arrays.stream(values()).map(p -> p.key).toList()) + ")"));
  }

  public double of(SimulatorProfile p) {
    return switch (this) {
      case KV_CACHE_TOKENS -> p.kvCacheTokens();
      case TTFT_OVERHEAD_MS -> p.ttftOverheadMs();
      case PREFILL_MS_PER_TOKEN -> p.prefillMsPerToken();
      case ITL_BATCH1_MS -> p.itlBatch1Ms();
      case ITL_BATCH128_MS -> p.itlBatch128Ms();
      case BATCH_EXPONENT -> p.batchExponent();
      case CONTEXT_MS_PER_1K_TOKENS -> p.contextMsPer1kTokens();
      case MAX_BATCHED_TOKENS -> p.maxBatchedTokens();
    };
  }

  /** A profile of these values, in {@link #values()} order, vLLM's defaults for the rest. */
  public static SimulatorProfile profile(double[] v) {
    return SimulatorProfile.of(Math.round(v[KV_CACHE_TOKENS.ordinal()]), v[TTFT_OVERHEAD_MS.ordinal()],
        v[PREFILL_MS_PER_TOKEN.ordinal()], v[ITL_BATCH1_MS.ordinal()], v[ITL_BATCH128_MS.ordinal()],
        v[BATCH_EXPONENT.ordinal()], v[CONTEXT_MS_PER_1K_TOKENS.ordinal()],
        (int) Math.round(v[MAX_BATCHED_TOKENS.ordinal()]));
  }

  public static double[] values(SimulatorProfile p) {
    double[] v = new double[values().length];
    for (ProfileParameter f : values()) {
      v[f.ordinal()] = f.of(p);
    }
    return v;
  }
}
