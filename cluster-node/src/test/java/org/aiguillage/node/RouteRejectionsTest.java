package org.aiguillage.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Arrays;
import java.util.Set;
import java.util.TreeSet;
import org.aiguillage.loadtest.sim.SimulatorProfile;
import org.aiguillage.loadtest.sim.VllmSimulator;
import org.aiguillage.protocol.config.FederationConfigParser;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * What each route class refuses, and how: an unknown path 404, a wrong method 405 with {@code Allow}, a body that is
 * not JSON 400, a missing key or admin token 401; every one in the OpenAI envelope, over real HTTP.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RouteRejectionsTest {

  private static final String KEY = "sk-rejections";
  private static final String ADMIN = "rejections-admin";
  private static final ObjectMapper JSON = new ObjectMapper();
  private final HttpClient http = HttpClient.newHttpClient();
  private VllmSimulator server;
  private AiguillageNode node;

  @BeforeAll
  void start() {
    server = VllmSimulator.start("m", SimulatorProfile.fast());
    node = AiguillageNode.start(FederationConfigParser.parse("""
        http: { port: 0 }
        persistence: { url: "jdbc:h2:mem:rejections" }
        admin: { token: %s }
        tokens: [ { token: %s, name: t, organization: univ-a } ]
        models:
          - name: m
            vllm_servers: [ { url: %s, max_parallel_requests: 4 } ]
        """.formatted(ADMIN, KEY, server.baseUrl())));
  }

  @AfterAll
  void stop() {
    node.close();
    server.close();
  }

  @Test
  void openAiRoutes() throws Exception {
    assertRefused(send("GET", "/v1/embeddingz", KEY, null), 404, "invalid_request_error", "unknown_url");
    assertMethods(send("GET", "/v1/chat/completions", KEY, null), "POST");
    assertMethods(send("DELETE", "/v1/completions", KEY, null), "POST");
    assertMethods(send("POST", "/v1/models", KEY, "{}"), "GET");
    assertMethods(send("PUT", "/v1/models/m", KEY, "{}"), "GET");
    assertRefused(send("POST", "/v1/chat/completions", KEY, "{not json"), 400, "invalid_request_error", null);
    assertRefused(send("POST", "/v1/chat/completions", null, "{}"), 401, "authentication_error", "invalid_api_key");
    assertRefused(send("GET", "/v1/models", "sk-wrong", null), 401, "authentication_error", "invalid_api_key");
  }

  @Test
  void keyRoutes() throws Exception {
    assertRefused(send("GET", "/admin/keys/a/b", ADMIN, null), 404, "invalid_request_error", "unknown_url");
    assertMethods(send("PUT", "/admin/keys", ADMIN, "{}"), "GET", "POST");
    assertMethods(send("POST", "/admin/keys/key-x", ADMIN, "{}"), "GET", "PATCH", "DELETE");
    assertRefused(send("POST", "/admin/keys", ADMIN, "{not json"), 400, "invalid_request_error", "invalid_value");
    assertRefused(send("GET", "/admin/keys", null, null), 401, "authentication_error", "invalid_api_key");
    HttpResponse<String> wrongToken = send("GET", "/admin/keys", KEY, null);
    assertRefused(wrongToken, 401, "authentication_error", "invalid_api_key");
    assertTrue(wrongToken.headers().firstValue("WWW-Authenticate").orElse("").startsWith("Bearer"),
        wrongToken.headers().toString());
  }

  @Test
  void organizationRoutes() throws Exception {
    assertRefused(send("GET", "/admin/organizations/a/b", ADMIN, null), 404, "invalid_request_error",
        "unknown_url");
    assertMethods(send("DELETE", "/admin/organizations", ADMIN, null), "GET", "POST");
    assertMethods(send("DELETE", "/admin/organizations/univ-a", ADMIN, null), "GET", "PATCH");
    assertRefused(send("POST", "/admin/organizations", ADMIN, "[1,"), 400, "invalid_request_error",
        "invalid_value");
    assertRefused(send("GET", "/admin/organizations", null, null), 401, "authentication_error", "invalid_api_key");
  }

  @Test
  void fleetRoutes() throws Exception {
    assertRefused(send("GET", "/admin/models/m/servers/x/y", ADMIN, null), 404, "invalid_request_error",
        "unknown_url");
    assertMethods(send("DELETE", "/admin/models", ADMIN, null), "GET", "POST");
    assertMethods(send("GET", "/admin/models/m", ADMIN, null), "PATCH", "DELETE");
    assertMethods(send("GET", "/admin/models/m/servers", ADMIN, null), "POST");
    assertMethods(send("GET", "/admin/models/m/servers/some-id", ADMIN, null), "PATCH", "DELETE");
    assertMethods(send("GET", "/admin/config/reload", ADMIN, null), "POST");
    assertRefused(send("POST", "/admin/models", ADMIN, "name: ["), 400, "invalid_request_error", "invalid_value");
    assertRefused(send("PATCH", "/admin/models/m", ADMIN, "{\"lifecycle\":"), 400, "invalid_request_error",
        "invalid_value");
    assertRefused(send("DELETE", "/admin/models/m", null, null), 401, "authentication_error", "invalid_api_key");
  }

  @Test
  void usageRoutes() throws Exception {
    assertRefused(send("GET", "/admin/usage/today", ADMIN, null), 404, "invalid_request_error", "unknown_url");
    assertMethods(send("POST", "/admin/usage", ADMIN, "{}"), "GET");
    assertRefused(send("GET", "/admin/usage?group_by=planet", ADMIN, null), 400, "invalid_request_error",
        "invalid_value");
    assertRefused(send("GET", "/admin/usage", null, null), 401, "authentication_error", "invalid_api_key");
  }

  @Test
  void adminRoutes() throws Exception {
    assertRefused(send("GET", "/admin/nothing-here", ADMIN, null), 404, "invalid_request_error", "unknown_url");
    assertMethods(send("POST", "/admin/cluster", ADMIN, "{}"), "GET");
    assertMethods(send("GET", "/admin/cluster/leave", ADMIN, null), "POST");
    assertRefused(send("GET", "/admin/cluster", "wrong-token", null), 401, "authentication_error",
        "invalid_api_key");
  }

  @Test
  void theClusterViewIsPekkoManagementsBehindTheAdminToken() throws Exception {
    HttpResponse<String> view = send("GET", "/admin/cluster/members", ADMIN, null);
    assertEquals(200, view.statusCode(), view.body());
    JsonNode members = JSON.readTree(view.body());
    assertEquals(node.clusterAddress(), members.path("selfNode").asText().replaceAll("^.*@", ""), view.body());
    assertEquals("Up", members.path("members").get(0).path("status").asText(), view.body());
    assertEquals(200, send("GET", "/admin/cluster", ADMIN, null).statusCode());
  }

  private HttpResponse<String> send(String method, String path, String bearer, String body) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(node.baseUrl() + path))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
        .header("Content-Type", "application/json");
    if (bearer != null) {
      request.header("Authorization", "Bearer " + bearer);
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static void assertMethods(HttpResponse<String> response, String... allowed) throws Exception {
    assertRefused(response, 405, "invalid_request_error", "method_not_allowed");
    Set<String> header = new TreeSet<>(Arrays.asList(response.headers().firstValue("Allow").orElseThrow()
        .split(",\\s*")));
    assertEquals(new TreeSet<>(Arrays.asList(allowed)), header, response.uri().toString());
  }

  private static void assertRefused(HttpResponse<String> response, int status, String type, String code)
      throws Exception {
    assertEquals(status, response.statusCode(), response.uri() + ": " + response.body());
    JsonNode error = JSON.readTree(response.body()).path("error");
    assertEquals(type, error.path("type").asText(), response.body());
    assertTrue(!error.path("message").asText().isEmpty(), response.body());
    if (code != null) {
      assertEquals(code, error.path("code").asText(), response.body());
    }
  }
}
