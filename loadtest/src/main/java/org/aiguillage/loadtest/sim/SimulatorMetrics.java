package org.aiguillage.loadtest.sim;

import java.util.Locale;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;

/** What the simulated server exposes at {@code /metrics}, under vLLM v1's names and labels. */
final class SimulatorMetrics {

  /** A Prometheus histogram with vLLM's bucket edges. */
  static final class Histogram {
    private final double[] edges;
    private final LongAdder[] counts;
    private final DoubleAdder sum = new DoubleAdder();
    private final LongAdder count = new LongAdder();

    Histogram(double... edges) {
      this.edges = edges;
      this.counts = new LongAdder[edges.length];
      for (int i = 0; i < edges.length; i++) {
        counts[i] = new LongAdder();
      }
    }

    void observe(double v) {
      for (int i = 0; i < edges.length; i++) {
        if (v <= edges[i]) {
          counts[i].increment();
        }
      }
      sum.add(v);
      count.increment();
    }

    long count() {
      return count.sum();
    }

    void write(StringBuilder sb, String name, String labels) {
      sb.append("# TYPE ").append(name).append(" histogram\n");
      for (int i = 0; i < edges.length; i++) {
        sb.append(name).append("_bucket{").append(labels).append(",le=\"").append(edges[i]).append("\"} ")
            .append(counts[i].sum()).append(".0\n");
      }
      sb.append(name).append("_bucket{").append(labels).append(",le=\"+Inf\"} ").append(count.sum()).append(".0\n");
      sb.append(name).append("_count{").append(labels).append("} ").append(count.sum()).append(".0\n");
      sb.append(name).append("_sum{").append(labels).append("} ").append(fmt(sum.sum())).append('\n');
    }
  }

  /**
   * Only the gauges and counters, no latency histogram: a server behind a metrics filter, or an engine that does
   * not measure its own latencies (SGLang without its metrics flag, Ollama, older engines).
   */
  volatile boolean basic;
  volatile int running;
  volatile int waiting;
  volatile double kvCacheUsage;
  final LongAdder received = new LongAdder();
  final LongAdder aborted = new LongAdder();
  final LongAdder preemptions = new LongAdder();
  final LongAdder prefixQueries = new LongAdder();
  final LongAdder prefixHits = new LongAdder();
  final LongAdder success = new LongAdder();
  final LongAdder promptTokens = new LongAdder();
  final LongAdder generationTokens = new LongAdder();
  final Histogram ttft = new Histogram(0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0,
      2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0);
  final Histogram itl = new Histogram(0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5,
      5.0, 7.5, 10.0, 20.0, 40.0, 80.0);
  final Histogram e2e = new Histogram(0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0,
      60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0);

  String render(String model, SimulatorProfile profile) {
    String labels = "engine=\"0\",model_name=\"" + model + "\"";
    StringBuilder sb = new StringBuilder(4096);
    gauge(sb, "vllm:num_requests_running", "Number of requests in model execution batches.", labels, running);
    gauge(sb, "vllm:num_requests_waiting", "Number of requests waiting to be processed.", labels, waiting);
    gauge(sb, "vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", labels, kvCacheUsage);
    counter(sb, "vllm:num_preemptions_total", labels, preemptions.sum());
    counter(sb, "vllm:prefix_cache_queries_total", labels, prefixQueries.sum());
    counter(sb, "vllm:prefix_cache_hits_total", labels, prefixHits.sum());
    counter(sb, "vllm:prompt_tokens_total", labels, promptTokens.sum());
    counter(sb, "vllm:generation_tokens_total", labels, generationTokens.sum());
    sb.append("# TYPE vllm:request_success_total counter\n");
    sb.append("vllm:request_success_total{").append(labels).append(",finished_reason=\"length\"} ")
        .append(success.sum()).append(".0\n");
    if (!basic) {
      ttft.write(sb, "vllm:time_to_first_token_seconds", labels);
      itl.write(sb, "vllm:inter_token_latency_seconds", labels);
      e2e.write(sb, "vllm:e2e_request_latency_seconds", labels);
    }
    sb.append("# TYPE vllm:cache_config_info gauge\n");
    sb.append("vllm:cache_config_info{block_size=\"16\",cache_dtype=\"auto\",engine=\"0\",num_gpu_blocks=\"")
        .append(profile.kvCacheTokens() / 16).append("\"} 1.0\n");
    return sb.toString();
  }

  private static void gauge(StringBuilder sb, String name, String help, String labels, double value) {
    sb.append("# HELP ").append(name).append(' ').append(help).append('\n');
    sb.append("# TYPE ").append(name).append(" gauge\n");
    sb.append(name).append('{').append(labels).append("} ").append(fmt(value)).append('\n');
  }

  private static void counter(StringBuilder sb, String name, String labels, long value) {
    sb.append("# TYPE ").append(name).append(" counter\n");
    sb.append(name).append('{').append(labels).append("} ").append(value).append(".0\n");
  }

  private static String fmt(double v) {
    return String.format(Locale.ROOT, "%s", v);
  }
}
