package org.aiguillage.agents;

import java.util.HashMap;
import java.util.Map;

/**
 * Reads the load of a server from its Prometheus text: vLLM v1 ({@code vllm:kv_cache_usage_perc}) and v0
 * ({@code vllm:gpu_cache_usage_perc}) names, summed over the {@code engine} series of a data-parallel server, and
 * SGLang's names. Lines it cannot read (truncated, NaN, unknown) are skipped, never fatal.
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
      if (!WANTED.containsKey(name)) {
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
    return new ServerLoad(running, waiting, kv);
  }

  private static final Map<String, Boolean> WANTED = Map.of(
      "vllm:num_requests_running", true,
      "vllm:num_requests_waiting", true,
      "vllm:kv_cache_usage_perc", true,
      "vllm:gpu_cache_usage_perc", true,
      "sglang:num_running_reqs", true,
      "sglang:num_queue_reqs", true,
      "sglang:token_usage", true);

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
