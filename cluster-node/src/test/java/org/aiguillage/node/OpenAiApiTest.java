package org.aiguillage.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.InternalServerException;
import com.openai.errors.NotFoundException;
import com.openai.errors.UnauthorizedException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.models.Model;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Collectors;
import org.aiguillage.loadtest.sim.SimulatedText;
import org.aiguillage.loadtest.sim.SimulatorProfile;
import org.aiguillage.loadtest.sim.VllmSimulator;
import org.aiguillage.protocol.config.FederationConfigParser;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The OpenAI API of one node, over real HTTP, with the official OpenAI Java client, in front of two simulated vLLM
 * servers.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OpenAiApiTest {

  private static final String KEY = "sk-test-univ-a";
  private static final ObjectMapper JSON = new ObjectMapper();

  private VllmSimulator serverA;
  private VllmSimulator serverB;
  private AiguillageNode node;
  private OpenAIClient client;
  private final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  void start() {
    SimulatorProfile profile = SimulatorProfile.fast().withMaxModelLen(4096);
    serverA = VllmSimulator.start("org/served-model", profile);
    serverB = VllmSimulator.start("org/served-model", profile);
    node = AiguillageNode.start(FederationConfigParser.parse("""
        http: { host: 127.0.0.1, port: 0, max_body_bytes: 65536 }
        persistence: { url: "jdbc:h2:mem:openai-api" }
        tokens:
          - { token: %s, name: test, organization: univ-a, priority: 3 }
        models:
          - name: chat-model
            model: org/served-model
            routing_strategy: least-busy
            vllm_servers:
              - { url: %s, organization: univ-a, max_parallel_requests: 32 }
              - { url: %s, organization: univ-b, max_parallel_requests: 32 }
          - name: empty-model
        """.formatted(KEY, serverA.baseUrl(), serverB.baseUrl())));
    client = clientWithKey(KEY);
  }

  @AfterAll
  void stop() {
    node.close();
    serverA.close();
    serverB.close();
  }

  private OpenAIClient clientWithKey(String key) {
    return OpenAIOkHttpClient.builder().baseUrl(node.baseUrl() + "/v1").apiKey(key).maxRetries(0)
        .timeout(Duration.ofSeconds(30)).build();
  }

  private static ChatCompletionCreateParams chat(String prompt, long maxTokens) {
    return ChatCompletionCreateParams.builder().model("chat-model").addUserMessage(prompt)
        .maxCompletionTokens(maxTokens).build();
  }

  @Test
  void wholeChatCompletionCarriesTheServersAnswerAndUsage() {
    ChatCompletion completion = client.chat().completions().create(chat("tell me about queues", 12));

    assertEquals(SimulatedText.answer("tell me about queues", 12),
        completion.choices().get(0).message().content().orElseThrow());
    assertEquals(12, completion.usage().orElseThrow().completionTokens());
    assertEquals(4 + 4, completion.usage().orElseThrow().promptTokens()); // 4 words + the chat template's 4
  }

  @Test
  void streamedChatCompletionDeliversEveryTokenInOrderWithoutAnUnaskedUsageChunk() {
    List<ChatCompletionChunk> chunks;
    try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions()
        .createStreaming(chat("stream me a story", 20))) {
      chunks = stream.stream().toList();
    }

    String content = chunks.stream().flatMap(c -> c.choices().stream())
        .map(c -> c.delta().content().orElse("")).collect(Collectors.joining());
    assertEquals(SimulatedText.answer("stream me a story", 20), content);
    assertTrue(chunks.stream().allMatch(c -> c.usage().isEmpty()), "no usage chunk unless the client asked");
    assertTrue(chunks.stream().flatMap(c -> c.choices().stream()).anyMatch(c -> c.finishReason().isPresent()));
  }

  @Test
  void streamedChatCompletionEndsWithUsageWhenTheClientAsksForIt() {
    ChatCompletionCreateParams params = chat("count my tokens", 7).toBuilder()
        .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build();
    List<ChatCompletionChunk> chunks;
    try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(params)) {
      chunks = stream.stream().toList();
    }

    ChatCompletionChunk last = chunks.get(chunks.size() - 1);
    assertEquals(7, last.usage().orElseThrow().completionTokens());
    assertEquals(3 + 4, last.usage().orElseThrow().promptTokens());
  }

  @Test
  void textCompletionsAreServedWholeAndStreamed() {
    CompletionCreateParams params = CompletionCreateParams.builder().model("chat-model").prompt("once upon a time")
        .maxTokens(9).build();

    Completion whole = client.completions().create(params);
    String streamed;
    try (StreamResponse<Completion> stream = client.completions().createStreaming(params)) {
      streamed = stream.stream().flatMap(c -> c.choices().stream()).map(c -> c.text())
          .collect(Collectors.joining());
    }

    assertEquals(SimulatedText.answer("once upon a time", 9), whole.choices().get(0).text());
    assertEquals(whole.choices().get(0).text(), streamed);
  }

  @Test
  void modelsAreListedAndLookedUpByTheirClientFacingName() {
    List<String> ids = client.models().list().data().stream().map(Model::id).toList();

    assertEquals(List.of("chat-model", "empty-model"), ids);
    assertEquals("chat-model", client.models().retrieve("chat-model").id());
    assertThrows(NotFoundException.class, () -> client.models().retrieve("no-such-model"));
  }

  @Test
  void fiftyConcurrentStreamsAllCompleteWithTheirOwnAnswers() throws Exception {
    ExecutorService users = Executors.newFixedThreadPool(50);
    try {
      List<CompletableFuture<String>> answers = new ArrayList<>();
      for (int i = 0; i < 50; i++) {
        String prompt = "user " + i + " asks";
        answers.add(CompletableFuture.supplyAsync(() -> {
          try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions()
              .createStreaming(chat(prompt, 24))) {
            return stream.stream().flatMap(c -> c.choices().stream())
                .map(c -> c.delta().content().orElse("")).collect(Collectors.joining());
          }
        }, users));
      }
      for (int i = 0; i < 50; i++) {
        assertEquals(SimulatedText.answer("user " + i + " asks", 24), answers.get(i).get());
      }
    } finally {
      users.shutdownNow();
    }
  }

  @Test
  void aClientThatLeavesMidStreamAbortsTheGenerationOnTheServer() {
    long abortedBefore = serverA.stats().aborted() + serverB.stats().aborted();
    long generatedBefore = serverA.stats().generationTokens() + serverB.stats().generationTokens();
    try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions()
        .createStreaming(chat("a very long answer please", 3000))) {
      Iterator<ChatCompletionChunk> chunks = stream.stream().iterator();
      for (int i = 0; i < 5; i++) {
        chunks.next();
      }
    } // closing the stream closes the client's connection

    TestProbe<Void> probe = TestProbe.create(node.system());
    probe.awaitAssert(Duration.ofSeconds(10), () -> {
      assertEquals(abortedBefore + 1, serverA.stats().aborted() + serverB.stats().aborted());
      return null;
    });
    long generated = serverA.stats().generationTokens() + serverB.stats().generationTokens() - generatedBefore;
    assertTrue(generated < 3000, "the server stopped generating, produced " + generated);
  }

  // ---- errors, in the OpenAI envelope

  @Test
  void aMissingOrUnknownKeyIsUnauthorized() throws Exception {
    UnauthorizedException unknown = assertThrows(UnauthorizedException.class,
        () -> clientWithKey("sk-not-a-key").chat().completions().create(chat("hi", 1)));
    assertEquals(401, unknown.statusCode());

    HttpResponse<String> missing = post("/v1/chat/completions", null, "{\"model\":\"chat-model\"}");
    assertEquals(401, missing.statusCode());
    assertEnvelope(missing.body(), "authentication_error");
  }

  @Test
  void anUnknownModelIsNotFound() {
    NotFoundException e = assertThrows(NotFoundException.class, () -> client.chat().completions().create(
        chat("hi", 1).toBuilder().model("gpt-17").build()));

    assertEquals("model_not_found", e.code().orElseThrow());
    assertEquals("model", e.param().orElseThrow());
  }

  @Test
  void malformedJsonAndMissingFieldsAreBadRequests() throws Exception {
    HttpResponse<String> malformed = post("/v1/chat/completions", KEY, "{\"model\": \"chat-model\", ");
    assertEquals(400, malformed.statusCode());
    assertEnvelope(malformed.body(), "invalid_request_error");

    HttpResponse<String> noModel = post("/v1/chat/completions", KEY, "{\"messages\":[{\"role\":\"user\"}]}");
    assertEquals(400, noModel.statusCode());
    assertEquals("model", JSON.readTree(noModel.body()).path("error").path("param").asText());

    HttpResponse<String> noMessages = post("/v1/chat/completions", KEY, "{\"model\":\"chat-model\"}");
    assertEquals(400, noMessages.statusCode());
    assertEquals("messages", JSON.readTree(noMessages.body()).path("error").path("param").asText());

    HttpResponse<String> noPrompt = post("/v1/completions", KEY, "{\"model\":\"chat-model\"}");
    assertEquals(400, noPrompt.statusCode());
    assertEquals("prompt", JSON.readTree(noPrompt.body()).path("error").path("param").asText());
  }

  @Test
  void anOversizedBodyIsRefusedWith413() throws Exception {
    String big = "{\"model\":\"chat-model\",\"messages\":[{\"role\":\"user\",\"content\":\"" + "x".repeat(70_000)
        + "\"}]}";

    HttpResponse<String> response = post("/v1/chat/completions", KEY, big);

    assertEquals(413, response.statusCode());
    assertEnvelope(response.body(), "invalid_request_error");
  }

  @Test
  void aClientStillSendingAnOversizedBodyReadsThe413InsteadOfAReset() throws Exception {
    // Megabytes over the limit, more than the sockets buffer: an answer sent before the body is read, then a close,
    // would reach this client as a connection reset while it still writes.
    byte[] big = ("{\"model\":\"chat-model\",\"messages\":[{\"role\":\"user\",\"content\":\""
        + "x".repeat(8 << 20) + "\"}]}").getBytes(StandardCharsets.UTF_8);

    for (int i = 0; i < 3; i++) {
      HttpResponse<String> sized = http.send(HttpRequest.newBuilder(URI.create(node.baseUrl()
          + "/v1/chat/completions")).header("Authorization", "Bearer " + KEY)
          .POST(HttpRequest.BodyPublishers.ofByteArray(big)).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(413, sized.statusCode());
      assertEnvelope(sized.body(), "invalid_request_error");
    }

    HttpResponse<String> chunked = http.send(HttpRequest.newBuilder(URI.create(node.baseUrl()
        + "/v1/chat/completions")).header("Authorization", "Bearer " + KEY)
        .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(big))).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(413, chunked.statusCode());
    assertEnvelope(chunked.body(), "invalid_request_error");
  }

  @Test
  void withoutAnAdminTokenTheAdminApiIsClosed() throws Exception {
    HttpResponse<String> response = post("/admin/keys", KEY, "{\"name\":\"x\",\"organization\":\"o\"}");

    assertEquals(403, response.statusCode());
    assertEnvelope(response.body(), "permission_error");
  }

  @Test
  void theWrongMethodIs405() throws Exception {
    HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(node.baseUrl()
        + "/v1/chat/completions")).header("Authorization", "Bearer " + KEY).GET().build(),
        HttpResponse.BodyHandlers.ofString());

    assertEquals(405, response.statusCode());
    assertEquals("POST", response.headers().firstValue("Allow").orElseThrow());
    assertEnvelope(response.body(), "invalid_request_error");
  }

  @Test
  void aModelWithNoServerIs503WithRetryAfter() throws Exception {
    assertThrows(InternalServerException.class, () -> client.chat().completions().create(
        chat("hi", 1).toBuilder().model("empty-model").build()));

    HttpResponse<String> response = post("/v1/chat/completions", KEY,
        "{\"model\":\"empty-model\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    assertEquals(503, response.statusCode());
    assertTrue(response.headers().firstValue("Retry-After").isPresent());
    assertEnvelope(response.body(), "server_error");
  }

  @Test
  void theServersOwnErrorReachesTheClientWithItsStatusAndMessage() {
    BadRequestException e = assertThrows(BadRequestException.class,
        () -> client.chat().completions().create(chat("too long", 10_000)));

    assertEquals(400, e.statusCode());
    assertTrue(e.getMessage().contains("maximum context length is 4096"), e.getMessage());
  }

  @Test
  void everyFieldTheDispatcherDoesNotModelReachesTheServer() throws Exception {
    // vLLM rejects unknown fields of the wrong type; the simulator echoes none, so check what it accepts:
    // a request full of fields we do not model is served, not refused or stripped into an error.
    HttpResponse<String> response = post("/v1/chat/completions", KEY, """
        {"model":"chat-model","messages":[{"role":"user","content":"tools please"}],"max_tokens":3,
         "temperature":0.2,"top_p":0.9,"logprobs":false,"response_format":{"type":"text"},
         "tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"tool_choice":"none",
         "seed":7,"user":"student-42","priority":1,"routing-mode":"any"}""");

    assertEquals(200, response.statusCode(), response.body());
    assertEquals(SimulatedText.answer("tools please", 3),
        JSON.readTree(response.body()).path("choices").get(0).path("message").path("content").asText());
  }

  @Test
  void prometheusMetricsCountRequestsByModelAndStatusAndTimeQueueWaitAndTtft() throws Exception {
    client.chat().completions().create(chat("measure me", 2));
    TestProbe<Void> probe = TestProbe.create(node.system());

    String metrics = probe.awaitAssert(Duration.ofSeconds(10), () -> {
      String text = get("/metrics");
      assertTrue(text.contains("aiguillage_requests_total{"), text);
      assertTrue(text.contains("aiguillage_queue_wait_seconds_bucket{"), text);
      assertTrue(text.contains("aiguillage_ttft_seconds_bucket{"), text);
      return text;
    });
    assertTrue(metrics.lines().anyMatch(l -> l.startsWith("aiguillage_requests_total{")
        && l.contains("model=\"chat-model\"") && l.contains("status=\"200\"")), metrics);
  }

  @Test
  void prometheusMetricsShowTheProcessHeapAfterCollectionThreadsAndDescriptors() throws Exception {
    String metrics = get("/metrics");
    for (String series : List.of("jvm_memory_used_bytes{area=\"heap\"} ", "jvm_memory_max_bytes{area=\"heap\"} ",
        "jvm_memory_pool_collection_used_bytes{pool=", "jvm_gc_collection_seconds_count{gc=", "jvm_threads_current ",
        "process_open_fds ", "process_resident_memory_bytes ", "process_cpu_seconds_total ")) {
      assertTrue(metrics.lines().anyMatch(l -> l.startsWith(series) && l.matches(".* [0-9.]+$")),
          series + " in:\n" + metrics);
    }
  }

  private HttpResponse<String> post(String path, String key, String body) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(node.baseUrl() + path))
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
    if (key != null) {
      request.header("Authorization", "Bearer " + key);
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private String get(String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(node.baseUrl() + path)).build(),
        HttpResponse.BodyHandlers.ofString()).body();
  }

  private static void assertEnvelope(String body, String type) throws Exception {
    JsonNode error = JSON.readTree(body).path("error");
    assertTrue(error.isObject(), body);
    assertFalse(error.path("message").asText().isBlank(), body);
    assertEquals(type, error.path("type").asText(), body);
    assertTrue(error.has("param") && error.has("code"), body);
  }
}
