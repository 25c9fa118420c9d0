package org.aiguillage.agents;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class MetricsParserTest {

  @Test
  void readsTheRealVllmV0Sample() throws IOException {
    try (InputStream in = getClass().getResourceAsStream("/fixtures/vllm-v0-metrics.txt")) {
      ServerLoad load = MetricsParser.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8));

      assertEquals(new ServerLoad(0, 0, 0.0), load); // it has no inter-token series (no token yet): -1
    }
  }

  @Test
  void readsV1NamesAndSumsTheEnginesOfADataParallelServer() {
    String text = """
        # HELP vllm:num_requests_running Number of requests in model execution batches.
        # TYPE vllm:num_requests_running gauge
        vllm:num_requests_running{engine="0",model_name="openai/gpt-oss-120b"} 12.0
        vllm:num_requests_running{engine="1",model_name="openai/gpt-oss-120b"} 9.0
        vllm:num_requests_waiting{model_name="openai/gpt-oss-120b",engine="0"} 3.0
        vllm:num_requests_waiting{model_name="openai/gpt-oss-120b",engine="1"} 1.0
        vllm:kv_cache_usage_perc{engine="0",model_name="openai/gpt-oss-120b"} 0.5
        vllm:kv_cache_usage_perc{engine="1",model_name="openai/gpt-oss-120b"} 0.7
        vllm:time_to_first_token_seconds_bucket{le="0.1",engine="0",model_name="openai/gpt-oss-120b"} 4.0
        vllm:inter_token_latency_seconds_sum{engine="0",model_name="openai/gpt-oss-120b"} 30.5
        vllm:inter_token_latency_seconds_sum{engine="1",model_name="openai/gpt-oss-120b"} 20.0
        vllm:inter_token_latency_seconds_count{engine="0",model_name="openai/gpt-oss-120b"} 1200.0
        vllm:inter_token_latency_seconds_count{model_name="openai/gpt-oss-120b",engine="1"} 800.0
        """;

    ServerLoad load = MetricsParser.parse(text);
    assertEquals(new ServerLoad(21, 4, 0.6), round(load));
    assertEquals(50.5, load.tokenGapSeconds(), 1e-9);
    assertEquals(2000.0, load.tokenGaps());
  }

  @Test
  void readsTheV0InterTokenHistogram() {
    String text = """
        vllm:num_requests_running{model_name="m"} 3.0
        vllm:time_per_output_token_seconds_bucket{le="0.025",model_name="m"} 90.0
        vllm:time_per_output_token_seconds_sum{model_name="m"} 2.5
        vllm:time_per_output_token_seconds_count{model_name="m"} 100.0
        """;

    ServerLoad load = MetricsParser.parse(text);

    assertEquals(2.5, load.tokenGapSeconds(), 1e-9);
    assertEquals(100.0, load.tokenGaps());
  }

  @Test
  void readsSglangNames() {
    String text = """
        sglang:num_running_reqs{model_name="m"} 7.0
        sglang:num_queue_reqs{model_name="m"} 2.0
        sglang:token_usage{model_name="m"} 0.25
        """;

    assertEquals(new ServerLoad(7, 2, 0.25), MetricsParser.parse(text));
  }

  @Test
  void garbageNeitherBreaksTheParserNorPoisonsTheFigures() {
    String text = """
        vllm:num_requests_running{engine="0",model_name="m"} 4.0
        vllm:num_requests_running{engine="1",model_name="m
        vllm:num_requests_waiting{engine="0",model_name="m"} NaN
        vllm:kv_cache_usage_perc{engine="0"} not-a-number
        vllm:num_requests_waiting
        {}{}{} 12
        \u0000\u0001 binary junk
        """;

    assertEquals(new ServerLoad(4, -1, -1), MetricsParser.parse(text));
  }

  @Test
  void aServerWithoutMetricsIsUnknownNotIdle() {
    assertEquals(ServerLoad.UNKNOWN, MetricsParser.parse(""));
  }

  private static ServerLoad round(ServerLoad l) {
    return new ServerLoad(l.running(), l.waiting(), Math.round(l.kvCacheUsage() * 1000) / 1000.0);
  }
}
