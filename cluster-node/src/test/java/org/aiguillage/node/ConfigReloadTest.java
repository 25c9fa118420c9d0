package org.aiguillage.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.aiguillage.loadtest.sim.SimulatorProfile;
import org.aiguillage.loadtest.sim.VllmSimulator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The configuration file means what it says (decision 012), over HTTP: what the file owns follows it at a restart
 * and at a reload, what the API made stays, an API override of the file's ceiling is kept and shown beside the
 * file's value, and a broken file changes nothing.
 */
abstract class ConfigReloadTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String ADMIN = "reload-admin";
  private final HttpClient http = HttpClient.newHttpClient();

  private VllmSimulator a;
  private VllmSimulator b;
  private VllmSimulator old;
  private Path file;
  private AiguillageNode node;

  /** The YAML {@code persistence} section's value, for a database this test owns. */
  abstract String persistence();

  private String persistence;

  @BeforeEach
  void start() throws Exception {
    SimulatorProfile profile = SimulatorProfile.fast().withItl(10, 10);
    a = VllmSimulator.start("served-x", profile);
    b = VllmSimulator.start("served-x", profile);
    old = VllmSimulator.start("served-old", profile);
    file = Files.createTempDirectory("reload").resolve("aiguillage.yaml");
    persistence = persistence();
    write(8, true, true);
    node = AiguillageNode.start(file, Map.of());
  }

  @AfterEach
  void stop() {
    node.close();
    a.close();
    b.close();
    old.close();
  }

  /** The file: model-x on a (ceiling {@code ceiling}) and b if {@code withB}, model-old if {@code withOld}. */
  private void write(int ceiling, boolean withB, boolean withOld) throws Exception {
    Files.writeString(file, """
        http: { host: 127.0.0.1, port: 0 }
        admin: { token: %s }
        persistence: %s
        tokens: [ { token: sk-reload, name: reload, organization: univ-a } ]
        models:
          - name: model-x
            model: served-x
            vllm_servers:
              - { url: %s, organization: univ-a, max_parallel_requests: %d }
        %s
        %s
        """.formatted(ADMIN, persistence, a.baseUrl(), ceiling,
        withB ? "      - { url: " + b.baseUrl() + ", token: s3cret, organization: univ-b, max_parallel_requests: 8 }"
            : "",
        withOld ? "  - name: model-old\n    model: served-old\n    vllm_servers: [ { url: " + old.baseUrl()
            + ", organization: univ-a } ]" : ""));
  }

  private HttpResponse<String> send(String method, String path, String bearer, String body) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(node.baseUrl() + path))
        .header("Authorization", "Bearer " + bearer).header("Content-Type", "application/json")
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
        .build(), HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> admin(String method, String path, String body) throws Exception {
    return send(method, path, ADMIN, body);
  }

  private CompletableFuture<HttpResponse<String>> chat(String model, int tokens, boolean stream) {
    return http.sendAsync(HttpRequest.newBuilder(URI.create(node.baseUrl() + "/v1/chat/completions"))
        .header("Authorization", "Bearer sk-reload").header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\","
            + "\"content\":\"hi\"}],\"max_tokens\":" + tokens + ",\"stream\":" + stream + "}")).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private JsonNode model(String name) throws Exception {
    for (JsonNode m : JSON.readTree(admin("GET", "/admin/models", null).body()).get("data")) {
      if (m.get("name").asText().equals(name)) {
        return m;
      }
    }
    return null;
  }

  private JsonNode server(String model, VllmSimulator s) throws Exception {
    for (JsonNode server : model(model).get("servers")) {
      if (server.get("id").asText().contains(":" + s.port())) {
        return server;
      }
    }
    return null;
  }

  private String idOf(VllmSimulator s) throws Exception {
    return URLEncoder.encode(server("model-x", s).get("id").asText(), StandardCharsets.UTF_8);
  }

  @Test
  void theFileIsFollowedAtAReloadAndARestartAndTheApisChangesStay() throws Exception {
    assertEquals(201, admin("POST", "/admin/models", "{\"name\":\"api-model\",\"model\":\"served-x\","
        + "\"vllm_servers\":[{\"url\":\"" + a.baseUrl() + "\",\"max_parallel_requests\":2}]}").statusCode());
    HttpResponse<String> override = admin("PATCH", "/admin/models/model-x/servers/" + idOf(a),
        "{\"max_parallel_requests\":3}");
    assertEquals(200, override.statusCode(), override.body());
    assertEquals(409, admin("DELETE", "/admin/models/model-old", null).statusCode(),
        "the file's model is removed from the file");

    // Streams on b, the server about to leave the file: they must finish, none cut.
    List<CompletableFuture<HttpResponse<String>>> streams = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      streams.add(chat("model-x", 100, true));
    }
    while (b.stats().running() == 0) {
      Thread.onSpinWait();
    }
    write(8, false, false);
    HttpResponse<String> reloaded = admin("POST", "/admin/config/reload", null);
    assertEquals(200, reloaded.statusCode(), reloaded.body());
    String changes = JSON.readTree(reloaded.body()).at("/report/changes").toString();
    assertTrue(changes.contains("model model-old removed") && changes.contains(b.baseUrl() + " of model-x removed"),
        changes);
    assertTrue(changes.contains("override kept"), changes);

    for (var s : streams) {
      String body = s.get(60, TimeUnit.SECONDS).body();
      assertTrue(body.trim().endsWith("data: [DONE]"), body);
      assertFalse(body.contains("\"error\""), "a stream was cut: " + body);
    }
    assertEquals(0, b.stats().aborted(), "the removed server drained: nothing aborted");
    assertEquals(404, chat("model-old", 2, false).get(30, TimeUnit.SECONDS).statusCode());
    assertEquals(200, chat("api-model", 2, false).get(30, TimeUnit.SECONDS).statusCode());
    long byB = b.stats().received();
    for (int i = 0; i < 4; i++) {
      assertEquals(200, chat("model-x", 2, false).get(30, TimeUnit.SECONDS).statusCode());
    }
    assertEquals(byB, b.stats().received(), "the removed server gets no new work");
    JsonNode overridden = server("model-x", a).get("overrides").get("max_parallel_requests");
    assertEquals(3, overridden.get("api").asInt());
    assertEquals(8, overridden.get("file").asInt());

    // A restart from the same file and database: the same fleet.
    node.close();
    node = AiguillageNode.start(file, Map.of());
    assertEquals(null, model("model-old"));
    assertTrue(model("api-model") != null, "the API's model survives a restart");
    assertEquals("api", model("api-model").get("source").asText());
    assertEquals("file:default", model("model-x").get("source").asText());
    assertEquals(1, model("model-x").get("servers").size());
    assertEquals(3, server("model-x", a).get("overrides").get("max_parallel_requests").get("api").asInt());

    // The file changes the overridden ceiling: its value wins, and the agent follows within a second or two.
    write(16, false, false);
    assertEquals(200, admin("POST", "/admin/config/reload", null).statusCode());
    long until = System.currentTimeMillis() + 3_000;
    JsonNode a16 = server("model-x", a);
    while (a16.path("max_parallel_requests").asInt() != 16 && System.currentTimeMillis() < until) {
      Thread.sleep(100);
      a16 = server("model-x", a);
    }
    assertEquals(16, a16.path("max_parallel_requests").asInt(), a16.toString());
    assertFalse(a16.has("overrides"), "the file changed that value: the override went");
  }

  @Test
  void aBrokenFileAtReloadChangesNothingAndNamesItsKey() throws Exception {
    Files.writeString(file, Files.readString(file).replace("max_parallel_requests: 8", "max_parallel_requests: 0"));
    HttpResponse<String> refused = admin("POST", "/admin/config/reload", null);

    assertEquals(400, refused.statusCode(), refused.body());
    assertTrue(refused.body().contains("models[0].vllm_servers[0].max_parallel_requests"), refused.body());
    assertEquals(2, model("model-x").get("servers").size());
    assertTrue(model("model-old") != null);
  }

  @Test
  void theConfigurationInForceShowsSourcesAndNoSecret() throws Exception {
    JsonNode config = JSON.readTree(admin("GET", "/admin/config", null).body());

    assertEquals(file.toString(), config.get("file").asText());
    assertEquals("reload", config.at("/keys/0/name").asText());
    assertEquals("set", config.findValues("servers").get(0).findValuesAsText("token").stream()
        .filter(t -> t.equals("set")).findFirst().orElse("none"));
    String text = config.toString();
    assertFalse(text.contains("s3cret") || text.contains("sk-reload") || text.contains(ADMIN), text);
    assertTrue(text.contains("\"source\":\"file:default\""), text);
    assertTrue(config.at("/last_change/changes").isArray());
  }
}
