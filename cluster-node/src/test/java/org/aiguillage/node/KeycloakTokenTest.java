package org.aiguillage.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import org.aiguillage.loadtest.sim.SimulatorProfile;
import org.aiguillage.loadtest.sim.VllmSimulator;
import org.aiguillage.protocol.config.FederationConfigParser;
import org.junit.jupiter.api.Test;

/**
 * A token from a real Keycloak (24.0.5, unpacked by the build into target/keycloak), by the client credentials
 * grant, served by a node that accepts that realm's tokens. Keycloak starts in about 30 s on this project's 2-core
 * machine.
 */
class KeycloakTokenTest {

  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @Test
  void aTokenOfARealKeycloakRealmIsServed() throws Exception {
    Path home = Path.of("target", "keycloak", "keycloak-24.0.5").toAbsolutePath();
    assertTrue(Files.isExecutable(home.resolve("bin/kc.sh")), "Keycloak is unpacked by the build into " + home);
    Path imports = Files.createDirectories(home.resolve("data/import"));
    try (InputStream realm = getClass().getResourceAsStream("/keycloak/aiguillage-ci-realm.json")) {
      Files.copy(realm, imports.resolve("aiguillage-ci-realm.json"), StandardCopyOption.REPLACE_EXISTING);
    }
    int port;
    try (ServerSocket free = new ServerSocket(0)) {
      port = free.getLocalPort();
    }
    Process keycloak = new ProcessBuilder(home.resolve("bin/kc.sh").toString(), "start-dev", "--import-realm",
        "--http-port", Integer.toString(port), "--health-enabled", "false")
        .redirectErrorStream(true).redirectOutput(home.resolve("test-run.log").toFile()).start();
    String realm = "http://127.0.0.1:" + port + "/realms/aiguillage-ci";
    try (VllmSimulator server = VllmSimulator.start("served", SimulatorProfile.fast())) {
      awaitUp(realm, keycloak, home);
      HttpResponse<String> granted = http.send(HttpRequest.newBuilder(URI.create(realm
              + "/protocol/openid-connect/token")).header("Content-Type", "application/x-www-form-urlencoded")
          .POST(HttpRequest.BodyPublishers.ofString("grant_type=client_credentials&client_id=lab-pipeline"
              + "&client_secret=lab-pipeline-secret")).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(200, granted.statusCode(), granted.body());
      String token = new ObjectMapper().readTree(granted.body()).get("access_token").asText();

      try (AiguillageNode node = AiguillageNode.start(FederationConfigParser.parse("""
          http: { host: 127.0.0.1, port: 0 }
          persistence: { url: "jdbc:h2:mem:keycloak" }
          oidc:
            - { issuer: %s, audience: aiguillage, organization_claim: org }
          models:
            - name: m
              model: served
              vllm_servers: [ { url: %s, organization: univ-a } ]
          """.formatted(realm, server.baseUrl())))) {
        HttpResponse<String> served = http.send(HttpRequest.newBuilder(URI.create(node.baseUrl()
                + "/v1/chat/completions")).header("Authorization", "Bearer " + token)
            .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":2,"
                    + "\"routing-mode\":\"private-only\"}")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, served.statusCode(), "a Keycloak token of univ-a, served on univ-a's server: "
            + served.body());
      }
    } finally {
      keycloak.descendants().forEach(ProcessHandle::destroy);
      keycloak.destroy();
      if (!keycloak.waitFor(20, java.util.concurrent.TimeUnit.SECONDS)) {
        keycloak.descendants().forEach(ProcessHandle::destroyForcibly);
        keycloak.destroyForcibly();
      }
    }
  }

  private void awaitUp(String realm, Process keycloak, Path home) throws Exception {
    long until = System.currentTimeMillis() + 150_000;
    while (System.currentTimeMillis() < until) {
      if (!keycloak.isAlive()) {
        throw new AssertionError("Keycloak stopped: " + Files.readString(home.resolve("test-run.log")));
      }
      try {
        if (http.send(HttpRequest.newBuilder(URI.create(realm + "/.well-known/openid-configuration")).build(),
            HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
          return;
        }
      } catch (java.io.IOException notYet) {
        // still starting
      }
      Thread.sleep(500);
    }
    throw new AssertionError("Keycloak did not start within 150 s: " + Files.readString(home.resolve("test-run.log")));
  }
}
