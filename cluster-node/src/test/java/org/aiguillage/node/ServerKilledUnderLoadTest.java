package org.aiguillage.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.aiguillage.loadtest.sim.SimulatorProfile;
import org.aiguillage.loadtest.sim.VllmSimulator;
import org.aiguillage.protocol.config.FederationConfigParser;
import org.junit.jupiter.api.Test;

/**
 * One of two servers dies under load: no request fails before its first byte (those are served by the other
 * server); the streams it was sending end with an error event, then [DONE].
 */
class ServerKilledUnderLoadTest {

  @Test
  void noRequestFailsBeforeItsFirstByteWhenAServerDies() throws Exception {
    SimulatorProfile profile = SimulatorProfile.fast().withItl(10, 10);
    try (VllmSimulator survivor = VllmSimulator.start("org/served-model", profile)) {
      VllmSimulator victim = VllmSimulator.start("org/served-model", profile);
      try (AiguillageNode node = AiguillageNode.start(FederationConfigParser.parse("""
          http: { port: 0 }
          persistence: { url: "jdbc:h2:mem:server-killed" }
          tokens: [ { token: sk-kill, name: k, organization: univ-a } ]
          models:
            - name: m
              model: org/served-model
              routing_strategy: round-robin
              vllm_servers:
                - { url: %s, max_parallel_requests: 4 }
                - { url: %s, max_parallel_requests: 4 }
          """.formatted(victim.baseUrl(), survivor.baseUrl())))) {
        HttpClient http = HttpClient.newHttpClient();
        List<CompletableFuture<HttpResponse<String>>> requests = new ArrayList<>();
        // 24 streams of ~1 s for 8 slots: most wait in the queue when the victim dies.
        for (int i = 0; i < 24; i++) {
          requests.add(http.sendAsync(HttpRequest.newBuilder(URI.create(node.baseUrl() + "/v1/chat/completions"))
              .header("Authorization", "Bearer sk-kill").header("Content-Type", "application/json")
              .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"m\",\"stream\":true,\"max_tokens\":100,"
                  + "\"messages\":[{\"role\":\"user\",\"content\":\"request " + i + "\"}]}"))
              .build(), HttpResponse.BodyHandlers.ofString()));
        }
        while (victim.stats().running() < 2) {
          Thread.onSpinWait();
        }
        victim.close();

        int cutAfterFirstByte = 0;
        for (CompletableFuture<HttpResponse<String>> r : requests) {
          HttpResponse<String> response = r.get(60, TimeUnit.SECONDS);
          assertEquals(200, response.statusCode(), response.body());
          String body = response.body();
          assertTrue(body.trim().endsWith("data: [DONE]"), body);
          if (body.contains("\"error\"")) {
            cutAfterFirstByte++;
            assertTrue(body.indexOf("\"content\":\"") < body.indexOf("\"error\""),
                "a stream that failed had sent output first: " + body);
          }
        }
        assertTrue(cutAfterFirstByte <= 4, "only the victim's streams in flight were cut: " + cutAfterFirstByte);
        assertTrue(survivor.stats().completed() >= 20, "the survivor served the rest");
      }
    }
  }
}
