package org.aiguillage.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
 * A node asked to leave through the admin API serves the requests it accepted, those still waiting in the queue
 * included, and finishes their streams, then stops.
 */
class GracefulLeaveTest {

  private static String yaml(String roles, String seeds, String servers) {
    return """
        node: { roles: [%s], drain_timeout: 30s }
        cluster: { host: 127.0.0.1, port: 0, seed_nodes: [%s] }
        http: { port: 0 }
        admin: { token: leave-admin }
        persistence: { url: "jdbc:h2:mem:graceful-leave" }
        tokens: [ { token: sk-leave, name: l, organization: univ-a } ]
        models:
          - name: m
            model: org/served-model
            vllm_servers: %s
        """.formatted(roles, seeds, servers);
  }

  @Test
  void aLeavingNodeFinishesItsStreamsBeforeItStops() throws Exception {
    try (VllmSimulator server = VllmSimulator.start("org/served-model", SimulatorProfile.fast().withItl(10, 10))) {
      AiguillageNode queue = AiguillageNode.start(FederationConfigParser.parse(yaml("queue", "", "[]")));
      AiguillageNode leaving = AiguillageNode.start(FederationConfigParser.parse(yaml("edge, agent",
          "\"" + queue.clusterAddress() + "\"", "[ { url: " + server.baseUrl() + ", organization: univ-a, max_parallel_requests: 2 } ]")));
      try {
        HttpClient http = HttpClient.newHttpClient();
        List<CompletableFuture<HttpResponse<String>>> streams = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
          streams.add(http.sendAsync(HttpRequest.newBuilder(URI.create(leaving.baseUrl() + "/v1/chat/completions"))
              .header("Authorization", "Bearer sk-leave").header("Content-Type", "application/json")
              .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"m\",\"stream\":true,\"max_tokens\":150,"
                  + "\"messages\":[{\"role\":\"user\",\"content\":\"a long answer please\"}]}"))
              .build(), HttpResponse.BodyHandlers.ofString()));
        }
        // Two streams run, three wait in the queue: the leaving node serves them all before it goes.
        while (server.stats().running() < 2) {
          Thread.onSpinWait();
        }

        HttpResponse<String> leave = http.send(HttpRequest.newBuilder(URI.create(leaving.baseUrl()
                + "/admin/cluster/leave")).header("Authorization", "Bearer leave-admin")
            .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(202, leave.statusCode(), leave.body());

        for (CompletableFuture<HttpResponse<String>> s : streams) {
          HttpResponse<String> response = s.get(60, TimeUnit.SECONDS);
          assertEquals(200, response.statusCode());
          assertTrue(response.body().trim().endsWith("data: [DONE]"), "the stream ran to its end");
          assertFalse(response.body().contains("\"error\""), "no stream was cut: " + response.body());
          assertEquals(150, response.body().lines().filter(l -> l.contains("\"content\":\"") && !l.contains(
              "\"content\":\"\"")).count(), "every token arrived");
        }
        leaving.whenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);
        assertEquals(0, server.stats().aborted(), "no generation was aborted");
      } finally {
        leaving.close();
        queue.close();
      }
    }
  }
}
