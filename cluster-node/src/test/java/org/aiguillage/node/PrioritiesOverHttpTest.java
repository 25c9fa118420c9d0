package org.aiguillage.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.errors.RateLimitException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.aiguillage.loadtest.sim.SimulatedText;
import org.aiguillage.loadtest.sim.SimulatorProfile;
import org.aiguillage.loadtest.sim.VllmSimulator;
import org.aiguillage.protocol.config.FederationConfigParser;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** Who goes first, and where: priorities, private routing and the limits that answer at once, over HTTP. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PrioritiesOverHttpTest {

  private VllmSimulator slow;
  private VllmSimulator ownedByA;
  private VllmSimulator ownedByB;
  private VllmSimulator single;
  private VllmSimulator limited;
  private AiguillageNode node;
  private final ExecutorService users = Executors.newFixedThreadPool(64);

  @BeforeAll
  void start() {
    // One request at a time, 10 ms per token: a slow server, easy to saturate.
    slow = VllmSimulator.start("slow", SimulatorProfile.fast().withMaxNumSeqs(1).withItl(10, 10));
    ownedByA = VllmSimulator.start("private", SimulatorProfile.fast().withItl(5, 5));
    ownedByB = VllmSimulator.start("private", SimulatorProfile.fast());
    single = VllmSimulator.start("single", SimulatorProfile.fast().withItl(5, 5));
    limited = VllmSimulator.start("limited", SimulatorProfile.fast().withItl(5, 5));
    node = AiguillageNode.start(FederationConfigParser.parse("""
        http: { port: 0 }
        persistence: { url: "jdbc:h2:mem:priorities" }
        tokens:
          - { token: sk-low, name: low, organization: univ-c, priority: 1 }
          - { token: sk-high, name: high, organization: univ-d, priority: 5 }
          - { token: sk-a, name: a, organization: univ-a, priority: 3, threshold: 2 }
        models:
          - name: slow
            priority_aging: off
            vllm_servers: [ { url: %s, organization: shared, max_parallel_requests: 1 } ]
          - name: private
            vllm_servers:
              - { url: %s, organization: univ-a, max_parallel_requests: 1 }
              - { url: %s, organization: univ-b, max_parallel_requests: 4 }
          - name: single
            vllm_servers: [ { url: %s, organization: shared, max_parallel_requests: 1 } ]
          - name: limited
            queue_timeout: 500ms
            vllm_servers: [ { url: %s, organization: shared, max_parallel_requests: 1 } ]
        """.formatted(slow.baseUrl(), ownedByA.baseUrl(), ownedByB.baseUrl(), single.baseUrl(),
        limited.baseUrl())));
  }

  @AfterAll
  void stop() {
    users.shutdownNow();
    node.close();
    for (VllmSimulator s : List.of(slow, ownedByA, ownedByB, single, limited)) {
      s.close();
    }
  }

  private OpenAIClient client(String key) {
    return OpenAIOkHttpClient.builder().baseUrl(node.baseUrl() + "/v1").apiKey(key).maxRetries(0)
        .timeout(Duration.ofSeconds(60)).build();
  }

  private static ChatCompletionCreateParams chat(String model, String prompt, long maxTokens) {
    return ChatCompletionCreateParams.builder().model(model).addUserMessage(prompt).maxCompletionTokens(maxTokens)
        .build();
  }

  /** Streams a request and returns when its first token arrived (System.nanoTime). */
  private CompletableFuture<Long> firstTokenAt(OpenAIClient client, ChatCompletionCreateParams params) {
    return CompletableFuture.supplyAsync(() -> {
      long first = 0;
      try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(params)) {
        for (Iterator<ChatCompletionChunk> it = stream.stream().iterator(); it.hasNext(); ) {
          it.next();
          if (first == 0) {
            first = System.nanoTime();
          }
        }
      }
      return first;
    }, users);
  }

  @Test
  void highPriorityRequestsGetTheirFirstTokenBeforeTheLowPriorityOnesStillWaiting() throws Exception {
    OpenAIClient low = client("sk-low");
    OpenAIClient high = client("sk-high");
    List<CompletableFuture<Long>> lows = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      lows.add(firstTokenAt(low, chat("slow", "low " + i, 10)));
    }
    TestProbe<Void> probe = TestProbe.create(node.system());
    probe.expectNoMessage(Duration.ofMillis(500)); // the lows fill the server and the queue

    long highsSent = System.nanoTime();
    List<CompletableFuture<Long>> highs = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      highs.add(firstTokenAt(high, chat("slow", "high " + i, 10)));
    }

    long lastHigh = 0;
    for (CompletableFuture<Long> h : highs) {
      lastHigh = Math.max(lastHigh, h.get());
    }
    int stillWaitingWhenHighsCame = 0;
    int overtook = 0;
    for (CompletableFuture<Long> l : lows) {
      long first = l.get();
      if (first > highsSent) {
        stillWaitingWhenHighsCame++;
        if (first < lastHigh) {
          overtook++;
        }
      }
    }
    assertTrue(stillWaitingWhenHighsCame >= 20, "the server was saturated: " + stillWaitingWhenHighsCame);
    // At most the one low already on the server when the highs arrived may show its first token in between.
    assertTrue(overtook <= 1, overtook + " waiting low-priority requests went before a high-priority one");
  }

  @Test
  void aPrivateOnlyRequestWaitsForItsOrganisationsBusyServerWhileAnotherSitsIdle() throws Exception {
    OpenAIClient a = client("sk-a");
    long idleBefore = ownedByB.stats().received();
    ChatCompletionCreateParams privateOnly = chat("private", "mine only", 3).toBuilder()
        .putAdditionalBodyProperty("routing-mode", JsonValue.from("private-only")).build();
    try (StreamResponse<ChatCompletionChunk> holder = a.chat().completions().createStreaming(
        chat("private", "hold my server", 400).toBuilder()
            .putAdditionalBodyProperty("routing-mode", JsonValue.from("private-only")).build())) {
      Iterator<ChatCompletionChunk> chunks = holder.stream().iterator();
      chunks.next(); // univ-a's only slot is taken

      CompletableFuture<ChatCompletion> waiting =
          CompletableFuture.supplyAsync(() -> a.chat().completions().create(privateOnly), users);
      TestProbe.create(node.system()).expectNoMessage(Duration.ofMillis(500));
      assertFalse(waiting.isDone(), "it waits for its organisation's server");
      assertEquals(idleBefore, ownedByB.stats().received(), "the other organisation's idle server is not used");

      chunks.forEachRemaining(c -> { });
      assertEquals(SimulatedText.answer("mine only", 3),
          waiting.get().choices().get(0).message().content().orElseThrow());
    }
    assertEquals(idleBefore, ownedByB.stats().received());
  }

  @Test
  void aKeyOverItsThresholdOfWaitingRequestsGets429SayingWhichLimit() throws Exception {
    OpenAIClient a = client("sk-a"); // threshold: 2
    try (StreamResponse<ChatCompletionChunk> holder = a.chat().completions()
        .createStreaming(chat("single", "hold", 5000))) {
      holder.stream().iterator().next();
      List<CompletableFuture<ChatCompletion>> queued = new ArrayList<>();
      for (int i = 0; i < 2; i++) {
        ChatCompletionCreateParams params = chat("single", "queued " + i, 2);
        queued.add(CompletableFuture.supplyAsync(() -> a.chat().completions().create(params), users));
      }
      TestProbe.create(node.system()).expectNoMessage(Duration.ofMillis(400));

      RateLimitException e = assertThrows(RateLimitException.class,
          () -> a.chat().completions().create(chat("single", "one too many", 2)));

      assertEquals(429, e.statusCode());
      assertTrue(e.getMessage().contains("threshold is 2"), e.getMessage());
      assertFalse(queued.get(0).isDone());
    }
  }

  @Test
  void aRequestStillQueuedAtTheModelsQueueTimeoutGets503WithRetryAfter() throws Exception {
    OpenAIClient low = client("sk-low");
    try (StreamResponse<ChatCompletionChunk> holder = low.chat().completions()
        .createStreaming(chat("limited", "hold", 5000))) {
      holder.stream().iterator().next();

      HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
              URI.create(node.baseUrl() + "/v1/chat/completions"))
          .header("Authorization", "Bearer sk-low").header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(
              "{\"model\":\"limited\",\"messages\":[{\"role\":\"user\",\"content\":\"late\"}]}")).build(),
          HttpResponse.BodyHandlers.ofString());

      assertEquals(503, response.statusCode());
      assertTrue(response.headers().firstValue("Retry-After").isPresent());
      assertEquals("queue_timeout",
          new ObjectMapper().readTree(response.body()).path("error").path("code").asText());
    }
  }
}
