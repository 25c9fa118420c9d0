package org.aiguillage.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.anthropic.client.AnthropicClient;
import com.anthropic.client.okhttp.AnthropicOkHttpClient;
import com.anthropic.core.JsonValue;
import com.anthropic.core.http.StreamResponse;
import com.anthropic.errors.RateLimitException;
import com.anthropic.errors.UnauthorizedException;
import com.anthropic.helpers.MessageAccumulator;
import com.anthropic.models.messages.ContentBlock;
import com.anthropic.models.messages.ContentBlockParam;
import com.anthropic.models.messages.Message;
import com.anthropic.models.messages.MessageCountTokensParams;
import com.anthropic.models.messages.MessageCreateParams;
import com.anthropic.models.messages.RawMessageStreamEvent;
import com.anthropic.models.messages.StopReason;
import com.anthropic.models.messages.Tool;
import com.anthropic.models.messages.ToolResultBlockParam;
import com.anthropic.models.messages.ToolUseBlock;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.ollama.OllamaEmbeddingModel;
import io.github.ollama4j.Ollama;
import io.github.ollama4j.models.chat.OllamaChatMessageRole;
import io.github.ollama4j.models.chat.OllamaChatRequest;
import io.github.ollama4j.models.chat.OllamaChatResult;
import io.github.ollama4j.models.generate.OllamaGenerateRequest;
import io.github.ollama4j.models.generate.OllamaGenerateStreamObserver;
import io.github.ollama4j.models.request.ThinkMode;
import io.github.ollama4j.models.response.Model;
import io.github.ollama4j.models.response.OllamaResult;
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
import java.util.Map;
import org.aiguillage.loadtest.sim.SimulatedText;
import org.aiguillage.loadtest.sim.SimulatorProfile;
import org.aiguillage.loadtest.sim.VllmSimulator;
import org.aiguillage.protocol.config.FederationConfigParser;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Clients that speak Anthropic's and Ollama's APIs, with their own libraries (the official anthropic-java SDK,
 * ollama4j), through one node in front of simulated vLLM servers that speak only OpenAI's.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DialectsOverHttpTest {

  private static final String KEY = "sk-dialects";
  private static final ObjectMapper JSON = new ObjectMapper();

  private VllmSimulator chat;
  private VllmSimulator slow;
  private VllmSimulator embedder;
  private AiguillageNode node;
  private AnthropicClient anthropic;
  private Ollama ollama;
  private final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  void start() {
    SimulatorProfile profile = SimulatorProfile.fast().withMaxModelLen(4096);
    chat = VllmSimulator.start("served-chat", profile);
    slow = VllmSimulator.start("slow", profile.withItl(20, 20));
    embedder = VllmSimulator.start("bge-m3", profile);
    node = AiguillageNode.start(FederationConfigParser.parse("""
        http: { host: 127.0.0.1, port: 0 }
        persistence: { url: "jdbc:h2:mem:dialects" }
        tokens:
          - { token: %s, name: dialects, organization: univ-a, priority: 3 }
          - { token: sk-one-a-minute, name: limited, organization: univ-a, requests_per_minute: 1 }
        models:
          - name: chat
            model: served-chat
            vllm_servers: [ { url: %s, organization: univ-a, max_parallel_requests: 16 } ]
          - name: slow
            vllm_servers: [ { url: %s, organization: univ-a, max_parallel_requests: 16 } ]
          - name: bge-m3
            type: text-embeddings-inference
            vllm_servers: [ { url: %s, organization: univ-a, max_parallel_requests: 16 } ]
        """.formatted(KEY, chat.baseUrl(), slow.baseUrl(), embedder.baseUrl())));
    anthropic = anthropic(KEY);
    ollama = new Ollama(node.baseUrl());
    ollama.setBearerAuth(KEY);
    ollama.setRequestTimeoutSeconds(30);
  }

  @AfterAll
  void stop() {
    node.close();
    chat.close();
    slow.close();
    embedder.close();
  }

  private AnthropicClient anthropic(String key) {
    return AnthropicOkHttpClient.builder().baseUrl(node.baseUrl()).apiKey(key).maxRetries(0)
        .timeout(Duration.ofSeconds(30)).build();
  }

  // ---- Anthropic

  private static MessageCreateParams message(String text, long maxTokens) {
    return MessageCreateParams.builder().model("chat").maxTokens(maxTokens).system("be brief")
        .addUserMessage(text).build();
  }

  @Test
  void anthropicMessagesWholeAndStreamedCarryTheSameAnswer() {
    Message whole = anthropic.messages().create(message("tell me about queues", 12));
    String text = whole.content().get(0).asText().text();
    assertEquals(SimulatedText.answer("be brief tell me about queues", 12), text);
    assertEquals(StopReason.MAX_TOKENS, whole.stopReason().orElseThrow());
    assertEquals(12, whole.usage().outputTokens());
    assertTrue(whole.usage().inputTokens() > 0);

    MessageAccumulator accumulator = MessageAccumulator.create();
    List<RawMessageStreamEvent> events = new ArrayList<>();
    try (StreamResponse<RawMessageStreamEvent> stream = anthropic.messages()
        .createStreaming(message("tell me about queues", 12))) {
      stream.stream().forEach(event -> {
        accumulator.accumulate(event);
        events.add(event);
      });
    }
    Message streamed = accumulator.message();
    assertEquals(text, streamed.content().get(0).asText().text());
    assertEquals(12, streamed.usage().outputTokens());
    assertTrue(events.get(0).isMessageStart());
    assertTrue(events.get(events.size() - 1).isMessageStop());
  }

  @Test
  void anthropicToolUseRoundTripWholeAndStreamed() {
    Tool weather = Tool.builder().name("get_weather").description("the weather in a city")
        .inputSchema(Tool.InputSchema.builder().properties(Tool.InputSchema.Properties.builder()
            .putAdditionalProperty("city", JsonValue.from(Map.of("type", "string"))).build())
            .required(List.of("city")).build())
        .build();
    MessageCreateParams ask = MessageCreateParams.builder().model("chat").maxTokens(100).addTool(weather)
        .addUserMessage("Paris").build();

    Message call = anthropic.messages().create(ask);
    assertEquals(StopReason.TOOL_USE, call.stopReason().orElseThrow());
    ToolUseBlock use = call.content().stream().filter(ContentBlock::isToolUse).findFirst().orElseThrow().asToolUse();
    assertEquals("get_weather", use.name());
    assertEquals("Paris", input(use).get("city"));

    Message answer = anthropic.messages().create(ask.toBuilder().addMessage(call.toParam())
        .addUserMessageOfContentBlockParams(List.of(ContentBlockParam.ofToolResult(ToolResultBlockParam.builder()
            .toolUseId(use.id()).content("22 degrees").build())))
        .build());
    assertTrue(answer.content().get(0).isText(), "after the tool's result, the model answers in words");
    assertEquals(StopReason.MAX_TOKENS, answer.stopReason().orElseThrow());

    MessageAccumulator accumulator = MessageAccumulator.create();
    try (StreamResponse<RawMessageStreamEvent> stream = anthropic.messages().createStreaming(ask)) {
      stream.stream().forEach(accumulator::accumulate);
    }
    ToolUseBlock streamed = accumulator.message().content().stream().filter(ContentBlock::isToolUse).findFirst()
        .orElseThrow().asToolUse();
    assertEquals("get_weather", streamed.name());
    assertEquals("Paris", input(streamed).get("city"), "the arguments, sent in pieces, arrive whole");
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> input(ToolUseBlock use) {
    return use._input().convert(Map.class);
  }

  @Test
  void anthropicCountTokensAndErrorsAsTheSdkRaisesThem() {
    long tokens = anthropic.messages().countTokens(MessageCountTokensParams.builder().model("chat")
        .addUserMessage("how many tokens is this?").build()).inputTokens();
    assertTrue(tokens > 0);

    assertThrows(UnauthorizedException.class, () -> anthropic("sk-wrong").messages().create(message("x", 2)));

    AnthropicClient limited = anthropic("sk-one-a-minute");
    limited.messages().create(message("first", 2));
    RateLimitException e = assertThrows(RateLimitException.class, () -> limited.messages().create(message("x", 2)));
    assertEquals(429, e.statusCode());
  }

  @Test
  void anthropicErrorsAreInAnthropicsEnvelope() throws Exception {
    HttpResponse<String> noMaxTokens = post("/v1/messages", "{\"model\":\"chat\",\"messages\":[{\"role\":\"user\","
        + "\"content\":\"hi\"}]}", "x-api-key", KEY);
    assertEquals(400, noMaxTokens.statusCode());
    JsonNode body = JSON.readTree(noMaxTokens.body());
    assertEquals("error", body.get("type").asText());
    assertEquals("invalid_request_error", body.at("/error/type").asText());

    HttpResponse<String> unknownModel = post("/v1/messages", "{\"model\":\"nope\",\"max_tokens\":5,\"messages\":"
        + "[{\"role\":\"user\",\"content\":\"hi\"}]}", "x-api-key", KEY);
    assertEquals(404, unknownModel.statusCode());
    assertEquals("not_found_error", JSON.readTree(unknownModel.body()).at("/error/type").asText());
  }

  // ---- Ollama

  @Test
  void ollamaListsTheModelsAndAnswersItsProbes() throws Exception {
    assertTrue(ollama.ping());
    List<String> names = ollama.listModels().stream().map(Model::getName).toList();
    assertTrue(names.containsAll(List.of("chat", "bge-m3")), names.toString());
    assertFalse(ollama.getVersion().isBlank());

    HttpResponse<String> root = http.send(HttpRequest.newBuilder(URI.create(node.baseUrl() + "/")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals("Ollama is running", root.body());
  }

  @Test
  void ollamaChatWholeAndStreamed() throws Exception {
    OllamaChatRequest request = OllamaChatRequest.builder().withModel("chat")
        .withMessage(OllamaChatMessageRole.USER, "why is the sky blue").build();
    request.setOptions(Map.of("num_predict", 9));
    OllamaChatResult whole = ollama.chat(request, null);
    String expected = SimulatedText.answer("why is the sky blue", 9);
    assertEquals(expected, whole.getResponseModel().getMessage().getResponse());
    assertEquals(9, whole.getResponseModel().getEvalCount());

    StringBuilder tokens = new StringBuilder();
    OllamaChatRequest streamed = OllamaChatRequest.builder().withModel("chat:latest")
        .withMessage(OllamaChatMessageRole.USER, "why is the sky blue").withStreaming().build();
    streamed.setOptions(Map.of("num_predict", 9));
    OllamaChatResult result = ollama.chat(streamed, token -> tokens.append(token.getMessage().getResponse()));
    assertEquals(expected, tokens.toString());
    assertTrue(result.getResponseModel().isDone());
  }

  @Test
  void ollamaGenerateAndEmbed() throws Exception {
    OllamaGenerateRequest generate = OllamaGenerateRequest.builder().withModel("chat").withPrompt("once upon a time")
        .withStreaming(false).withThink(ThinkMode.DISABLED).build();
    generate.setOptions(Map.of("num_predict", 7));
    OllamaResult result = ollama.generate(generate, new OllamaGenerateStreamObserver(null, null));
    assertEquals(SimulatedText.answer("once upon a time", 7), result.getResponse());

    // ollama4j sends no key with /api/embed: langchain4j's Ollama client, with the key as a header.
    OllamaEmbeddingModel embeddings = OllamaEmbeddingModel.builder().baseUrl(node.baseUrl()).modelName("bge-m3")
        .customHeaders(Map.of("Authorization", "Bearer " + KEY)).timeout(Duration.ofSeconds(30)).build();
    List<Embedding> embedded = embeddings.embedAll(List.of(TextSegment.from("one"), TextSegment.from("two")))
        .content();
    assertEquals(2, embedded.size());
    assertEquals(1024, embedded.get(0).dimension());
  }

  @Test
  void ollamaErrorsAreOllamasShape() throws Exception {
    HttpResponse<String> unknown = post("/api/chat", "{\"model\":\"nope\",\"messages\":[{\"role\":\"user\","
        + "\"content\":\"hi\"}]}", "Authorization", "Bearer " + KEY);
    assertEquals(404, unknown.statusCode());
    assertTrue(JSON.readTree(unknown.body()).get("error").isTextual(), unknown.body());

    HttpResponse<String> noKey = http.send(HttpRequest.newBuilder(URI.create(node.baseUrl() + "/api/tags")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(401, noKey.statusCode());
    assertTrue(JSON.readTree(noKey.body()).get("error").isTextual());
  }

  // ---- leaving

  @Test
  void aClientLeavingAnOllamaOrAnthropicStreamAbortsTheGeneration() throws Exception {
    long before = slow.stats().aborted();
    readAFewLinesThenLeave("/api/generate", "{\"model\":\"slow\",\"prompt\":\"a long story\","
        + "\"options\":{\"num_predict\":2000}}", "Authorization", "Bearer " + KEY);
    readAFewLinesThenLeave("/v1/messages", "{\"model\":\"slow\",\"max_tokens\":2000,\"stream\":true,"
        + "\"messages\":[{\"role\":\"user\",\"content\":\"a long story\"}]}", "x-api-key", KEY);

    long deadline = System.currentTimeMillis() + 10_000;
    while (slow.stats().aborted() < before + 2 && System.currentTimeMillis() < deadline) {
      Thread.sleep(50);
    }
    assertEquals(before + 2, slow.stats().aborted(), "both generations aborted on the server");
  }

  private void readAFewLinesThenLeave(String path, String body, String header, String value) throws Exception {
    HttpResponse<InputStream> response = http.send(HttpRequest.newBuilder(URI.create(node.baseUrl() + path))
        .header(header, value).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofInputStream());
    assertEquals(200, response.statusCode());
    try (InputStream in = response.body()) {
      BufferedReader lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
      for (int i = 0; i < 5; i++) {
        lines.readLine();
      }
    }
  }

  private HttpResponse<String> post(String path, String body, String header, String value) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(node.baseUrl() + path)).header(header, value)
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
