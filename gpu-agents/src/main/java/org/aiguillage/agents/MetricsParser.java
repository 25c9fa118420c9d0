package org.aiguillage.agents;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * Reads the load of a server from its Prometheus text: vLLM v1 ({@code vllm:kv_cache_usage_perc}) and v0
 * ({@code vllm:gpu_cache_usage_perc}) names, summed over the {@code engine} series of a data-parallel server, and
 * SGLang's names; and the sum and count of vLLM's inter-token latency histogram, from which an agent learns how a
 * step grows with the batch ({@link StepCurve}). Lines it cannot read (truncated, NaN, unknown) are skipped, never fatal.
 */
public final class MetricsParser {

  private MetricsParser() {}

  public static ServerLoad parse(String text) {
    Map<String, double[]> sums = new HashMap<>(); // name -> {sum, count}
    for (String raw : text.split("\n")) {
      String line = raw.strip();
      if (line.isEmpty() || line.charAt(0) == '#') {
        continue;
      }
      int nameEnd = indexOfAny(line, '{', ' ');
      if (nameEnd <= 0) {
        continue;
      }
      String name = line.substring(0, nameEnd);
      if (!WANTED.contains(name)) {
        continue;
      }
      int valueStart = line.charAt(nameEnd) == '{' ? line.lastIndexOf('}') + 1 : nameEnd;
      if (valueStart <= 0) {
        continue; // truncated label set
      }
      String[] rest = line.substring(valueStart).strip().split("\\s+");
      double value;
      try {
        value = Double.parseDouble(rest[0]);
      } catch (NumberFormatException e) {
        continue;
      }
      if (Double.isNaN(value) || Double.isInfinite(value)) {
        continue;
      }
      double[] acc = sums.computeIfAbsent(name, k -> new double[2]);
      acc[0] += value;
      acc[1]++;
    }
    int running = (int) Math.round(first(sums, "vllm:num_requests_running", "sglang:num_running_reqs", false));
    int waiting = (int) Math.round(first(sums, "vllm:num_requests_waiting", "sglang:num_queue_reqs", false));
    // Cache use is a ratio per engine: average the engines, do not add them.
    double kv = first(sums, "vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc", true);
    if (kv < 0) {
      kv = first(sums, "sglang:token_usage", null, true);
    }
    // The inter-token histogram: the v1 name, else v0's; its engines' series add up (gaps of different requests).
    double gapSeconds = first(sums, "vllm:inter_token_latency_seconds_sum", null, false);
    double gaps = first(sums, "vllm:inter_token_latency_seconds_count", null, false);
    if (gapSeconds < 0 || gaps < 0) {
      gapSeconds = first(sums, "vllm:time_per_output_token_seconds_sum", null, false);
      gaps = first(sums, "vllm:time_per_output_token_seconds_count", null, false);
    }
    if (gapSeconds < 0 || gaps < 0) {
      gapSeconds = -1;
      gaps = -1;
    }
    // vLLM v1's prefix-cache counters, in tokens.
    double prefixQueries = first(sums, "vllm:prefix_cache_queries_total", null, false);
    double prefixHits = first(sums, "vllm:prefix_cache_hits_total", null, false);
    return new ServerLoad(running, waiting, kv, gapSeconds, gaps, prefixQueries, prefixHits);
  }

  private static final Set<String> WANTED = Set.of(
      "vllm:num_requests_running",
      "vllm:num_requests_waiting",
      "vllm:kv_cache_usage_perc",
      "vllm:gpu_cache_usage_perc",
      "sglang:num_running_reqs",
      "sglang:num_queue_reqs",
      "sglang:token_usage",
      "vllm:inter_token_latency_seconds_sum",
      "vllm:inter_token_latency_seconds_count",
      "vllm:time_per_output_token_seconds_sum",
      "vllm:time_per_output_token_seconds_count",
      "vllm:prefix_cache_queries_total",
      "vllm:prefix_cache_hits_total");

  private static double first(Map<String, double[]> sums, String a, String b, boolean average) {
    double[] acc = sums.get(a);
    if (acc == null && b != null) {
      acc = sums.get(b);
    }
    if (acc == null) {
      return -1;
    }
    return average ? acc[0] / acc[1] : acc[0];
  }

  private static int indexOfAny(String s, char a, char b) {
    for (int i = 0; i < s.length(); i++) {
      if (s.charAt(i) == a || s.charAt(i) == b) {
        return i;
      }
    }
    return -1;
  }
}
