package org.aiguillage.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.HttpResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.models.batches.Batch;
import com.openai.models.batches.BatchCreateParams;
import com.openai.models.batches.BatchListPage;
import com.openai.models.batches.BatchListParams;
import com.openai.models.files.FileCreateParams;
import com.openai.models.files.FileObject;
import com.openai.models.files.FilePurpose;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.aiguillage.actors.accounts.KeyAccount;
import org.aiguillage.actors.edge.ApiKey;
import org.aiguillage.loadtest.sim.SimulatedText;
import org.aiguillage.loadtest.sim.SimulatorProfile;
import org.aiguillage.loadtest.sim.VllmSimulator;
import org.aiguillage.protocol.RoutingMode;
import org.aiguillage.protocol.config.FederationConfigParser;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * OpenAI's Batch API on one node, over real HTTP, with the official OpenAI Java client: files uploaded, batches run
 * to their output and error files, cancelled, listed page by page, refused line by line.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BatchApiTest {

  private static final String KEY = "sk-batch-univ-a";
  private static final String OTHER_ORGANIZATION = "sk-batch-univ-b";
  private static final String CHAT_ONLY = "sk-batch-chat-only";
  private static final String SMALL_BUDGET = "sk-batch-small-budget";
  private static final ObjectMapper JSON = new ObjectMapper();

  private VllmSimulator fast;
  private VllmSimulator slow;
  private AiguillageNode node;
  private OpenAIClient client;

  @BeforeAll
  void start() {
    fast = VllmSimulator.start("org/chat", SimulatorProfile.fast().withMaxModelLen(4096));
    slow = VllmSimulator.start("org/slow", SimulatorProfile.steady(20));
    node = AiguillageNode.start(FederationConfigParser.parse("""
        http: { host: 127.0.0.1, port: 0 }
        admin: { token: batch-admin }
        persistence: { url: "jdbc:h2:mem:batch-api" }
        batch: { price_factor: 0.5 }
        tokens:
          - { token: %s, name: a, organization: univ-a, priority: 3 }
          - { token: %s, name: b, organization: univ-b, priority: 3 }
          - { token: %s, name: c, organization: univ-a, priority: 3, models: [chat-model] }
          - { token: %s, name: d, organization: univ-d, priority: 3, token_budget: 100 }
        models:
          - name: chat-model
            model: org/chat
            vllm_servers:
              - { url: %s, organization: univ-a, max_parallel_requests: 16 }
          - name: slow-model
            model: org/slow
            vllm_servers:
              - { url: %s, organization: univ-a, max_parallel_requests: 4 }
          - name: embeddings-model
            type: text-embeddings-inference
            model: org/chat
            vllm_servers:
              - { url: %s, organization: univ-a, max_parallel_requests: 4 }
        """.formatted(KEY, OTHER_ORGANIZATION, CHAT_ONLY, SMALL_BUDGET, fast.baseUrl(), slow.baseUrl(), fast.baseUrl())));
    client = clientWithKey(KEY);
  }

  @AfterAll
  void stop() {
    node.close();
    fast.close();
    slow.close();
  }

  private OpenAIClient clientWithKey(String key) {
    return OpenAIOkHttpClient.builder().baseUrl(node.baseUrl() + "/v1").apiKey(key).maxRetries(0)
        .timeout(Duration.ofSeconds(30)).build();
  }

  private static String chatLine(String customId, String model, String prompt, int maxTokens) {
    return "{\"custom_id\":\"" + customId + "\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":"
        + "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"" + prompt + "\"}],"
        + "\"max_tokens\":" + maxTokens + "}}";
  }

  private FileObject upload(OpenAIClient as, List<String> lines) {
    return as.files().create(FileCreateParams.builder().purpose(FilePurpose.BATCH)
        .file((String.join("\n", lines) + "\n").getBytes(StandardCharsets.UTF_8)).build());
  }

  private Batch create(String fileId) {
    return client.batches().create(BatchCreateParams.builder().inputFileId(fileId)
        .endpoint(BatchCreateParams.Endpoint.V1_CHAT_COMPLETIONS)
        .completionWindow(BatchCreateParams.CompletionWindow._24H).build());
  }

  private Batch awaitStatus(String batchId, String... statuses) {
    return awaitStatus(client, batchId, statuses);
  }

  private Batch awaitStatus(OpenAIClient as, String batchId, String... statuses) {
    long until = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    Batch batch;
    do {
      batch = as.batches().retrieve(batchId);
      for (String s : statuses) {
        if (batch.status().toString().equals(s)) {
          return batch;
        }
      }
      sleep(100);
    } while (System.nanoTime() < until);
    throw new AssertionError("batch " + batchId + " still " + batch.status() + " after 60 s");
  }

  private List<JsonNode> lines(String fileId) {
    return lines(client, fileId);
  }

  private List<JsonNode> lines(OpenAIClient as, String fileId) {
    try (HttpResponse content = as.files().content(fileId)) {
      List<JsonNode> out = new ArrayList<>();
      for (String line : new String(content.body().readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
        if (!line.isBlank()) {
          out.add(JSON.readTree(line));
        }
      }
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Test
  void aBatchRunsEveryLineOnceAndWritesTheServersAnswersToItsOutputAndItsRefusalsToItsErrors() {
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      lines.add(chatLine("line-" + i, "chat-model", "question number " + i, 5 + i % 7));
    }
    // Valid as a line (the model exists, the key may use it), refused when run: it serves no chat.
    lines.add(chatLine("wrong-type", "embeddings-model", "no chat here", 5));
    long servedBefore = fast.stats().completed();

    Batch created = create(upload(client, lines).id());
    assertEquals("validating", created.status().toString());
    Batch done = awaitStatus(created.id(), "completed", "failed");

    assertEquals("completed", done.status().toString(), () -> String.valueOf(done.errors()));
    assertEquals(41, done.requestCounts().orElseThrow().total());
    assertEquals(40, done.requestCounts().orElseThrow().completed());
    assertEquals(1, done.requestCounts().orElseThrow().failed());
    Map<String, JsonNode> byCustomId = new HashMap<>();
    for (JsonNode line : lines(done.outputFileId().orElseThrow())) {
      assertEquals(null, byCustomId.put(line.get("custom_id").asText(), line), "each custom_id once");
    }
    assertEquals(40, byCustomId.size());
    for (int i = 0; i < 40; i++) {
      JsonNode line = byCustomId.get("line-" + i);
      assertEquals(200, line.at("/response/status_code").asInt());
      assertTrue(line.get("error").isNull());
      assertEquals(SimulatedText.answer("question number " + i, 5 + i % 7),
          line.at("/response/body/choices/0/message/content").asText());
      assertEquals(done.id() + "-" + (i + 1), line.at("/response/request_id").asText(), "the line's ticket id");
    }
    List<JsonNode> errors = lines(done.errorFileId().orElseThrow());
    assertEquals(1, errors.size());
    assertEquals("wrong-type", errors.get(0).get("custom_id").asText());
    assertEquals(400, errors.get(0).at("/response/status_code").asInt());
    assertFalse(errors.get(0).at("/error/message").asText().isEmpty());
    assertEquals(40, fast.stats().completed() - servedBefore, "the server served each line once");
    JsonNode usage = batchUsage();
    assertTrue(usage.get("requests").asLong() >= 40, usage.toString());
    assertEquals(usage.get("total_tokens").asLong() * 0.5, usage.get("billed_tokens").asDouble(), 1,
        "batch tokens billed at batch.price_factor");
  }

  @Test
  void operatorsSeeRunningBatchesByOrganizationAndStatusWithTheirProgress() throws Exception {
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      lines.add(chatLine("watched-" + i, "slow-model", "watched " + i, 40));
    }
    Batch batch = create(upload(client, lines).id());
    long until = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (client.batches().retrieve(batch.id()).requestCounts().orElseThrow().completed() == 0
        && System.nanoTime() < until) {
      sleep(50);
    }
    sleep(2_100); // the entity shows its counts every 2 s

    JsonNode running = JSON.readTree(admin("/admin/batches?status=in_progress&organization=univ-a"));
    JsonNode listed = null;
    for (JsonNode b : running.get("data")) {
      if (b.get("id").asText().equals(batch.id())) {
        listed = b;
      }
    }
    assertTrue(listed != null, running.toString());
    assertEquals("univ-a", listed.get("organization").asText());
    assertTrue(listed.at("/request_counts/completed").asLong() > 0, listed.toString());
    String metrics = admin("/metrics");
    assertTrue(series(metrics, "aiguillage_batch_progress{", "batch=\"" + batch.id() + "\"", "organization=\"univ-a\""),
        "a running batch's progress");
    assertTrue(series(metrics, "aiguillage_batch_lines{", "batch=\"" + batch.id() + "\"", "state=\"waiting\""),
        "its lines waiting");

    client.batches().cancel(batch.id());
    awaitStatus(batch.id(), "cancelled");
    // Kamon drops a removed gauge at its next tick (a second): the scrape after that has it no more.
    long gone = System.nanoTime() + Duration.ofSeconds(5).toNanos();
    while (series(admin("/metrics"), "aiguillage_batch_progress{", "batch=\"" + batch.id() + "\"")
        && System.nanoTime() < gone) {
      sleep(100);
    }
    assertFalse(series(admin("/metrics"), "aiguillage_batch_progress{", "batch=\"" + batch.id() + "\""),
        "a finished batch leaves the metrics");
  }

  /** Whether the scrape has a series of this metric with these labels (in any order). */
  private static boolean series(String scrape, String metric, String... labels) {
    return scrape.lines().anyMatch(l -> l.startsWith(metric) && java.util.Arrays.stream(labels).allMatch(l::contains));
  }

  private String admin(String path) throws Exception {
    return java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
            java.net.URI.create(node.baseUrl() + path)).header("Authorization", "Bearer batch-admin").build(),
        java.net.http.HttpResponse.BodyHandlers.ofString()).body();
  }

  /** The usage report's batch row, once the agent's records reached the ledger. */
  private JsonNode batchUsage() {
    java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
    long until = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (true) {
      try {
        java.net.http.HttpResponse<String> response = http.send(java.net.http.HttpRequest.newBuilder(
                java.net.URI.create(node.baseUrl() + "/admin/usage?group_by=batch"))
            .header("Authorization", "Bearer batch-admin").build(), java.net.http.HttpResponse.BodyHandlers.ofString());
        for (JsonNode row : JSON.readTree(response.body()).get("data")) {
          if (row.get("batch").asBoolean() && row.get("requests").asLong() >= 40) {
            return row;
          }
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
      if (System.nanoTime() > until) {
        throw new AssertionError("no batch usage reported");
      }
      sleep(100);
    }
  }

  @Test
  void cancellingARunningBatchStopsItsLinesAndFinishesThoseRunning() {
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      lines.add(chatLine("slow-" + i, "slow-model", "slow question " + i, 40));
    }
    Batch created = create(upload(client, lines).id());
    long until = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (client.batches().retrieve(created.id()).requestCounts().orElseThrow().completed() == 0
        && System.nanoTime() < until) {
      sleep(50);
    }

    assertEquals(409, assertThrows(com.openai.errors.OpenAIServiceException.class,
        () -> client.files().delete(created.inputFileId())).statusCode(), "its input is in use");
    Batch cancelling = client.batches().cancel(created.id());
    assertTrue(List.of("cancelling", "cancelled").contains(cancelling.status().toString()));
    Batch cancelled = awaitStatus(created.id(), "cancelled");

    long settled = cancelled.requestCounts().orElseThrow().completed()
        + cancelled.requestCounts().orElseThrow().failed();
    assertTrue(settled > 0 && settled < 100, "settled " + settled);
    assertTrue(cancelled.cancelledAt().isPresent() && cancelled.cancellingAt().isPresent());
    long received = slow.stats().received();
    sleep(500);
    assertEquals(received, slow.stats().received(), "no line is sent once cancelled");
    assertEquals(settled, lines(cancelled.outputFileId().orElseThrow()).size());
  }

  @Test
  void aBatchPastItsWindowWritesWhatItFinishedAndMarksTheRestExpired() throws Exception {
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      lines.add(chatLine("late-" + i, "slow-model", "late " + i, 40));
    }
    String fileId = upload(client, lines).id();
    // OpenAI's window is 24 h, the only one the API takes: this batch's entity is told a window of 3 s.
    long now = System.currentTimeMillis() / 1000;
    String id = "batch_expiring" + System.nanoTime();
    org.aiguillage.actors.batch.Batch.Spec spec = new org.aiguillage.actors.batch.Batch.Spec(id, "univ-a",
        new KeyAccount.Authenticated(new ApiKey("key-expiring", "a", "univ-a", 3, 10_000, RoutingMode.ANY), false),
        "/v1/chat/completions", fileId, "24h", Map.of(), now, now + 3);
    ClusterSharding.get(node.system()).entityRefFor(org.aiguillage.actors.batch.Batch.TYPE_KEY, id)
        .<org.aiguillage.actors.batch.Batch.Reply>ask(
            replyTo -> new org.aiguillage.actors.batch.Batch.Create(spec, replyTo), Duration.ofSeconds(10))
        .toCompletableFuture().get();

    Batch expired = awaitStatus(id, "expired", "completed");

    assertEquals("expired", expired.status().toString(), expired::toString);
    assertTrue(expired.expiredAt().isPresent());
    long completed = expired.requestCounts().orElseThrow().completed();
    assertTrue(completed > 0 && completed < 40, "completed " + completed + ": " + expired);
    assertEquals(40 - completed, expired.requestCounts().orElseThrow().failed());
    assertEquals(completed, lines(expired.outputFileId().orElseThrow()).size());
    List<JsonNode> unrun = lines(expired.errorFileId().orElseThrow());
    assertEquals(40 - completed, unrun.size());
    assertTrue(unrun.stream().allMatch(l -> l.at("/error/code").asText().equals("batch_expired")));
  }

  @Test
  void linesRefusedUntilLongAfterTheWindowAreWrittenAsTheirRefusalNotRetriedForADay() {
    OpenAIClient smallBudget = clientWithKey(SMALL_BUDGET);
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      lines.add(chatLine("budget-" + i, "chat-model", "spend " + i, 8));
    }
    Batch created = smallBudget.batches().create(BatchCreateParams.builder()
        .inputFileId(upload(smallBudget, lines).id()).endpoint(BatchCreateParams.Endpoint.V1_CHAT_COMPLETIONS)
        .completionWindow(BatchCreateParams.CompletionWindow._24H).build());

    Batch done = awaitStatus(smallBudget, created.id(), "completed", "failed", "expired");

    assertEquals("completed", done.status().toString());
    long completed = done.requestCounts().orElseThrow().completed();
    assertTrue(completed >= 1 && completed < 20, "the budget of 100 tokens runs out: " + completed);
    List<JsonNode> refused = lines(smallBudget, done.errorFileId().orElseThrow());
    assertEquals(20 - completed, refused.size());
    assertTrue(refused.stream().allMatch(l -> l.at("/response/status_code").asInt() == 429
        && l.at("/error/code").asText().equals("insufficient_quota")), refused.toString());
  }

  @Test
  void batchesAreListedNewestFirstPageByPage() {
    String fileId = upload(client, List.of(chatLine("one", "chat-model", "page me", 3))).id();
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      ids.add(create(fileId).id());
      sleep(5);
    }

    BatchListPage first = client.batches().list(BatchListParams.builder().limit(2).build());
    assertEquals(2, first.data().size());
    assertTrue(first.hasNextPage());
    BatchListPage second = first.nextPage();
    List<String> listed = new ArrayList<>();
    first.data().forEach(b -> listed.add(b.id()));
    second.data().forEach(b -> listed.add(b.id()));
    assertTrue(listed.containsAll(ids), listed + " lists " + ids);
    assertEquals(listed.size(), listed.stream().distinct().count(), "no batch on two pages");
  }

  @Test
  void aFileThatIsNotAValidBatchFailsItWithTheLinesAtFault() {
    List<String> lines = new ArrayList<>(List.of(
        chatLine("a", "chat-model", "fine", 3),
        chatLine("b", "chat-model", "fine too", 3),
        "{\"custom_id\": \"c\", \"method\": \"POST\", \"url\": ",
        chatLine("d", "chat-model", "fine", 3),
        chatLine("a", "chat-model", "the same id again", 3),
        chatLine("f", "chat-model", "fine", 3),
        chatLine("g", "slow-model", "a model this key may not use", 3)));
    OpenAIClient chatOnly = clientWithKey(CHAT_ONLY);
    String fileId = upload(chatOnly, lines).id();
    Batch created = chatOnly.batches().create(BatchCreateParams.builder().inputFileId(fileId)
        .endpoint(BatchCreateParams.Endpoint.V1_CHAT_COMPLETIONS)
        .completionWindow(BatchCreateParams.CompletionWindow._24H).build());

    Batch failed = awaitStatus(created.id(), "failed", "completed");

    assertEquals("failed", failed.status().toString());
    List<Long> errorLines = failed.errors().orElseThrow().data().orElseThrow().stream()
        .map(e -> e.line().orElseThrow()).toList();
    List<String> codes = failed.errors().orElseThrow().data().orElseThrow().stream()
        .map(e -> e.code().orElseThrow()).toList();
    assertEquals(List.of(3L, 5L, 7L), errorLines);
    assertEquals(List.of("invalid_json_line", "duplicate_custom_id", "model_not_found"), codes);
    assertTrue(failed.outputFileId().isEmpty());
  }

  @Test
  void filesAndBatchesBelongToTheirOrganization() {
    FileObject file = upload(client, List.of(chatLine("x", "chat-model", "mine", 3)));
    Batch batch = create(file.id());
    OpenAIClient other = clientWithKey(OTHER_ORGANIZATION);

    assertThrows(NotFoundException.class, () -> other.files().retrieve(file.id()));
    assertThrows(NotFoundException.class, () -> other.batches().retrieve(batch.id()));
    assertThrows(BadRequestException.class, () -> other.batches().create(BatchCreateParams.builder()
        .inputFileId(file.id()).endpoint(BatchCreateParams.Endpoint.V1_CHAT_COMPLETIONS)
        .completionWindow(BatchCreateParams.CompletionWindow._24H).build()));
    assertFalse(other.files().list().data().stream().anyMatch(f -> f.id().equals(file.id())));
    assertTrue(client.files().list().data().stream().anyMatch(f -> f.id().equals(file.id())));
  }

  @Test
  void anUploadedFileReadsBackByteForByteAndGoesWhenDeleted() {
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < 2_000; i++) {
      lines.add(chatLine("big-" + i, "chat-model", "a longer question to make the file span chunks ".repeat(12), 3));
    }
    FileObject file = upload(client, lines);
    byte[] expected = (String.join("\n", lines) + "\n").getBytes(StandardCharsets.UTF_8);
    assertTrue(expected.length > 1024 * 1024, "more than one chunk");

    assertEquals(expected.length, file.bytes());
    assertEquals("batch", client.files().retrieve(file.id()).purpose().toString());
    try (HttpResponse content = client.files().content(file.id())) {
      assertEquals(new String(expected, StandardCharsets.UTF_8),
          new String(content.body().readAllBytes(), StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    assertTrue(client.files().delete(file.id()).deleted());
    assertThrows(NotFoundException.class, () -> client.files().retrieve(file.id()));
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
