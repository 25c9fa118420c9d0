package org.aiguillage.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Iterator;
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

/** What a user sees when servers fail, and what a server sees when users leave. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FailoverAndCancellationTest {

  private static final String KEY = "sk-test";
  private VllmSimulator broken;
  private VllmSimulator healthy;
  private VllmSimulator single;
  private VllmSimulator crashing;
  private VllmSimulator stalling;
  private VllmSimulator rescuer;
  private AiguillageNode node;
  private OpenAIClient client;

  @BeforeAll
  void start() {
    broken = VllmSimulator.start("m", SimulatorProfile.fast().withFaults(1.0, 0, 0));
    healthy = VllmSimulator.start("m", SimulatorProfile.fast());
    single = VllmSimulator.start("one", SimulatorProfile.fast());
    crashing = VllmSimulator.start("crash", SimulatorProfile.fast());
    crashing.cutStreamsAfter(5);
    stalling = VllmSimulator.start("s", SimulatorProfile.fast().withFaults(0, 0, 30_000));
    rescuer = VllmSimulator.start("s", SimulatorProfile.fast());
    node = AiguillageNode.start(FederationConfigParser.parse("""
        http: { port: 0 }
        persistence: { url: "jdbc:h2:mem:failover" }
        admin: { token: failover-admin }
        tokens: [ { token: %s, name: t, organization: univ-a } ]
        models:
          - name: m
            routing_strategy: round-robin
            vllm_servers:
              - { url: %s, max_parallel_requests: 8 }
              - { url: %s, max_parallel_requests: 8 }
          - name: one
            vllm_servers:
              - { url: %s, max_parallel_requests: 1 }
          - name: crash
            vllm_servers:
              - { url: %s, max_parallel_requests: 4 }
          - name: s
            routing_strategy: round-robin
            first_token_timeout: 1s
            vllm_servers:
              - { url: %s, max_parallel_requests: 4 }
              - { url: %s, max_parallel_requests: 4 }
        """.formatted(KEY, broken.baseUrl(), healthy.baseUrl(), single.baseUrl(), crashing.baseUrl(),
            stalling.baseUrl(), rescuer.baseUrl())));
    client = OpenAIOkHttpClient.builder().baseUrl(node.baseUrl() + "/v1").apiKey(KEY).maxRetries(0)
        .timeout(Duration.ofSeconds(30)).build();
  }

  @AfterAll
  void stop() {
    node.close();
    broken.close();
    healthy.close();
    single.close();
    crashing.close();
    stalling.close();
    rescuer.close();
  }

  @Test
  void aServerThatStallsIsTakenOutAndItsRequestsServedElsewhere() {
    for (int i = 0; i < 6; i++) {
      String prompt = "stall " + i;
      try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions()
          .createStreaming(chat("s", prompt, 5))) {
        String content = stream.stream().flatMap(c -> c.choices().stream())
            .map(c -> c.delta().content().orElse("")).collect(Collectors.joining());
        assertEquals(SimulatedText.answer(prompt, 5), content);
      }
    }
    assertTrue(stalling.stats().received() > 0, "the stalling server was tried");
    assertTrue(stalling.stats().received() < 6, "and then left without work: " + stalling.stats().received());
    assertEquals(6, rescuer.stats().completed());
  }

  private static ChatCompletionCreateParams chat(String model, String prompt, long maxTokens) {
    return ChatCompletionCreateParams.builder().model(model).addUserMessage(prompt).maxCompletionTokens(maxTokens)
        .build();
  }

  @Test
  void aFailingServersHealthIsVisibleInTheAdminApi() throws Exception {
    java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
    com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
    String brokenId = "m@" + broken.baseUrl().substring("http://".length());
    java.util.Set<String> states = new java.util.HashSet<>();
    long until = System.currentTimeMillis() + 15_000;
    while (!states.contains("unhealthy") && System.currentTimeMillis() < until) {
      client.chat().completions().create(chat("m", "keep them busy", 2));
      var models = json.readTree(http.send(java.net.http.HttpRequest.newBuilder(
              java.net.URI.create(node.baseUrl() + "/admin/models"))
          .header("Authorization", "Bearer failover-admin").build(),
          java.net.http.HttpResponse.BodyHandlers.ofString()).body());
      for (var model : models.get("data")) {
        for (var server : model.get("servers")) {
          if (server.get("id").asText().equals(brokenId)) {
            states.add(server.get("state").asText());
          }
          if (model.get("name").asText().equals("m") && !server.get("id").asText().equals(brokenId)) {
            assertEquals(8, server.get("max_parallel_requests").asInt());
          }
        }
      }
    }
    assertTrue(states.contains("unhealthy"), "the broken server was seen as: " + states);
  }

  @Test
  void aServerThatFailsBeforeAnsweringIsInvisibleToClients() {
    long completedBefore = healthy.stats().completed();
    for (int i = 0; i < 20; i++) {
      String prompt = "attempt " + i;
      try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions()
          .createStreaming(chat("m", prompt, 5))) {
        String content = stream.stream().flatMap(c -> c.choices().stream())
            .map(c -> c.delta().content().orElse("")).collect(Collectors.joining());
        assertEquals(SimulatedText.answer(prompt, 5), content);
      }
    }
    assertTrue(broken.stats().received() > 0, "the broken server was tried");
    assertEquals(completedBefore + 20, healthy.stats().completed());
  }

  @Test
  void aClientThatLeavesWhileQueuedNeverReachesAServer() throws Exception {
    long receivedBefore = single.stats().received();
    TestProbe<Void> probe = TestProbe.create(node.system());
    try (StreamResponse<ChatCompletionChunk> holder = client.chat().completions()
        .createStreaming(chat("one", "hold the only slot", 5000))) {
      Iterator<ChatCompletionChunk> chunks = holder.stream().iterator();
      chunks.next(); // the only slot is taken

      String body = "{\"model\":\"one\",\"messages\":[{\"role\":\"user\",\"content\":\"queued\"}],\"stream\":true}";
      try (Socket socket = new Socket("127.0.0.1", node.httpPort())) {
        OutputStream out = socket.getOutputStream();
        out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + KEY
            + "\r\nContent-Type: application/json\r\nContent-Length: " + body.length() + "\r\n\r\n" + body)
            .getBytes(StandardCharsets.UTF_8));
        out.flush();
        probe.expectNoMessage(Duration.ofMillis(300)); // let it reach the queue
      } // the client leaves while its ticket waits

      probe.expectNoMessage(Duration.ofMillis(300)); // let the edge notice
    } // the holder leaves too: the slot frees up

    probe.expectNoMessage(Duration.ofSeconds(1)); // a ticket still queued would be served now
    assertEquals(receivedBefore + 1, single.stats().received(), "only the holder reached the server");
  }

  @Test
  void aServerThatFailsMidStreamEndsTheStreamWithAnErrorEventThenDone() throws Exception {
    java.net.http.HttpResponse<java.util.stream.Stream<String>> response = java.net.http.HttpClient.newHttpClient()
        .send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(node.baseUrl() + "/v1/chat/completions"))
            .header("Authorization", "Bearer " + KEY).header("Content-Type", "application/json")
            .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"model\":\"crash\",\"messages\":"
                + "[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":50,\"stream\":true}")).build(),
            java.net.http.HttpResponse.BodyHandlers.ofLines());

    java.util.List<String> events = response.body().filter(l -> l.startsWith("data:")).toList();

    assertEquals(200, response.statusCode());
    assertTrue(events.stream().filter(e -> e.contains("\"content\":\"")).count() >= 5, events.toString());
    assertTrue(events.get(events.size() - 2).contains("\"code\":\"upstream_failed\""), events.toString());
    assertEquals("data: [DONE]", events.get(events.size() - 1));
  }
}
