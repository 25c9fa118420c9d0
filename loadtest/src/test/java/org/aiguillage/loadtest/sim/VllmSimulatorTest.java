package org.aiguillage.loadtest.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** The simulator must behave like vLLM where a dispatcher can see it. */
class VllmSimulatorTest {

  private final HttpClient http = HttpClient.newHttpClient();

  private CompletableFuture<HttpResponse<String>> post(VllmSimulator sim, String body) {
    return http.sendAsync(HttpRequest.newBuilder(URI.create(sim.baseUrl() + "/v1/chat/completions"))
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private static String chat(String content, int maxTokens, boolean stream) {
    return "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"" + content + "\"}],\"max_tokens\":"
        + maxTokens + ",\"stream\":" + stream + "}";
  }

  @Test
  void atMostMaxNumSeqsRequestsDecodeAtOnceAndTheRestWait() throws Exception {
    try (VllmSimulator sim = VllmSimulator.start("m", SimulatorProfile.fast().withMaxNumSeqs(2))) {
      List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        calls.add(post(sim, chat("q" + i, 40, false)));
      }
      for (CompletableFuture<HttpResponse<String>> call : calls) {
        assertEquals(200, call.get().statusCode());
      }

      assertEquals(2, sim.stats().peakRunning());
      assertEquals(6, sim.stats().completed());
    }
  }

  @Test
  void streamsVllmsChunkShapeRoleFirstThenTokensThenUsageThenDone() throws Exception {
    try (VllmSimulator sim = VllmSimulator.start("m", SimulatorProfile.fast())) {
      String body = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":3,"
          + "\"stream\":true,\"stream_options\":{\"include_usage\":true}}";
      List<String> events = post(sim, body).get().body().lines().filter(l -> !l.isEmpty()).toList();

      assertEquals(6, events.size(), events.toString());
      assertTrue(events.get(0).contains("\"delta\":{\"role\":\"assistant\",\"content\":\"\"}"));
      assertTrue(events.get(3).contains("\"finish_reason\":\"length\""));
      assertTrue(events.get(4).contains("\"choices\":[],\"usage\":{\"prompt_tokens\":5"));
      assertEquals("data: [DONE]", events.get(5));
    }
  }

  @Test
  void exposesVllmV1MetricNames() throws Exception {
    try (VllmSimulator sim = VllmSimulator.start("m", SimulatorProfile.fast())) {
      post(sim, chat("hi", 2, false)).get();
      String metrics = http.send(HttpRequest.newBuilder(URI.create(sim.baseUrl() + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString()).body();

      for (String name : List.of("vllm:num_requests_running{", "vllm:num_requests_waiting{",
          "vllm:kv_cache_usage_perc{", "vllm:time_to_first_token_seconds_bucket{", "vllm:generation_tokens_total{",
          "vllm:inter_token_latency_seconds_count{", "vllm:cache_config_info{")) {
        assertTrue(metrics.contains(name), name);
      }
      assertTrue(metrics.contains("engine=\"0\",model_name=\"m\""));
    }
  }

  @Test
  void withBasicMetricsShowsGaugesAndCountersButNoLatencyHistogram() throws Exception {
    try (VllmSimulator sim = VllmSimulator.start("m", SimulatorProfile.fast()).basicMetrics()) {
      post(sim, chat("hi", 2, false)).get();
      String metrics = http.send(HttpRequest.newBuilder(URI.create(sim.baseUrl() + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString()).body();

      for (String name : List.of("vllm:num_requests_running{", "vllm:num_requests_waiting{",
          "vllm:kv_cache_usage_perc{", "vllm:generation_tokens_total{", "vllm:request_success_total{")) {
        assertTrue(metrics.contains(name), name);
      }
      assertFalse(metrics.contains("_seconds_"), metrics);
    }
  }

  private String gauge(VllmSimulator sim, String name) throws Exception {
    String metrics = http.send(HttpRequest.newBuilder(URI.create(sim.baseUrl() + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString()).body();
    return metrics.lines().filter(l -> l.startsWith(name + "{")).findFirst().orElseThrow().replaceAll(".* ", "");
  }

  @Test
  void likeVllmCountsARequestWaitingOnlyWhenAnEngineStepCouldNotTakeIt() throws Exception {
    // Steps of 400 ms: a request that arrives during one is taken by the next, and is never reported waiting.
    try (VllmSimulator sim = VllmSimulator.start("m", SimulatorProfile.fast().withItl(400, 400))) {
      post(sim, chat("first", 20, false));
      Thread.sleep(100);
      post(sim, chat("second", 20, false));
      Thread.sleep(100);

      assertEquals("0.0", gauge(sim, "vllm:num_requests_waiting"));
      assertEquals("1.0", gauge(sim, "vllm:num_requests_running"));
    }
    // One sequence at a time: the second stays waiting after the next step, and is reported so.
    try (VllmSimulator sim = VllmSimulator.start("m", SimulatorProfile.fast().withItl(400, 400).withMaxNumSeqs(1))) {
      post(sim, chat("first", 20, false));
      Thread.sleep(100);
      post(sim, chat("second", 20, false));
      Thread.sleep(600);

      assertEquals("1.0", gauge(sim, "vllm:num_requests_waiting"));
    }
  }

  @Test
  void aClientThatDisconnectsMidStreamAbortsTheGeneration() throws Exception {
    try (VllmSimulator sim = VllmSimulator.start("m", SimulatorProfile.fast())) {
      HttpResponse<InputStream> response = http.send(
          HttpRequest.newBuilder(URI.create(sim.baseUrl() + "/v1/chat/completions"))
              .POST(HttpRequest.BodyPublishers.ofString(chat("long", 5000, true))).build(),
          HttpResponse.BodyHandlers.ofInputStream());
      BufferedReader reader = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8));
      reader.readLine();
      reader.close();

      long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
      while (sim.stats().aborted() == 0 && System.nanoTime() < deadline) {
        java.util.concurrent.locks.LockSupport.parkNanos(10_000_000);
      }
      assertEquals(1, sim.stats().aborted());
      assertEquals(0, sim.stats().running());
      assertTrue(sim.stats().generationTokens() < 5000);
    }
  }

  @Test
  void refusesWhatVllmRefuses() throws Exception {
    try (VllmSimulator sim = VllmSimulator.start("127.0.0.1", 0, "m", SimulatorProfile.fast().withMaxModelLen(100),
        Optional.of("server-token"))) {
      assertEquals(401, post(sim, chat("hi", 1, false)).get().statusCode());
      HttpResponse<String> tooLong = http.send(HttpRequest.newBuilder(URI.create(sim.baseUrl()
          + "/v1/chat/completions")).header("Authorization", "Bearer server-token")
          .POST(HttpRequest.BodyPublishers.ofString(chat("hi", 500, false))).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(400, tooLong.statusCode());
      assertTrue(tooLong.body().contains("maximum context length is 100 tokens"));
    }
  }

  @Test
  void preemptionsAreCountedAsVllmCountsThem() throws Exception {
    // Four blocks of 16 tokens: two short prompts fit, their answers (47 tokens each, 3 blocks) do not.
    try (VllmSimulator sim = VllmSimulator.start("m", SimulatorProfile.fast().withKvCacheTokens(64))) {
      List<CompletableFuture<HttpResponse<String>>> calls = List.of(post(sim, chat("a b c", 40, false)),
          post(sim, chat("d e f", 40, false)));
      for (CompletableFuture<HttpResponse<String>> call : calls) {
        assertEquals(200, call.get().statusCode());
        assertTrue(call.get().body().contains("\"completion_tokens\":40"), call.get().body());
      }
      String metrics = http.send(HttpRequest.newBuilder(URI.create(sim.baseUrl() + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString()).body();
      assertTrue(metrics.lines().anyMatch(l -> l.startsWith("vllm:num_preemptions_total{") && !l.endsWith(" 0.0")),
          metrics);
      assertTrue(metrics.contains("num_gpu_blocks=\"4\""), metrics);
    }
  }


  @Test
  void aConversationsNextTurnFindsItsPrefixCachedAsVllmsCountersSay() throws Exception {
    // 0.5 ms per prompt token: a 2,000-token system prompt takes a second to prefill.
    SimulatorProfile slowPrefill = SimulatorProfile.of(1_000_000, 0, 0.5, 1, 2, 1, 0, 8192);
    String system = String.join(" ", java.util.stream.IntStream.range(0, 2000).mapToObj(i -> "rule" + i).toList());
    String firstTurn = "{\"model\":\"m\",\"max_tokens\":2,\"messages\":[{\"role\":\"system\",\"content\":\""
        + system + "\"},{\"role\":\"user\",\"content\":\"hello\"}]}";
    String nextTurn = "{\"model\":\"m\",\"max_tokens\":2,\"messages\":[{\"role\":\"system\",\"content\":\""
        + system + "\"},{\"role\":\"user\",\"content\":\"hello\"},{\"role\":\"assistant\",\"content\":\"hi "
        + "there\"},{\"role\":\"user\",\"content\":\"and then?\"}]}";
    try (VllmSimulator sim = VllmSimulator.start("m", slowPrefill)) {
      long start = System.nanoTime();
      assertEquals(200, post(sim, firstTurn).get().statusCode());
      long firstMs = (System.nanoTime() - start) / 1_000_000;
      start = System.nanoTime();
      assertEquals(200, post(sim, nextTurn).get().statusCode());
      long nextMs = (System.nanoTime() - start) / 1_000_000;

      assertTrue(firstMs >= 1000, "the first turn computes its whole prompt: " + firstMs + " ms");
      assertTrue(nextMs < firstMs / 4, "the next turn only what follows the cached blocks: " + nextMs + " ms");
      long hits = (long) Double.parseDouble(gauge(sim, "vllm:prefix_cache_hits_total"));
      long queries = (long) Double.parseDouble(gauge(sim, "vllm:prefix_cache_queries_total"));
      assertEquals(2009 + 2021, queries, "both prompts' tokens, 4 a message");
      assertEquals(2000, hits, "the first prompt's full blocks (125 of 16 tokens)");
    }
  }
}
