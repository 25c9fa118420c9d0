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
import org.aiguillage.loadtest.sim.SimulatorProfile;
import org.aiguillage.loadtest.sim.VllmSimulator;
import org.aiguillage.protocol.config.FederationConfigParser;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * An organisation's admin, with a key the federation's admin made for it: its keys, servers, usage and audit; every
 * route of the admin API tried on another organisation's things answers 404 or 403 and changes nothing.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OrganizationAdminsTest {

  private static final String ADMIN = "federation-admin";
  private final ObjectMapper json = new ObjectMapper();
  private final HttpClient http = HttpClient.newHttpClient();

  private VllmSimulator ofB;
  private VllmSimulator newOfA;
  private AiguillageNode node;
  private String adminOfA;
  private String keyOfB;
  private String serverOfB;

  @BeforeAll
  void start() throws Exception {
    ofB = VllmSimulator.start("served", SimulatorProfile.fast());
    newOfA = VllmSimulator.start("served", SimulatorProfile.fast());
    node = AiguillageNode.start(FederationConfigParser.parse("""
        http: { host: 127.0.0.1, port: 0 }
        admin: { token: %s }
        persistence: { url: "jdbc:h2:mem:org-admins" }
        tokens:
          - { token: sk-user-a, name: user-a, organization: univ-a }
          - { token: sk-user-b, name: user-b, organization: univ-b }
        models:
          - name: m
            model: served
            vllm_servers: [ { url: %s, organization: univ-b, max_parallel_requests: 4 } ]
        """.formatted(ADMIN, ofB.baseUrl())));
    HttpResponse<String> made = send("POST", "/admin/keys", ADMIN,
        "{\"name\":\"admins-of-a\",\"organization\":\"univ-a\",\"admin_of\":\"univ-a\"}");
    assertEquals(201, made.statusCode(), made.body());
    adminOfA = json.readTree(made.body()).get("key").asText();
    for (JsonNode k : json.readTree(send("GET", "/admin/keys", ADMIN, null).body()).get("data")) {
      keyOfB = k.get("name").asText().equals("user-b") ? k.get("id").asText() : keyOfB;
    }
    serverOfB = URLEncoder.encode(json.readTree(send("GET", "/admin/models", ADMIN, null).body())
        .at("/data/0/servers/0/id").asText(), StandardCharsets.UTF_8);
  }

  @AfterAll
  void stop() {
    node.close();
    ofB.close();
    newOfA.close();
  }

  private HttpResponse<String> send(String method, String path, String bearer, String body) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(node.baseUrl() + path))
        .header("Authorization", "Bearer " + bearer).header("Content-Type", "application/json")
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
        .build(), HttpResponse.BodyHandlers.ofString());
  }

  private void assertStatus(int status, String method, String path, String body) throws Exception {
    HttpResponse<String> r = send(method, path, adminOfA, body);
    assertEquals(status, r.statusCode(), method + " " + path + ": " + r.body());
  }

  @Test
  void anotherOrganisationsThingsAre404Or403AndStayAsTheyAre() throws Exception {
    String before = send("GET", "/admin/keys/" + keyOfB, ADMIN, null).body();
    String fleetBefore = send("GET", "/admin/models", ADMIN, null).body();

    assertStatus(404, "GET", "/admin/keys/" + keyOfB, null);
    assertStatus(404, "PATCH", "/admin/keys/" + keyOfB, "{\"priority\":1}");
    assertStatus(404, "DELETE", "/admin/keys/" + keyOfB, null);
    assertStatus(403, "POST", "/admin/keys", "{\"name\":\"x\",\"organization\":\"univ-b\"}");
    assertStatus(403, "POST", "/admin/keys", "{\"name\":\"x\",\"admin_of\":\"univ-a\"}");
    assertStatus(404, "GET", "/admin/organizations/univ-b", null);
    assertStatus(403, "POST", "/admin/organizations", "{\"name\":\"univ-c\"}");
    assertStatus(403, "PATCH", "/admin/organizations/univ-a", "{\"requests_per_minute\":1}");
    assertStatus(403, "POST", "/admin/models", "{\"name\":\"n\",\"vllm_servers\":[]}");
    assertStatus(403, "PATCH", "/admin/models/m", "{\"lifecycle\":\"staging\"}");
    assertStatus(403, "DELETE", "/admin/models/m", null);
    assertStatus(403, "POST", "/admin/models/m/servers", "{\"url\":\"http://10.0.0.1:8000\","
        + "\"organization\":\"univ-b\"}");
    assertStatus(404, "PATCH", "/admin/models/m/servers/" + serverOfB, "{\"max_parallel_requests\":1}");
    assertStatus(404, "DELETE", "/admin/models/m/servers/" + serverOfB, null);
    assertStatus(403, "GET", "/admin/config", null);
    assertStatus(403, "POST", "/admin/config/reload", null);
    assertStatus(403, "POST", "/admin/cluster/leave", null);
    assertStatus(403, "GET", "/admin/cluster", null);

    JsonNode keys = json.readTree(send("GET", "/admin/keys?organization=univ-b", adminOfA, null).body()).get("data");
    keys.forEach(k -> assertEquals("univ-a", k.get("organization").asText(), "only its organisation's keys"));
    JsonNode orgs = json.readTree(send("GET", "/admin/organizations", adminOfA, null).body()).get("data");
    orgs.forEach(o -> assertEquals("univ-a", o.get("name").asText()));
    json.readTree(send("GET", "/admin/models", adminOfA, null).body()).at("/data/0/servers").forEach(server ->
        assertEquals("univ-a", server.get("organization").asText(), "another organisation's servers are not shown"));

    assertEquals(before, send("GET", "/admin/keys/" + keyOfB, ADMIN, null).body(), "the key did not change");
    assertEquals(json.readTree(fleetBefore).at("/data/0/servers/0/id"),
        json.readTree(send("GET", "/admin/models", ADMIN, null).body()).at("/data/0/servers/0/id"));
    assertEquals(401, send("GET", "/admin/keys", "sk-user-a", null).statusCode(), "an API key is no admin key");
  }

  @Test
  void itsOwnKeysServersUsageAndAuditAreItsToManage() throws Exception {
    HttpResponse<String> key = send("POST", "/admin/keys", adminOfA, "{\"name\":\"lab-a\"}");
    assertEquals(201, key.statusCode(), key.body());
    assertEquals("univ-a", json.readTree(key.body()).get("organization").asText());

    HttpResponse<String> added = send("POST", "/admin/models/m/servers", adminOfA,
        "{\"url\":\"" + newOfA.baseUrl() + "\",\"max_parallel_requests\":4}");
    assertEquals(201, added.statusCode(), added.body());
    long addedAt = System.currentTimeMillis();
    HttpResponse<String> served;
    do {
      served = send("POST", "/v1/chat/completions", "sk-user-a", "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
          + "\"content\":\"hi\"}],\"max_tokens\":2,\"routing-mode\":\"private-only\"}");
    } while (served.statusCode() != 200 && System.currentTimeMillis() - addedAt < 2_000);
    assertEquals(200, served.statusCode(), "its server serves within 2 s: " + served.body());
    assertTrue(newOfA.stats().received() >= 1);
    assertEquals(1, json.readTree(send("GET", "/admin/models", adminOfA, null).body()).at("/data/0/servers").size());

    JsonNode usage = json.readTree(send("GET", "/admin/usage?group_by=organization", adminOfA, null).body())
        .get("data");
    usage.forEach(row -> assertEquals("univ-a", row.get("organization").asText()));

    JsonNode audit = json.readTree(send("GET", "/admin/audit", adminOfA, null).body()).get("data");
    assertTrue(audit.size() >= 2, audit.toString());
    audit.forEach(e -> assertEquals("univ-a", e.get("organization").asText()));
    assertTrue(audit.toString().contains("/admin/models/m/servers"), audit.toString());
    assertTrue(audit.get(0).get("who").asText().startsWith("admins-of-a"), audit.toString());

    JsonNode all = json.readTree(send("GET", "/admin/audit", ADMIN, null).body()).get("data");
    assertTrue(all.toString().contains("\"who\":\"admin\""), "the federation's admin's changes too: " + all);
    assertFalse(all.toString().contains(adminOfA), "no secret in the audit log");
  }
}
