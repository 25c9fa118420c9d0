package org.aiguillage.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.aiguillage.loadtest.sim.SimulatorProfile;
import org.aiguillage.loadtest.sim.VllmSimulator;
import org.aiguillage.protocol.Json;
import org.aiguillage.protocol.config.FederationConfigParser;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Energy and emissions per request over real HTTP: a 700 W server running two calls side by side charges each half
 * of its power for their time, the answers say what the ledger keeps, and an organisation's total is its keys' sum.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class EnergyOverHttpTest {

  private static final String ADMIN = "admin-energy-5c1e";
  private static final String KEY_A = "sk-energy-key-a-71f0";
  private static final String KEY_B = "sk-energy-key-b-0c9d";
  private static final double WATTS = 700;
  private static final double PUE = 1.25;
  private static final double GRAMS_PER_KWH = 80;

  private VllmSimulator server;
  private VllmSimulator unmeasured;
  private AiguillageNode node;
  private final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  void start() {
    // 40 tokens at 25 ms each: a call of about a second, the same for both, at any batch size.
    server = VllmSimulator.start("served-chat", SimulatorProfile.steady(25));
    unmeasured = VllmSimulator.start("meta-llama/Llama-3.1-8B-Instruct", SimulatorProfile.fast());
    node = AiguillageNode.start(FederationConfigParser.parse("""
        node: { datacenter: dc-paris }
        http: { port: 0 }
        admin: { token: %s }
        persistence: { url: "jdbc:h2:mem:energy-over-http" }
        datacenters:
          dc-paris: { pue: %s, carbon_intensity_g_per_kwh: %s }
        tokens:
          - { token: %s, name: key-a, organization: univ-b }
          - { token: %s, name: key-b, organization: univ-b }
        models:
          - name: chat
            model: served-chat
            vllm_servers:
              - { url: %s, organization: univ-a, max_parallel_requests: 8, power_watts: %s }
          - name: llama-8b
            model: meta-llama/Llama-3.1-8B-Instruct
            vllm_servers:
              - { url: %s, organization: univ-a }
        """.formatted(ADMIN, PUE, GRAMS_PER_KWH, KEY_A, KEY_B, server.baseUrl(), WATTS, unmeasured.baseUrl())));
  }

  @AfterAll
  void stop() {
    node.close();
    server.close();
    unmeasured.close();
  }

  private CompletableFuture<HttpResponse<String>> chat(String key, String model, boolean stream) {
    String body = """
        {"model": "%s", "messages": [{"role": "user", "content": "Say something long."}], "max_tokens": 40,
         "stream": %s, "stream_options": {"include_usage": true}}""".formatted(model, stream);
    if (!stream) {
      body = body.replace(", \"stream_options\": {\"include_usage\": true}", "");
    }
    return http.sendAsync(HttpRequest.newBuilder(URI.create(node.baseUrl() + "/v1/chat/completions"))
            .header("Authorization", "Bearer " + key).header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** The usage of a streamed answer: its usage chunk's. */
  private static JsonNode streamedUsage(String sse) throws Exception {
    for (String line : sse.split("\n")) {
      if (line.startsWith("data: {") && line.contains("\"usage\"")) {
        return Json.MAPPER.readTree(line.substring(6)).path("usage");
      }
    }
    throw new AssertionError("no usage chunk in " + sse);
  }

  private JsonNode usage(String groupBy) throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(
            URI.create(node.baseUrl() + "/admin/usage?from=2020-01-01&group_by=" + groupBy))
        .header("Authorization", "Bearer " + ADMIN).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode(), r.body());
    return Json.MAPPER.readTree(r.body()).path("data");
  }

  private Map<String, JsonNode> byGroup(String groupBy, int expected) throws Exception {
    // The ledger is written a moment after the calls end.
    long until = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (true) {
      Map<String, JsonNode> rows = new HashMap<>();
      long requests = 0;
      for (JsonNode row : usage(groupBy)) {
        rows.put(row.path(groupBy).asText(), row);
        requests += row.path("requests").asLong();
      }
      if (requests >= expected || System.nanoTime() > until) {
        return rows;
      }
      Thread.sleep(100);
    }
  }

  @Test
  @Order(1)
  void twoCallsSideBySideOnA700WattServerAreChargedHalfItsPowerEach() throws Exception {
    // Both keys' accounts are ready first, so that the two calls reach the server together.
    chat(KEY_A, "llama-8b", false).get();
    chat(KEY_B, "llama-8b", false).get();

    long start = System.nanoTime();
    CompletableFuture<HttpResponse<String>> a = chat(KEY_A, "chat", true);
    CompletableFuture<HttpResponse<String>> b = chat(KEY_B, "chat", true);
    HttpResponse<String> ra = a.get();
    double secondsA = (System.nanoTime() - start) / 1e9;
    HttpResponse<String> rb = b.get();
    double seconds = (System.nanoTime() - start) / 1e9;
    assertEquals(200, ra.statusCode(), ra.body());
    assertEquals(200, rb.statusCode(), rb.body());
    JsonNode usageA = streamedUsage(ra.body());
    JsonNode usageB = streamedUsage(rb.body());

    // Both ran for about the same second on the server, side by side: together they are charged 700 W for the
    // time the server was busy with them (the client's time bounds it from above), with the datacentre's overhead,
    // and each about half of it (exactly half when they start and end together: CallEnergyTest; here one may reach
    // the server a few milliseconds before the other and be alone on it meanwhile).
    double wholeWh = WATTS * PUE * seconds / 3600;
    double whA = usageA.path("energy_wh").asDouble();
    double whB = usageB.path("energy_wh").asDouble();
    assertTrue(whA + whB <= wholeWh * 1.02 && whA + whB >= wholeWh * 0.7,
        "the two calls are charged the server's energy over ~" + seconds + " s (" + wholeWh + " Wh): " + whA
            + " + " + whB);
    assertEquals(0.5, whA / (whA + whB), 0.1, "each about half: " + whA + " and " + whB + " (" + secondsA + " s)");
    for (JsonNode u : List.of(usageA, usageB)) {
      assertEquals("power", u.path("energy_method").asText());
      assertEquals(u.path("energy_wh").asDouble() / 1000 * GRAMS_PER_KWH, u.path("co2e_g").asDouble(), 1e-6,
          "CO2e at 80 g/kWh");
    }

    // The ledger keeps what the answers said; the organisation's total is its keys' sum.
    Map<String, JsonNode> keys = byGroup("key", 4);
    double keysWh = 0;
    double keysCo2 = 0;
    for (JsonNode row : keys.values()) {
      keysWh += row.path("energy_wh").asDouble();
      keysCo2 += row.path("co2e_g").asDouble();
    }
    JsonNode organization = byGroup("organization", 4).get("univ-b");
    assertEquals(keysWh, organization.path("energy_wh").asDouble(), 1e-5);
    assertEquals(keysCo2, organization.path("co2e_g").asDouble(), 1e-5);
    JsonNode chatModel = byGroup("model", 4).get("chat");
    assertEquals(usageA.path("energy_wh").asDouble() + usageB.path("energy_wh").asDouble(),
        chatModel.path("energy_wh").asDouble(), 2e-6, "the model's total is its two calls as their answers said");
  }

  @Test
  @Order(2)
  void aServerWithoutAPowerFigureGetsEcoLogitsEstimateAndSaysSo() throws Exception {
    HttpResponse<String> r = chat(KEY_A, "llama-8b", false).get();
    assertEquals(200, r.statusCode(), r.body());
    JsonNode usage = Json.MAPPER.readTree(r.body()).path("usage");

    assertEquals("ecologits", usage.path("energy_method").asText());
    long tokens = usage.path("completion_tokens").asLong();
    assertEquals(tokens * (8.91e-5 * 8 + 1.43e-3) * PUE, usage.path("energy_wh").asDouble(), 1e-6,
        "EcoLogits: (8.91e-5 x 8 B + 1.43e-3) Wh per generated token, times the PUE");
  }

  @Test
  @Order(3)
  void theMetricsCarryEnergyAndEmissionsPerKeyOrganisationAndModel() throws Exception {
    chat(KEY_B, "chat", false).get();
    long until = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    String metrics = "";
    while (System.nanoTime() < until) {
      metrics = http.send(HttpRequest.newBuilder(URI.create(node.baseUrl() + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString()).body();
      if (metrics.contains("aiguillage_co2e_milligrams_total{")) {
        break;
      }
      Thread.sleep(200);
    }
    assertTrue(metrics.lines().anyMatch(l -> l.startsWith("aiguillage_energy_milliwatt_hours_total{")
        && l.contains("organization=\"univ-b\"") && l.contains("model=\"chat\"") && l.contains("key=\"key-")),
        metrics);
    assertTrue(metrics.contains("aiguillage_co2e_milligrams_total{"), metrics);
  }
}
