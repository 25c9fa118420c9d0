package org.aiguillage.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.errors.RateLimitException;
import com.openai.models.audio.AudioResponseFormat;
import com.openai.models.audio.transcriptions.TranscriptionCreateParams;
import com.openai.models.audio.transcriptions.TranscriptionCreateResponse;
import com.openai.models.audio.translations.TranslationCreateParams;
import com.openai.models.audio.translations.TranslationCreateResponse;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import com.openai.models.models.Model;
import com.openai.models.responses.Response;
import com.openai.models.responses.ResponseCreateParams;
import com.openai.models.responses.ResponseStreamEvent;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.Map;
import java.util.stream.Collectors;
import org.aiguillage.loadtest.sim.SimulatorProfile;
import org.aiguillage.loadtest.sim.Task;
import org.aiguillage.loadtest.sim.VllmSimulator;
import org.aiguillage.protocol.config.FederationConfigParser;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Every API the federation serves, through one node and the official OpenAI Java client where it has the API:
 * a model of each type on simulated vLLM servers, the endpoints each type serves, and the refusal of the others.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ModelTypesOverHttpTest {

  private static final String KEY = "sk-types";
  private static final String ADMIN = "admin-types";
  private static final ObjectMapper JSON = new ObjectMapper();

  private VllmSimulator chatA;
  private VllmSimulator chatB;
  private VllmSimulator embedder;
  private VllmSimulator whisper;
  private VllmSimulator reranker;
  private VllmSimulator embedderOfB;
  private VllmSimulator slowEmbedder;
  private VllmSimulator chatOnly;
  private VllmSimulator smallEmbedder;
  private final ExecutorService users = Executors.newFixedThreadPool(24);
  private AiguillageNode node;
  private OpenAIClient client;
  private final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  void start() {
    SimulatorProfile profile = SimulatorProfile.fast().withMaxModelLen(4096);
    chatA = VllmSimulator.start("served-chat", profile);
    chatB = VllmSimulator.start("served-chat", profile);
    embedder = VllmSimulator.start("BAAI/bge-m3", profile);
    whisper = VllmSimulator.start("openai/whisper-large-v3", profile);
    reranker = VllmSimulator.start("BAAI/bge-reranker-v2-m3", profile);
    embedderOfB = VllmSimulator.start("BAAI/bge-m3", profile);
    // One call at a time, each at least 40 ms: a queue forms.
    slowEmbedder = VllmSimulator.start("slow-embedder", profile.withMaxNumSeqs(1).withFaults(0, 0, 40));
    // A server that runs a chat model: it answers 404 on /v1/embeddings, as vLLM does.
    chatOnly = VllmSimulator.start("small-embedder", profile).serving(Task.GENERATE);
    smallEmbedder = VllmSimulator.start("small-embedder", profile).serving(Task.EMBED);
    node = AiguillageNode.start(FederationConfigParser.parse("""
        http: { host: 127.0.0.1, port: 0 }
        persistence: { url: "jdbc:h2:mem:model-types" }
        admin: { token: %s }
        tokens:
          - { token: %s, name: types, organization: univ-a, priority: 3 }
          - { token: sk-low, name: low, organization: univ-c, priority: 1 }
          - { token: sk-high, name: high, organization: univ-d, priority: 5 }
          - { token: sk-audio, name: audio, organization: univ-a, audio_seconds_per_day: 4 }
        models:
          - name: chat
            model: served-chat
            vllm_servers:
              - { url: %s, organization: univ-a, max_parallel_requests: 8 }
              - { url: %s, organization: univ-b, max_parallel_requests: 8 }
          - name: bge-m3
            model: BAAI/bge-m3
            type: text-embeddings-inference
            vllm_servers:
              - { url: %s, organization: univ-a, max_parallel_requests: 8 }
              - { url: %s, organization: univ-b, max_parallel_requests: 8 }
          - name: embed-queue
            model: slow-embedder
            type: text-embeddings-inference
            priority_aging: off
            vllm_servers: [ { url: %s, organization: shared, max_parallel_requests: 1 } ]
          - name: small-embedder
            type: text-embeddings-inference
            vllm_servers:
              - { url: %s, organization: univ-a, max_parallel_requests: 8 }
              - { url: %s, organization: univ-a, max_parallel_requests: 8 }
          - name: whisper
            model: openai/whisper-large-v3
            type: automatic-speech-recognition
            vllm_servers: [ { url: %s, organization: univ-a, max_parallel_requests: 4 } ]
          - name: whisper-budget
            model: openai/whisper-large-v3
            type: automatic-speech-recognition
            vllm_servers: [ { url: %s, organization: univ-a, max_parallel_requests: 4 } ]
          - name: reranker
            model: BAAI/bge-reranker-v2-m3
            type: text-classification
            vllm_servers: [ { url: %s, organization: univ-a, max_parallel_requests: 8 } ]
        """.formatted(ADMIN, KEY, chatA.baseUrl(), chatB.baseUrl(), embedder.baseUrl(), embedderOfB.baseUrl(),
        slowEmbedder.baseUrl(), chatOnly.baseUrl(), smallEmbedder.baseUrl(), whisper.baseUrl(),
        whisper.baseUrl(), reranker.baseUrl())));
    client = OpenAIOkHttpClient.builder().baseUrl(node.baseUrl() + "/v1").apiKey(KEY).maxRetries(0)
        .timeout(Duration.ofSeconds(30)).build();
  }

  @AfterAll
  void stop() {
    node.close();
    for (VllmSimulator s : List.of(chatA, chatB, embedder, whisper, reranker, embedderOfB, slowEmbedder, chatOnly,
        smallEmbedder)) {
      s.close();
    }
    users.shutdownNow();
  }

  @Test
  void theModelListSaysWhatEachModelServes() {
    Map<String, String> types = client.models().list().data().stream().collect(Collectors.toMap(Model::id,
        m -> String.valueOf(m._additionalProperties().get("type").asString().orElseThrow())));

    assertEquals(Map.of("chat", "text-generation", "bge-m3", "text-embeddings-inference",
        "whisper", "automatic-speech-recognition", "reranker", "text-classification",
        "embed-queue", "text-embeddings-inference", "small-embedder", "text-embeddings-inference",
        "whisper-budget", "automatic-speech-recognition"), types);
  }

  @Test
  void embeddingsAreServedAsFloatsAndAsBase64() throws Exception {
    CreateEmbeddingResponse floats = client.embeddings().create(EmbeddingCreateParams.builder().model("bge-m3")
        .input(EmbeddingCreateParams.Input.ofArrayOfStrings(List.of("a first text", "a second one")))
        .encodingFormat(EmbeddingCreateParams.EncodingFormat.FLOAT).build());

    assertEquals(2, floats.data().size());
    assertEquals(1024, floats.data().get(0).embedding().size());
    assertNotEquals(floats.data().get(0).embedding(), floats.data().get(1).embedding());
    assertEquals(6, floats.usage().promptTokens());

    HttpResponse<String> base64 = post("/v1/embeddings",
        "{\"model\":\"bge-m3\",\"input\":\"a first text\",\"encoding_format\":\"base64\"}");
    assertEquals(200, base64.statusCode(), base64.body());
    byte[] bytes = java.util.Base64.getDecoder().decode(JSON.readTree(base64.body()).at("/data/0/embedding").asText());
    ByteBuffer buffer = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    assertEquals(floats.data().get(0).embedding().get(0), buffer.getFloat(0), 1e-6, "the same text, the same vector");

    HttpResponse<String> tokenIds = post("/v1/embeddings", "{\"model\":\"bge-m3\",\"input\":[[101, 2023, 102]]}");
    assertEquals(200, tokenIds.statusCode(), tokenIds.body());
  }

  @Test
  void transcriptionsAndTranslationsOfARealWavFile() throws Exception {
    Path wav = wav(3.0);
    TranscriptionCreateResponse transcription = client.audio().transcriptions().create(
        TranscriptionCreateParams.builder().model("whisper").file(wav).build());
    String text = transcription.asTranscription().text();
    assertFalse(text.isBlank());
    assertEquals(9, text.split(" ").length, "about 3 words a second of speech in the simulator: " + text);

    TranscriptionCreateResponse verbose = client.audio().transcriptions().create(
        TranscriptionCreateParams.builder().model("whisper").file(wav)
            .responseFormat(AudioResponseFormat.VERBOSE_JSON).build());
    assertEquals(3.0, verbose.asVerbose().duration(), 1e-6);

    TranslationCreateResponse translation = client.audio().translations().create(
        TranslationCreateParams.builder().model("whisper").file(wav).build());
    assertEquals(text, translation.asTranslation().text());

    HttpResponse<String> srt = multipart("/v1/audio/transcriptions", wav, Map.of("model", "whisper",
        "response_format", "srt"));
    assertEquals(200, srt.statusCode(), srt.body());
    assertTrue(srt.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"));
    assertTrue(srt.body().startsWith("1\n00:00:00,000 --> 00:00:03,000\n"), srt.body());

    HttpResponse<String> streamed = multipart("/v1/audio/transcriptions", wav, Map.of("model", "whisper",
        "stream", "true"));
    assertEquals(200, streamed.statusCode(), streamed.body());
    assertTrue(streamed.body().contains("transcription.chunk") && streamed.body().endsWith("data: [DONE]\n\n"));
    assertFalse(streamed.body().contains("\"usage\""), "the usage the dispatcher asked for is not the client's");

    assertAudioAccounted();
  }

  private void assertAudioAccounted() throws Exception {
    long deadline = System.currentTimeMillis() + 10_000;
    JsonNode row = null;
    while (System.currentTimeMillis() < deadline) {
      HttpResponse<String> usage = http.send(HttpRequest.newBuilder(
              URI.create(node.baseUrl() + "/admin/usage?group_by=model"))
          .header("Authorization", "Bearer " + ADMIN).build(), HttpResponse.BodyHandlers.ofString());
      for (JsonNode r : JSON.readTree(usage.body()).path("data")) {
        if (r.path("model").asText().equals("whisper")) {
          row = r;
        }
      }
      if (row != null && row.path("requests").asInt() >= 5) {
        // json and the translation: 3 s as the server said; verbose_json: 3.0; srt and the stream: from the WAV.
        assertEquals(15.0, row.path("audio_seconds").asDouble(), 0.01, row.toString());
        assertEquals(5, row.path("requests").asInt(), row.toString());
        assertEquals(0, row.path("errors").asInt(), row.toString());
        return;
      }
      Thread.sleep(200);
    }
    throw new AssertionError("the usage of model whisper did not reach 5 requests: " + row);
  }

  @Test
  void audioOverTheLimitIsRefusedWithoutHoldingIt() throws Exception {
    long size = 200L << 20;
    System.gc();
    long before = usedHeap();
    InputStream zeros = new InputStream() {
      long left = size;

      @Override
      public int read() {
        return left-- > 0 ? 0 : -1;
      }

      @Override
      public int read(byte[] b, int off, int len) {
        if (left <= 0) {
          return -1;
        }
        int n = (int) Math.min(len, left);
        java.util.Arrays.fill(b, off, off + n, (byte) 0);
        left -= n;
        return n;
      }
    };
    HttpResponse<String> refused = http.send(HttpRequest.newBuilder(
            URI.create(node.baseUrl() + "/v1/audio/transcriptions"))
        .header("Authorization", "Bearer " + KEY)
        .header("Content-Type", "multipart/form-data; boundary=xyz")
        .POST(HttpRequest.BodyPublishers.fromPublisher(HttpRequest.BodyPublishers.ofInputStream(() -> zeros), size))
        .build(), HttpResponse.BodyHandlers.ofString());
    System.gc();
    long after = usedHeap();

    assertEquals(413, refused.statusCode(), refused.body());
    assertEquals("request_too_large", JSON.readTree(refused.body()).at("/error/code").asText());
    assertTrue(after - before < 16L << 20, "the heap grew by " + ((after - before) >> 20) + " MiB");
  }

  @Test
  void responsesWholeAndStreamedAndAFollowUpOnTheServerThatKeepsThePrevious() {
    Response first = client.responses().create(ResponseCreateParams.builder().model("chat")
        .input("tell me about queues").maxOutputTokens(8).build());
    assertTrue(first.id().startsWith("resp_"));
    assertEquals(8, first.usage().orElseThrow().outputTokens());

    // Each simulated server keeps only its own responses and answers 404 for the others'; every follow-up must
    // reach the one that answered.
    String previous = first.id();
    for (int turn = 0; turn < 6; turn++) {
      Response next = client.responses().create(ResponseCreateParams.builder().model("chat")
          .input("and then?").previousResponseId(previous).maxOutputTokens(4).build());
      previous = next.id();
    }

    StringBuilder text = new StringBuilder();
    boolean completed = false;
    try (StreamResponse<ResponseStreamEvent> stream = client.responses().createStreaming(
        ResponseCreateParams.builder().model("chat").input("stream me").maxOutputTokens(6)
            .previousResponseId(previous).build())) {
      for (ResponseStreamEvent event : (Iterable<ResponseStreamEvent>) stream.stream()::iterator) {
        if (event.isOutputTextDelta()) {
          text.append(event.asOutputTextDelta().delta());
        }
        if (event.isCompleted()) {
          completed = true;
          assertEquals(6, event.asCompleted().response().usage().orElseThrow().outputTokens());
        }
      }
    }
    assertTrue(completed);
    assertEquals(6, text.toString().split(" ").length);
  }

  @Test
  void rerankAndScoreInTheShapesVllmServes() throws Exception {
    String documents = "[\"Paris is the capital of France.\",\"Brasilia is the capital of Brazil.\","
        + "\"Bananas are yellow.\"]";
    for (String path : List.of("/v1/rerank", "/v2/rerank")) {
      HttpResponse<String> rerank = post(path, "{\"model\":\"reranker\",\"query\":\"capital of France\","
          + "\"documents\":" + documents + ",\"top_n\":2}");
      assertEquals(200, rerank.statusCode(), rerank.body());
      JsonNode results = JSON.readTree(rerank.body()).get("results");
      assertEquals(2, results.size());
      assertEquals(0, results.get(0).get("index").asInt());
      assertEquals("Paris is the capital of France.", results.get(0).at("/document/text").asText());
      assertTrue(results.get(0).get("relevance_score").asDouble() > results.get(1).get("relevance_score").asDouble());
    }

    HttpResponse<String> score = post("/v1/score", "{\"model\":\"reranker\",\"text_1\":\"capital of France\","
        + "\"text_2\":" + documents + "}");
    assertEquals(200, score.statusCode(), score.body());
    JsonNode data = JSON.readTree(score.body()).get("data");
    assertEquals(3, data.size());
    assertEquals("score", data.get(0).get("object").asText());
    assertTrue(data.get(0).get("score").asDouble() > data.get(2).get("score").asDouble());
  }

  @Test
  void anEndpointItsModelDoesNotServeIsRefusedBeforeAnyServerIsCalled() throws Exception {
    long embedderCalls = embedder.stats().received();
    BadRequestException chatOnEmbedder = assertThrows(BadRequestException.class, () ->
        client.chat().completions().create(com.openai.models.chat.completions.ChatCompletionCreateParams.builder()
            .model("bge-m3").addUserMessage("hi").build()));
    assertTrue(chatOnEmbedder.getMessage().contains("text-embeddings-inference"), chatOnEmbedder.getMessage());
    assertEquals("model_type_mismatch", chatOnEmbedder.code().orElseThrow());
    assertEquals(embedderCalls, embedder.stats().received());

    HttpResponse<String> embeddingsOnChat = post("/v1/embeddings", "{\"model\":\"chat\",\"input\":\"x\"}");
    assertEquals(400, embeddingsOnChat.statusCode());
    assertTrue(embeddingsOnChat.body().contains("text-generation"), embeddingsOnChat.body());

    HttpResponse<String> audioOnReranker = multipart("/v1/audio/transcriptions", wav(0.5),
        Map.of("model", "reranker"));
    assertEquals(400, audioOnReranker.statusCode(), audioOnReranker.body());
    assertTrue(audioOnReranker.body().contains("text-classification"), audioOnReranker.body());

    HttpResponse<String> noFile = post("/v1/rerank", "{\"model\":\"reranker\",\"query\":\"q\"}");
    assertEquals(400, noFile.statusCode());
    assertEquals("documents", JSON.readTree(noFile.body()).at("/error/param").asText());
  }

  @Test
  void priorityAndPrivateRoutingHoldForEmbeddingsAsForChat() throws Exception {
    // Both keys known to the edge first: a key's first request waits for its account, which a high call must not.
    for (String key : List.of("sk-low", "sk-high")) {
      assertEquals(200, embedLater(key, "warm-up", new ConcurrentLinkedQueue<>()).get());
    }
    Queue<String> finished = new ConcurrentLinkedQueue<>();
    List<CompletableFuture<Integer>> calls = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      calls.add(embedLater("sk-low", "low " + i, finished));
    }
    TestProbe.create(node.system()).expectNoMessage(Duration.ofMillis(200)); // the lows fill the server and queue
    String marker = "highs sent";
    finished.add(marker);
    for (int i = 0; i < 4; i++) {
      calls.add(embedLater("sk-high", "high " + i, finished));
    }
    for (CompletableFuture<Integer> c : calls) {
      assertEquals(200, c.get());
    }
    List<String> order = List.copyOf(finished);
    int sent = order.indexOf(marker);
    int lastHigh = Math.max(order.indexOf("high 0"), Math.max(order.indexOf("high 1"), order.indexOf("high 2")));
    long lowsStillWaiting = order.subList(sent, order.size()).stream().filter(e -> e.startsWith("low")).count();
    long overtook = order.subList(sent, lastHigh).stream().filter(e -> e.startsWith("low")).count();
    assertTrue(lowsStillWaiting >= 4, "the server was saturated when the highs came: " + order);
    // At most the low on the server when the highs arrived, and the one already handed to its agent, finish between.
    assertTrue(overtook <= 2, "the high-priority calls went before the waiting low ones: " + order);

    long ofB = embedderOfB.stats().received();
    for (int i = 0; i < 6; i++) {
      HttpResponse<String> mine = post("/v1/embeddings",
          "{\"model\":\"bge-m3\",\"input\":\"mine " + i + "\",\"routing-mode\":\"private-only\"}");
      assertEquals(200, mine.statusCode(), mine.body());
    }
    assertEquals(ofB, embedderOfB.stats().received(), "private-only never reaches another organisation's server");
  }

  private CompletableFuture<Integer> embedLater(String key, String input, Queue<String> finished) {
    return CompletableFuture.supplyAsync(() -> {
      try {
        int status = http.send(HttpRequest.newBuilder(URI.create(node.baseUrl() + "/v1/embeddings"))
            .header("Authorization", "Bearer " + key).header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"embed-queue\",\"input\":\"" + input
                + "\"}")).build(), HttpResponse.BodyHandlers.ofString()).statusCode();
        finished.add(input);
        return status;
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }, users);
  }

  @Test
  void aServerThatDoesNotServeItsModelsPathIsShownAndItsCallsGoElsewhere() throws Exception {
    // Side by side, so that both servers get calls.
    List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>();
    for (int i = 0; i < 16; i++) {
      String body = "{\"model\":\"small-embedder\",\"input\":\"x" + i + "\"}";
      answers.add(CompletableFuture.supplyAsync(() -> {
        try {
          return post("/v1/embeddings", body);
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      }, users));
    }
    for (CompletableFuture<HttpResponse<String>> answer : answers) {
      assertEquals(200, answer.get().statusCode(), answer.get().body());
    }
    HttpResponse<String> models = http.send(HttpRequest.newBuilder(URI.create(node.baseUrl() + "/admin/models"))
        .header("Authorization", "Bearer " + ADMIN).build(), HttpResponse.BodyHandlers.ofString());
    String servers = "";
    for (JsonNode m : JSON.readTree(models.body()).path("data")) {
      if (m.path("name").asText().equals("small-embedder")) {
        servers = m.path("servers").toString();
      }
    }
    assertTrue(servers.contains("\"state\":\"endpoint-missing\""), servers);
  }

  @Test
  void theFleetViewShowsEachServersPrefixCacheHitRateAsItsMetricsSayIt() throws Exception {
    String system = "You answer questions about the federation's GPU servers. ".repeat(30);
    String body = "{\"model\":\"chat\",\"max_tokens\":2,\"messages\":[{\"role\":\"system\",\"content\":\""
        + system + "\"},{\"role\":\"user\",\"content\":\"hello\"}]}";
    for (int i = 0; i < 3; i++) {
      assertEquals(200, post("/v1/chat/completions", body).statusCode());
    }
    double hitRate = -1;
    long deadline = System.currentTimeMillis() + 5_000;
    while (hitRate <= 0 && System.currentTimeMillis() < deadline) {
      Thread.sleep(200); // the agent's next scrape
      HttpResponse<String> models = http.send(HttpRequest.newBuilder(URI.create(node.baseUrl() + "/admin/models"))
          .header("Authorization", "Bearer " + ADMIN).build(), HttpResponse.BodyHandlers.ofString());
      for (JsonNode m : JSON.readTree(models.body()).path("data")) {
        if (m.path("name").asText().equals("chat")) {
          for (JsonNode server : m.path("servers")) {
            hitRate = Math.max(hitRate, server.path("prefix_cache_hit_rate").asDouble(-1));
          }
        }
      }
    }
    // The same prompt four times on the model's two servers (of two organisations: no affinity across them): a
    // server that had it before finds all its full blocks in its cache.
    assertTrue(hitRate >= 0.3 && hitRate < 1, "prefix_cache_hit_rate " + hitRate);
  }

  @Test
  void aKeysAudioBudgetRefusesSpeechToTextOnceSpentAndNothingElse() throws Exception {
    OpenAIClient audioKey = OpenAIOkHttpClient.builder().baseUrl(node.baseUrl() + "/v1").apiKey("sk-audio")
        .maxRetries(0).timeout(Duration.ofSeconds(30)).build();
    Path wav = wav(3.0);
    // A Path's stream is opened with the parameters: one set each call.
    audioKey.audio().transcriptions().create(TranscriptionCreateParams.builder().model("whisper-budget").file(wav).build());
    RateLimitException refused = null;
    long deadline = System.currentTimeMillis() + 5_000;
    while (refused == null && System.currentTimeMillis() < deadline) {
      try {
        // The second is admitted (3 s used of 4), then the third refused.
        audioKey.audio().transcriptions().create(TranscriptionCreateParams.builder().model("whisper-budget")
            .file(wav).build());
      } catch (RateLimitException e) {
        refused = e;
      }
    }
    assertTrue(refused != null && refused.getMessage().contains("audio budget"), String.valueOf(refused));
    assertEquals(1, audioKey.embeddings().create(EmbeddingCreateParams.builder().model("bge-m3").input("still fine")
        .build()).data().size(), "the audio budget bounds audio only");
  }

  @Test
  void aFollowUpOfAResponseWhoseServerIsUnknownGetsTheServersOwn404() {
    assertThrows(NotFoundException.class, () -> client.responses().create(ResponseCreateParams.builder()
        .model("chat").input("x").previousResponseId("resp_never_made").build()));
  }

  // ---- helpers

  private HttpResponse<String> post(String path, String body) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(node.baseUrl() + path))
        .header("Authorization", "Bearer " + KEY).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> multipart(String path, Path file, Map<String, String> fields) throws Exception {
    String boundary = "test-boundary";
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    for (Map.Entry<String, String> f : fields.entrySet()) {
      body.write(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + f.getKey() + "\"\r\n\r\n"
          + f.getValue() + "\r\n").getBytes(StandardCharsets.UTF_8));
    }
    body.write(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"speech.wav\"\r\n"
        + "Content-Type: audio/wav\r\n\r\n").getBytes(StandardCharsets.UTF_8));
    body.write(Files.readAllBytes(file));
    body.write(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
    return http.send(HttpRequest.newBuilder(URI.create(node.baseUrl() + path))
        .header("Authorization", "Bearer " + KEY)
        .header("Content-Type", "multipart/form-data; boundary=" + boundary)
        .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** A real WAV file: 16 kHz, 16-bit mono, a 440 Hz tone of {@code seconds}. */
  static Path wav(double seconds) throws Exception {
    int rate = 16_000;
    int samples = (int) (rate * seconds);
    ByteBuffer b = ByteBuffer.allocate(44 + samples * 2).order(ByteOrder.LITTLE_ENDIAN);
    b.put("RIFF".getBytes(StandardCharsets.US_ASCII)).putInt(36 + samples * 2)
        .put("WAVE".getBytes(StandardCharsets.US_ASCII))
        .put("fmt ".getBytes(StandardCharsets.US_ASCII)).putInt(16).putShort((short) 1).putShort((short) 1)
        .putInt(rate).putInt(rate * 2).putShort((short) 2).putShort((short) 16)
        .put("data".getBytes(StandardCharsets.US_ASCII)).putInt(samples * 2);
    for (int i = 0; i < samples; i++) {
      b.putShort((short) (8000 * Math.sin(2 * Math.PI * 440 * i / rate)));
    }
    Path file = Files.createTempFile("speech-", ".wav");
    file.toFile().deleteOnExit();
    Files.write(file, b.array());
    return file;
  }

  private static long usedHeap() {
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }
}
