package org.aiguillage.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.errors.UnauthorizedException;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import org.aiguillage.loadtest.sim.SimulatorProfile;
import org.aiguillage.loadtest.sim.SimulatorStats;
import org.aiguillage.loadtest.sim.VllmSimulator;
import org.aiguillage.protocol.config.FederationConfigParser;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.slf4j.LoggerFactory;

/**
 * Keys, limits and usage over real HTTP: the admin API, the OpenAI SDK with the keys it makes, limits under
 * concurrent clients, and the usage ledger against what the simulated server counted.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AccountsOverHttpTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String ADMIN_TOKEN = "admin-token-7f3a9c2e51d4";
  private static final String YAML_KEY = "sk-yaml-configured-key-0b8e41d7";
  private static final String SERVER_TOKEN = "server-token-9d2c7a1e66f0";

  private VllmSimulator server;
  private AiguillageNode node;
  private final HttpClient http = HttpClient.newHttpClient();
  private final List<String> secretsSeen = new ArrayList<>(List.of(ADMIN_TOKEN, YAML_KEY, SERVER_TOKEN));
  private final ListAppender<ILoggingEvent> logs = new ListAppender<>();
  private Level rootLevel;

  @BeforeAll
  void start() {
    // Every log line of this run is captured, at INFO and above for all, DEBUG for ours.
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    rootLevel = root.getLevel();
    root.setLevel(Level.INFO);
    context.getLogger("org.aiguillage").setLevel(Level.DEBUG);
    logs.setContext(context);
    logs.start();
    root.addAppender(logs);

    server = VllmSimulator.start("org/served-model", SimulatorProfile.fast());
    node = AiguillageNode.start(FederationConfigParser.parse("""
        http: { port: 0 }
        admin: { token: %s }
        persistence: { url: "jdbc:h2:mem:accounts-over-http" }
        tokens:
          - { token: %s, name: yaml-key, organization: univ-a }
        models:
          - name: chat-model
            model: org/served-model
            vllm_servers:
              - { url: %s, token: %s, organization: univ-a, max_parallel_requests: 64, power_watts: 700 }
        """.formatted(ADMIN_TOKEN, YAML_KEY, server.baseUrl(), SERVER_TOKEN)),
        com.typesafe.config.ConfigFactory.parseString("pekko.loglevel = DEBUG"));
  }

  @AfterAll
  void stop() {
    node.close();
    server.close();
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    root.detachAppender(logs);
    root.setLevel(rootLevel);
    context.getLogger("org.aiguillage").setLevel(Level.INFO);
  }

  // ---- helpers

  private HttpResponse<String> admin(String method, String path, String body) throws Exception {
    return admin(method, path, body, ADMIN_TOKEN);
  }

  private HttpResponse<String> admin(String method, String path, String body, String token) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(node.baseUrl() + path))
        .header("Authorization", "Bearer " + token)
        .header("Content-Type", "application/json")
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** Creates a key through the admin API; returns its JSON, its secret in {@code key}. */
  private JsonNode createKey(String body) throws Exception {
    HttpResponse<String> response = admin("POST", "/admin/keys", body);
    assertEquals(201, response.statusCode(), response.body());
    JsonNode key = JSON.readTree(response.body());
    secretsSeen.add(key.get("key").asText());
    return key;
  }

  private OpenAIClient client(String key) {
    return OpenAIOkHttpClient.builder().baseUrl(node.baseUrl() + "/v1").apiKey(key).maxRetries(0)
        .timeout(Duration.ofSeconds(30)).build();
  }

  private static ChatCompletionCreateParams chat(String prompt, long maxTokens) {
    return ChatCompletionCreateParams.builder().model("chat-model").addUserMessage(prompt)
        .maxCompletionTokens(maxTokens).build();
  }

  private static final String CHAT_BODY =
      "{\"model\":\"chat-model\",\"messages\":[{\"role\":\"user\",\"content\":\"one two three\"}],\"max_tokens\":20}";

  private HttpResponse<String> rawChat(String key) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(node.baseUrl() + "/v1/chat/completions"))
        .header("Authorization", "Bearer " + key).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(CHAT_BODY)).build(), HttpResponse.BodyHandlers.ofString());
  }

  /** {@code clients} threads each sending {@code each} requests at once; the responses. */
  private List<HttpResponse<String>> hammer(String key, int clients, int each) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(clients);
    try {
      List<Future<List<HttpResponse<String>>>> futures = new ArrayList<>();
      for (int c = 0; c < clients; c++) {
        futures.add(pool.submit(() -> {
          List<HttpResponse<String>> mine = new ArrayList<>();
          for (int i = 0; i < each; i++) {
            mine.add(rawChat(key));
          }
          return mine;
        }));
      }
      List<HttpResponse<String>> all = new ArrayList<>();
      for (Future<List<HttpResponse<String>>> f : futures) {
        all.addAll(f.get());
      }
      return all;
    } finally {
      pool.shutdown();
    }
  }

  // ---- tests

  @Test
  @Order(1)
  void theAdminApiWantsTheAdminToken() throws Exception {
    HttpResponse<String> response = admin("GET", "/admin/keys", null, "not-the-token");
    assertEquals(401, response.statusCode());
    assertEquals("authentication_error", JSON.readTree(response.body()).path("error").path("type").asText());
  }

  @Test
  @Order(2)
  void aKeyCreatedThroughTheAdminApiWorksAtOnceAndARevokedOneGets401() throws Exception {
    JsonNode key = createKey("{\"name\":\"lab\",\"organization\":\"univ-b\",\"priority\":4,\"threshold\":20}");
    String secret = key.get("key").asText();
    String id = key.get("id").asText();
    assertTrue(secret.startsWith("sk-") && secret.length() >= 43, "sk- and 32 random bytes, URL-safe");
    assertEquals(secret.substring(0, 8) + "...", key.get("prefix").asText());

    String answer = client(secret).chat().completions().create(chat("hello there", 5)).choices().get(0).message()
        .content().orElseThrow();
    assertFalse(answer.isEmpty());

    HttpResponse<String> shown = admin("GET", "/admin/keys/" + id, null);
    assertEquals(200, shown.statusCode());
    assertEquals("active", JSON.readTree(shown.body()).get("status").asText());
    assertEquals(4, JSON.readTree(shown.body()).get("priority").asInt());
    assertFalse(shown.body().contains(secret), "a key's secret is shown once, at its creation");

    HttpResponse<String> revoked = admin("DELETE", "/admin/keys/" + id, null);
    assertEquals("revoked", JSON.readTree(revoked.body()).get("status").asText());
    UnauthorizedException refused = assertThrows(UnauthorizedException.class,
        () -> client(secret).chat().completions().create(chat("hello again", 5)));
    assertTrue(refused.getMessage().contains("revoked"), refused.getMessage());
  }

  @Test
  @Order(3)
  void aBadKeyBodyGetsAClearErrorNamingTheField() throws Exception {
    HttpResponse<String> unknown = admin("POST", "/admin/keys", "{\"name\":\"x\",\"organization\":\"o\",\"rpm\":3}");
    assertEquals(400, unknown.statusCode());
    assertEquals("Unknown field 'rpm'.", JSON.readTree(unknown.body()).path("error").path("message").asText());

    HttpResponse<String> priority = admin("POST", "/admin/keys", "{\"name\":\"x\",\"organization\":\"o\",\"priority\":9}");
    assertEquals(400, priority.statusCode());
    assertTrue(priority.body().contains("invalid value for 'priority': 9 is not in 1..5"), priority.body());

    HttpResponse<String> secret = admin("POST", "/admin/keys", "{\"name\":\"x\",\"organization\":\"o\",\"token\":\"mine\"}");
    assertEquals(400, secret.statusCode());

    HttpResponse<String> missing = admin("POST", "/admin/keys", "{\"organization\":\"o\"}");
    assertTrue(missing.body().contains("missing field 'name'"), missing.body());

    HttpResponse<String> huge = admin("POST", "/admin/keys", "{\"name\":\"" + "x".repeat(2 << 20) + "\"}");
    assertEquals(413, huge.statusCode());
    assertEquals("request_too_large", JSON.readTree(huge.body()).path("error").path("code").asText());
  }

  @Test
  @Order(4)
  void theRequestsPerMinuteLimitHoldsExactlyUnderTwentyConcurrentClients() throws Exception {
    String secret = createKey("{\"name\":\"rpm\",\"organization\":\"univ-b\",\"requests_per_minute\":25}")
        .get("key").asText();

    List<HttpResponse<String>> responses = hammer(secret, 20, 3);

    long ok = responses.stream().filter(r -> r.statusCode() == 200).count();
    List<HttpResponse<String>> limited = responses.stream().filter(r -> r.statusCode() == 429).toList();
    assertEquals(25, ok);
    assertEquals(35, limited.size());
    HttpResponse<String> one = limited.get(0);
    assertEquals("25", one.headers().firstValue("x-ratelimit-limit-requests").orElseThrow());
    assertEquals("0", one.headers().firstValue("x-ratelimit-remaining-requests").orElseThrow());
    assertTrue(one.headers().firstValue("x-ratelimit-reset-requests").orElseThrow().matches("(\\d+m)?\\d+s"));
    assertTrue(Integer.parseInt(one.headers().firstValue("Retry-After").orElseThrow()) > 0);
    assertEquals("rate_limit_error", JSON.readTree(one.body()).path("error").path("type").asText());
  }

  @Test
  @Order(5)
  void theTokensPerMinuteLimitHoldsUnderTwentyConcurrentClients() throws Exception {
    // The edge reserves (body bytes / 4 + max_tokens) per request and settles to what the server reported.
    long estimate = CHAT_BODY.length() / 4 + 20;
    long limit = 10 * estimate;
    String secret = createKey("{\"name\":\"tpm\",\"organization\":\"univ-b\",\"tokens_per_minute\":" + limit + "}")
        .get("key").asText();

    List<HttpResponse<String>> responses = hammer(secret, 20, 3);

    long used = 0;
    long ok = 0;
    for (HttpResponse<String> r : responses) {
      if (r.statusCode() == 200) {
        ok++;
        used += JSON.readTree(r.body()).path("usage").path("total_tokens").asLong();
      } else {
        assertEquals(429, r.statusCode(), r.body());
        assertEquals(Long.toString(limit), r.headers().firstValue("x-ratelimit-limit-tokens").orElseThrow());
      }
    }
    assertTrue(used <= limit, used + " tokens served under a limit of " + limit);
    assertTrue(ok >= 10, "every reservation fits: at least 10 calls, got " + ok);
    assertTrue(ok < 60, "the limit refused some");
  }

  @Test
  @Order(6)
  void usageTotalsEqualTheTokensTheServerReported() throws Exception {
    JsonNode key = createKey("{\"name\":\"usage\",\"organization\":\"univ-c\"}");
    String secret = key.get("key").asText();
    String id = key.get("id").asText();
    SimulatorStats before = server.stats();
    OpenAIClient client = client(secret);
    for (int i = 0; i < 4; i++) {
      client.chat().completions().create(chat("count these words number " + i, 7 + i));
    }
    // Streamed without include_usage: the dispatcher asks the server for usage anyway, and counts it.
    AtomicLong chunks = new AtomicLong();
    for (int i = 0; i < 3; i++) {
      try (var stream = client.chat().completions().createStreaming(chat("stream me", 9))) {
        stream.stream().forEach(c -> chunks.incrementAndGet());
      }
    }
    SimulatorStats after = server.stats();
    long expected = after.promptTokens() - before.promptTokens() + after.generationTokens()
        - before.generationTokens();

    JsonNode row = awaitUsage(id, 7);
    assertEquals(7, row.get("requests").asLong());
    assertEquals(expected, row.get("total_tokens").asLong());
    assertEquals(4 * 7 + 6 + 3 * 9, row.get("completion_tokens").asLong());
    assertTrue(row.get("energy_wh").asDouble() > 0, "the server has power_watts: each call gets its share");

    HttpResponse<String> csv = admin("GET", "/admin/usage?group_by=key&format=csv&key=" + id, null);
    assertEquals(200, csv.statusCode());
    assertTrue(csv.body().startsWith("key,requests,errors,prompt_tokens,completion_tokens,total_tokens"));
    assertTrue(csv.body().contains(id + ",7,0,"), csv.body());

    HttpResponse<String> byOrg = admin("GET", "/admin/usage?group_by=organization&from=2020-01-01", null);
    assertTrue(byOrg.body().contains("\"organization\":\"univ-c\""), byOrg.body());
  }

  private JsonNode awaitUsage(String id, int requests) throws Exception {
    long until = System.currentTimeMillis() + 10_000;
    JsonNode row = null;
    while (System.currentTimeMillis() < until) {
      HttpResponse<String> usage = admin("GET", "/admin/usage?group_by=key&key=" + id, null);
      assertEquals(200, usage.statusCode(), usage.body());
      JsonNode data = JSON.readTree(usage.body()).get("data");
      row = data.isEmpty() ? null : data.get(0);
      if (row != null && row.get("requests").asLong() >= requests) {
        return row;
      }
      Thread.onSpinWait();
    }
    throw new AssertionError("usage of " + id + " did not reach " + requests + " requests: " + row);
  }

  @Test
  @Order(7)
  void theCommandLineCreatesListsAndRevokesKeys() throws Exception {
    Map<String, String> env = Map.of("AIGUILLAGE_ADMIN_TOKEN", ADMIN_TOKEN, "AIGUILLAGE_URL", node.baseUrl());
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = new AdminCli(env, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8))
        .run(new String[] {"keys", "create", "--name", "cli", "--org", "univ-d", "--rpm", "5", "--models",
            "chat-model"});
    assertEquals(0, code, err.toString(StandardCharsets.UTF_8));
    JsonNode made = JSON.readTree(out.toString(StandardCharsets.UTF_8));
    secretsSeen.add(made.get("key").asText());
    assertEquals(5, made.get("requests_per_minute").asInt());
    assertEquals("chat-model", made.get("models").get(0).asText());

    ByteArrayOutputStream listed = new ByteArrayOutputStream();
    assertEquals(0, new AdminCli(env, new PrintStream(listed, true, StandardCharsets.UTF_8), System.err)
        .run(new String[] {"keys", "list", "--org", "univ-d"}));
    JsonNode list = JSON.readTree(listed.toString(StandardCharsets.UTF_8));
    assertEquals(made.get("id").asText(), list.get("data").get(0).get("id").asText());
    assertFalse(listed.toString(StandardCharsets.UTF_8).contains(made.get("key").asText()));

    assertEquals(0, new AdminCli(env, new PrintStream(new ByteArrayOutputStream()), System.err)
        .run(new String[] {"keys", "revoke", made.get("id").asText()}));
    assertEquals(401, rawChat(made.get("key").asText()).statusCode());
    assertEquals(2, new AdminCli(env, new PrintStream(new ByteArrayOutputStream()),
        new PrintStream(new ByteArrayOutputStream())).run(new String[] {"keys", "frobnicate"}));
  }

  @Test
  @Order(8)
  void aKeyLimitedToSomeModelsSeesOnlyThose() throws Exception {
    String secret = createKey("{\"name\":\"narrow\",\"organization\":\"univ-b\",\"models\":[\"other-model\"]}")
        .get("key").asText();
    HttpResponse<String> models = http.send(HttpRequest.newBuilder(URI.create(node.baseUrl() + "/v1/models"))
        .header("Authorization", "Bearer " + secret).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(0, JSON.readTree(models.body()).get("data").size());
    HttpResponse<String> chat = rawChat(secret);
    assertEquals(404, chat.statusCode());
    assertEquals("model_not_found", JSON.readTree(chat.body()).path("error").path("code").asText());
  }

  @Test
  @Order(9)
  void anOrganisationsLimitIsSharedByAllItsKeys() throws Exception {
    HttpResponse<String> created = admin("POST", "/admin/organizations",
        "{\"name\":\"univ-e\",\"description\":\"a university\",\"requests_per_minute\":4}");
    assertEquals(201, created.statusCode(), created.body());
    assertEquals(409, admin("POST", "/admin/organizations", "{\"name\":\"univ-e\"}").statusCode());
    String one = createKey("{\"name\":\"e1\",\"organization\":\"univ-e\"}").get("key").asText();
    String two = createKey("{\"name\":\"e2\",\"organization\":\"univ-e\"}").get("key").asText();

    int ok = 0;
    String refusal = "";
    for (int i = 0; i < 3; i++) {
      for (String key : List.of(one, two)) {
        HttpResponse<String> r = rawChat(key);
        if (r.statusCode() == 200) {
          ok++;
        } else {
          assertEquals(429, r.statusCode(), r.body());
          refusal = JSON.readTree(r.body()).path("error").path("message").asText();
        }
      }
    }
    assertEquals(4, ok, "the organisation's 4 requests per minute, whichever key sends them");
    assertTrue(refusal.contains("organisation univ-e"), refusal);

    JsonNode shown = JSON.readTree(admin("GET", "/admin/organizations/univ-e", null).body());
    assertEquals(true, shown.get("recorded").asBoolean());
    assertEquals(4, shown.get("requests_per_minute").asInt());
    assertEquals(2, shown.get("keys").asInt());
    assertTrue(shown.has("token_budget") && shown.get("token_budget").isNull(), "a limit not set is null: " + shown);
    JsonNode listed = JSON.readTree(admin("GET", "/admin/organizations", null).body()).get("data");
    JsonNode knownOnly = null;
    for (JsonNode o : listed) {
      knownOnly = o.get("recorded").asBoolean() ? knownOnly : o;
    }
    assertTrue(knownOnly != null && !knownOnly.has("requests_per_minute") && knownOnly.has("servers"),
        "an organisation known only from keys and servers has no limits to show: " + listed);
    HttpResponse<String> raised = admin("PATCH", "/admin/organizations/univ-e", "{\"requests_per_minute\":100}");
    assertEquals(100, JSON.readTree(raised.body()).get("requests_per_minute").asInt());
    assertEquals("a university", JSON.readTree(raised.body()).get("description").asText());
    assertEquals(200, rawChat(one).statusCode());
  }

  @Test
  @Order(100)
  void noSecretAppearsInAnyLogLineOrAdminAnswer() throws Exception {
    // A wrong key, sent as a client would, must not be echoed either.
    String wrong = "sk-wrong-secret-never-to-be-logged";
    secretsSeen.add(wrong);
    assertEquals(401, rawChat(wrong).statusCode());
    assertTrue(rawChat(YAML_KEY).statusCode() == 200);

    String everything = admin("GET", "/admin/keys", null).body() + admin("GET", "/admin/organizations", null).body()
        + admin("GET", "/admin/usage?group_by=server", null).body();
    ConcurrentLinkedQueue<String> lines = new ConcurrentLinkedQueue<>();
    logs.list.forEach(e -> lines.add(e.getFormattedMessage() + " " + (e.getThrowableProxy() == null ? ""
        : e.getThrowableProxy().getMessage())));
    assertTrue(lines.size() > 10, "the run was logged: " + lines.size() + " lines");
    for (String secret : secretsSeen) {
      assertFalse(everything.contains(secret), "an admin answer holds a secret");
      for (String line : lines) {
        assertFalse(line.contains(secret), "a log line holds a secret: " + line.replace(secret, "<SECRET>"));
      }
    }
  }
}
