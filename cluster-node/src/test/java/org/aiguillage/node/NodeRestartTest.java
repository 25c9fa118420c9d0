package org.aiguillage.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.UUID;
import org.aiguillage.loadtest.sim.SimulatorProfile;
import org.aiguillage.loadtest.sim.VllmSimulator;
import org.aiguillage.protocol.config.FederationConfigParser;
import org.junit.jupiter.api.Test;

/** A node stopped and started again on the same database finds its keys, their limits and their usage. */
abstract class NodeRestartTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String ADMIN = "restart-admin-token";
  private final HttpClient http = HttpClient.newHttpClient();

  /** The YAML {@code persistence} section's value. */
  abstract String persistence();

  private AiguillageNode start(VllmSimulator server) {
    return AiguillageNode.start(FederationConfigParser.parse("""
        http: { port: 0 }
        admin: { token: %s }
        persistence: %s
        tokens: [ { token: sk-restart-yaml-key, name: yaml, organization: univ-a } ]
        models:
          - name: m
            model: org/served-model
            vllm_servers: [ { url: %s, organization: univ-a } ]
        """.formatted(ADMIN, persistence(), server.baseUrl())));
  }

  private HttpResponse<String> send(AiguillageNode node, String method, String path, String bearer, String body)
      throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(node.baseUrl() + path))
        .header("Authorization", "Bearer " + bearer).header("Content-Type", "application/json")
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
        .build(), HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> chat(AiguillageNode node, String key) throws Exception {
    return send(node, "POST", "/v1/chat/completions", key,
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":5}");
  }

  private long requestsOf(AiguillageNode node, String id, long atLeast) throws Exception {
    long until = System.currentTimeMillis() + 10_000;
    long requests = 0;
    while (System.currentTimeMillis() < until) {
      JsonNode data = JSON.readTree(send(node, "GET", "/admin/usage?group_by=key&key=" + id, ADMIN, null).body())
          .get("data");
      requests = data.isEmpty() ? 0 : data.get(0).get("requests").asLong();
      if (requests >= atLeast) {
        return requests;
      }
      Thread.onSpinWait();
    }
    return requests;
  }

  @Test
  void keysLimitsAndUsageAreAllThereAfterARestart() throws Exception {
    try (VllmSimulator server = VllmSimulator.start("org/served-model", SimulatorProfile.fast())) {
      String name = "restart-" + UUID.randomUUID();
      String secret;
      String id;
      AiguillageNode first = start(server);
      try {
        JsonNode key = JSON.readTree(send(first, "POST", "/admin/keys", ADMIN, "{\"name\":\"" + name
            + "\",\"organization\":\"univ-b\",\"requests_per_minute\":500,\"token_budget\":100000}").body());
        secret = key.get("key").asText();
        id = key.get("id").asText();
        for (int i = 0; i < 3; i++) {
          assertEquals(200, chat(first, secret).statusCode());
        }
        assertEquals(3, requestsOf(first, id, 3));
      } finally {
        first.close();
      }

      AiguillageNode second = start(server);
      try {
        assertEquals(3, requestsOf(second, id, 3), "the usage ledger kept every call");
        JsonNode key = JSON.readTree(send(second, "GET", "/admin/keys/" + id, ADMIN, null).body());
        assertEquals(name, key.get("name").asText());
        assertEquals(500, key.get("requests_per_minute").asInt());
        assertTrue(key.get("budget_used").asLong() > 0, "the budget's consumption survived: " + key);
        assertEquals(200, chat(second, secret).statusCode());
        assertEquals(200, chat(second, "sk-restart-yaml-key").statusCode());
        JsonNode keys = JSON.readTree(send(second, "GET", "/admin/keys?organization=univ-a", ADMIN, null).body());
        long yamlKeys = 0;
        for (JsonNode k : keys.get("data")) {
          yamlKeys += k.get("name").asText().equals("yaml") ? 1 : 0;
        }
        assertEquals(1, yamlKeys, "seeding the YAML keys again made no second key");
      } finally {
        second.close();
      }
    }
  }
}
