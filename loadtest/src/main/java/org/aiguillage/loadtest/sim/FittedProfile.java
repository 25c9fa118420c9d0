package org.aiguillage.loadtest.sim;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Locale;
import java.util.Properties;

/**
 * The parameters of a GPU's profile that {@code loadtest.jar fit} searches, and the files it writes them to: a
 * profile ships as {@code profiles/NAME.properties} on the class path, written by the fit (its command line, its
 * deviations and where each parameter came from in the comments), so what the simulator runs is what the fit found.
 */
public enum FittedProfile {
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

  FittedProfile(String key, double min, double max, String meaning) {
    this.key = key;
    this.min = min;
    this.max = max;
    this.meaning = meaning;
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
    return SimulatorProfile.of(Math.round(v[0]), v[1], v[2], v[3], v[4], v[5], v[6], (int) Math.round(v[7]));
  }

  public static double[] values(SimulatorProfile p) {
    double[] v = new double[values().length];
    for (FittedProfile f : values()) {
      v[f.ordinal()] = f.of(p);
    }
    return v;
  }

  /** The profile shipped as {@code profiles/NAME.properties}. */
  static SimulatorProfile load(String name) {
    try (InputStream in = FittedProfile.class.getResourceAsStream("/profiles/" + name + ".properties")) {
      if (in == null) {
        throw new IllegalStateException("no profiles/" + name + ".properties on the class path");
      }
      Properties p = new Properties();
      p.load(in);
      return parse("profiles/" + name + ".properties", p);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A profile a fit wrote. */
  public static SimulatorProfile read(java.nio.file.Path file) throws IOException {
    Properties p = new Properties();
    try (java.io.Reader in = java.nio.file.Files.newBufferedReader(file)) {
      p.load(in);
    }
    return parse(file.toString(), p);
  }

  static SimulatorProfile parse(String name, Properties p) {
    double[] v = new double[values().length];
    for (FittedProfile f : values()) {
      String s = p.getProperty(f.key);
      if (s == null) {
        throw new IllegalArgumentException(name + " has no " + f.key);
      }
      v[f.ordinal()] = Double.parseDouble(s.strip());
    }
    return profile(v);
  }

  /** The properties text of a profile, {@code comment} (lines) above it. */
  public static String write(SimulatorProfile profile, String comment) {
    StringBuilder sb = new StringBuilder();
    comment.lines().forEach(l -> sb.append("# ").append(l).append('\n'));
    for (FittedProfile f : values()) {
      double v = f.of(profile);
      sb.append("# ").append(f.meaning).append('\n');
      sb.append(f.key).append('=').append(f == KV_CACHE_TOKENS || f == MAX_BATCHED_TOKENS ? Long.toString(Math.round(v))
          : String.format(Locale.ROOT, "%.6g", v)).append('\n');
    }
    return sb.toString();
  }
}
