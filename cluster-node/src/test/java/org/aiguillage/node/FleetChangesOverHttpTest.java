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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.aiguillage.loadtest.sim.SimulatorProfile;
import org.aiguillage.loadtest.sim.VllmSimulator;
import org.aiguillage.protocol.config.FederationConfigParser;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/** Operators change the fleet through the admin API while it serves; the changes persist. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FleetChangesOverHttpTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String ADMIN = "fleet-admin";

  private VllmSimulator serverA;
  private VllmSimulator serverB;
  private Path data;
  private AiguillageNode node;
  private final HttpClient http = HttpClient.newHttpClient();
  private String serverBId;

  private AiguillageNode start() {
    return AiguillageNode.start(FederationConfigParser.parse("""
        http: { port: 0 }
        admin: { token: %s }
        persistence: { url: "jdbc:h2:file:%s" }
        tokens: [ { token: sk-fleet, name: f, organization: univ-a } ]
        models:
          - name: m
            model: org/served-model
            vllm_servers: [ { url: %s, organization: univ-a, max_parallel_requests: 8 } ]
        """.formatted(ADMIN, data.resolve("aiguillage"), serverA.baseUrl())));
  }

  @BeforeAll
  void startAll() throws Exception {
    SimulatorProfile profile = SimulatorProfile.fast().withItl(10, 10);
    serverA = VllmSimulator.start("org/served-model", profile);
    serverB = VllmSimulator.start("org/served-model", profile);
    data = Files.createTempDirectory("fleet-test");
    node = start();
  }

  @AfterAll
  void stopAll() {
    node.close();
    serverA.close();
    serverB.close();
  }

  private HttpResponse<String> admin(String method, String path, String body) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(node.baseUrl() + path))
        .header("Authorization", "Bearer " + ADMIN).header("Content-Type", "application/json")
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
        .build(), HttpResponse.BodyHandlers.ofString());
  }

  private CompletableFuture<HttpResponse<String>> chat(String model, int maxTokens, boolean stream) {
    return http.sendAsync(HttpRequest.newBuilder(URI.create(node.baseUrl() + "/v1/chat/completions"))
        .header("Authorization", "Bearer sk-fleet").header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"" + model + "\",\"stream\":" + stream
            + ",\"max_tokens\":" + maxTokens + ",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}"))
        .build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  @Order(1)
  void aServerAddedThroughTheAdminApiTakesTrafficWithinTwoSeconds() throws Exception {
    HttpResponse<String> added = admin("POST", "/admin/models/m/servers", "{\"url\":\"" + serverB.baseUrl()
        + "\",\"organization\":\"univ-b\",\"max_parallel_requests\":8}");
    assertEquals(201, added.statusCode(), added.body());
    serverBId = JSON.readTree(added.body()).get("id").asText();
    long addedAt = System.nanoTime();
    while (serverB.stats().received() == 0 && System.nanoTime() - addedAt < 10_000_000_000L) {
      List<CompletableFuture<HttpResponse<String>>> batch = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        batch.add(chat("m", 10, false));
      }
      for (var r : batch) {
        assertEquals(200, r.get(30, TimeUnit.SECONDS).statusCode());
      }
    }
    long tookMillis = (System.nanoTime() - addedAt) / 1_000_000;
    assertTrue(serverB.stats().received() > 0, "the new server was never used");
    assertTrue(tookMillis <= 2_000, "the new server took traffic after " + tookMillis + " ms");
  }

  @Test
  @Order(2)
  void aBadServerEntryIsRefusedNamingItsField() throws Exception {
    HttpResponse<String> bad = admin("POST", "/admin/models/m/servers", "{\"url\":\"ftp://x\"}");
    assertEquals(400, bad.statusCode());
    assertTrue(bad.body().contains("'url'"), bad.body());
    assertEquals(404, admin("POST", "/admin/models/nope/servers", "{\"url\":\"http://h:1\"}").statusCode());
  }

  @Test
  @Order(3)
  void removingAServerDrainsItWithoutCuttingAStream() throws Exception {
    List<CompletableFuture<HttpResponse<String>>> streams = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      streams.add(chat("m", 150, true));
    }
    while (serverB.stats().running() == 0) {
      Thread.onSpinWait();
    }
    HttpResponse<String> removed = admin("DELETE", "/admin/models/m/servers/"
        + URLEncoder.encode(serverBId, StandardCharsets.UTF_8), null);
    assertEquals(202, removed.statusCode(), removed.body());

    for (var s : streams) {
      String body = s.get(60, TimeUnit.SECONDS).body();
      assertTrue(body.trim().endsWith("data: [DONE]"), body);
      assertFalse(body.contains("\"error\""), "a stream was cut: " + body);
    }
    assertEquals(0, serverB.stats().aborted(), "no generation on the drained server was aborted");
    long receivedByB = serverB.stats().received();
    for (int i = 0; i < 8; i++) {
      assertEquals(200, chat("m", 5, false).get(30, TimeUnit.SECONDS).statusCode());
    }
    assertEquals(receivedByB, serverB.stats().received(), "the removed server gets no new work");
  }

  @Test
  @Order(4)
  void aModelAddedThroughTheAdminApiIsServedAndOnceRemovedIsNotFound() throws Exception {
    HttpResponse<String> added = admin("POST", "/admin/models", "{\"name\":\"extra\",\"model\":\"org/served-model\","
        + "\"vllm_servers\":[{\"url\":\"" + serverA.baseUrl() + "\",\"max_parallel_requests\":2}]}");
    assertEquals(201, added.statusCode(), added.body());
    assertEquals(200, chat("extra", 5, false).get(30, TimeUnit.SECONDS).statusCode());
    JsonNode models = JSON.readTree(admin("GET", "/admin/models", null).body()).get("data");
    assertEquals(2, models.size());

    assertEquals(200, admin("DELETE", "/admin/models/extra", null).statusCode());
    assertEquals(404, chat("extra", 5, false).get(30, TimeUnit.SECONDS).statusCode());
  }

  @Test
  @Order(5)
  void fleetChangesSurviveARestartAndTheYamlDoesNotUndoThem() throws Exception {
    node.close();
    node = start();
    JsonNode models = JSON.readTree(admin("GET", "/admin/models", null).body()).get("data");
    assertEquals(1, models.size(), "the removed model stays removed: " + models);
    JsonNode servers = models.get(0).get("servers");
    assertEquals(1, servers.size(), "the removed server stays removed: " + servers);
    assertEquals(200, chat("m", 5, false).get(30, TimeUnit.SECONDS).statusCode());
  }

  @Test
  @Order(6)
  void aModelsLifecycleAndAliasesChangeWhileItServes() throws Exception {
    HttpResponse<String> deprecated = admin("PATCH", "/admin/models/m",
        "{\"lifecycle\":\"deprecated\",\"aliases\":[\"m-latest\"]}");
    assertEquals(200, deprecated.statusCode(), deprecated.body());
    HttpResponse<String> viaAlias = chat("m-latest", 5, false).get(30, TimeUnit.SECONDS);
    assertEquals(200, viaAlias.statusCode(), viaAlias.body());
    assertEquals("true", viaAlias.headers().firstValue("Deprecation").orElse(""));
    String listed = http.send(HttpRequest.newBuilder(URI.create(node.baseUrl() + "/v1/models"))
        .header("Authorization", "Bearer sk-fleet").build(), HttpResponse.BodyHandlers.ofString()).body();
    assertTrue(listed.contains("\"id\":\"m-latest\"") && listed.contains("\"alias_of\":\"m\""), listed);

    assertEquals(200, admin("PATCH", "/admin/models/m", "{\"lifecycle\":\"staging\"}").statusCode());
    assertEquals(404, chat("m", 5, false).get(30, TimeUnit.SECONDS).statusCode(),
        "a model in staging is only for keys that name it");
    assertEquals(400, admin("PATCH", "/admin/models/m", "{\"lifecycle\":\"beta\"}").statusCode());
    assertEquals(200, admin("PATCH", "/admin/models/m", "{\"lifecycle\":\"production\"}").statusCode());
    assertEquals(200, chat("m", 5, false).get(30, TimeUnit.SECONDS).statusCode());
  }
}
