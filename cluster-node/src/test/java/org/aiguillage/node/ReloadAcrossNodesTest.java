package org.aiguillage.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.aiguillage.loadtest.sim.SimulatorProfile;
import org.aiguillage.loadtest.sim.VllmSimulator;
import org.junit.jupiter.api.Test;

/**
 * A reload on one node of a three-node cluster reaches the agents wherever they run (decision 012): each node reads
 * its own file (its roles differ), the files list the same models and servers, as the rule asks.
 */
class ReloadAcrossNodesTest {

  private static final String ADMIN = "across-admin";
  private final HttpClient http = HttpClient.newHttpClient();
  private final ObjectMapper json = new ObjectMapper();

  private static String yaml(String roles, String seeds, String serverUrl, int ceiling) {
    return """
        node: { roles: [%s], datacenter: dc1 }
        cluster: { host: 127.0.0.1, port: 0, seed_nodes: [%s] }
        http: { host: 127.0.0.1, port: 0 }
        admin: { token: %s }
        persistence: { url: "jdbc:h2:mem:reload-across-nodes" }
        models:
          - name: m
            model: org/served-model
            vllm_servers: [ { url: %s, organization: univ-a, max_parallel_requests: %d } ]
        """.formatted(roles, seeds, ADMIN, serverUrl, ceiling);
  }

  private int ceilingSeenBy(AiguillageNode node) throws Exception {
    JsonNode models = json.readTree(http.send(HttpRequest.newBuilder(URI.create(node.baseUrl() + "/admin/models"))
        .header("Authorization", "Bearer " + ADMIN).build(), HttpResponse.BodyHandlers.ofString()).body());
    return models.at("/data/0/servers/0/max_parallel_requests").asInt(-1);
  }

  @Test
  void aReloadOnOneNodeReachesTheAgentsOfEveryNodeWithinTwoSeconds() throws Exception {
    Path dir = Files.createTempDirectory("across");
    try (VllmSimulator server = VllmSimulator.start("org/served-model", SimulatorProfile.fast())) {
      Path first = dir.resolve("edge-queue.yaml");
      Files.writeString(first, yaml("edge, queue", "", server.baseUrl(), 8));
      AiguillageNode node1 = AiguillageNode.start(first, Map.of());
      AiguillageNode node2 = null;
      AiguillageNode node3 = null;
      try {
        String seed = "\"" + node1.clusterAddress() + "\"";
        Path second = dir.resolve("agent-a.yaml");
        Files.writeString(second, yaml("agent, queue", seed, server.baseUrl(), 8));
        node2 = AiguillageNode.start(second, Map.of());
        Path third = dir.resolve("edge-agent.yaml");
        Files.writeString(third, yaml("edge, agent", seed, server.baseUrl(), 8));
        node3 = AiguillageNode.start(third, Map.of());
        long until = System.currentTimeMillis() + 10_000;
        while (ceilingSeenBy(node1) != 8 && System.currentTimeMillis() < until) {
          Thread.sleep(100);
        }
        assertEquals(8, ceilingSeenBy(node1), "the agent reports to the queue");

        // The agent runs on node2 (the oldest agent node); node3's file changes, node3 reloads.
        Files.writeString(third, yaml("edge, agent", seed, server.baseUrl(), 24));
        long reloaded = System.currentTimeMillis();
        HttpResponse<String> reload = http.send(HttpRequest.newBuilder(URI.create(node3.baseUrl()
                + "/admin/config/reload")).header("Authorization", "Bearer " + ADMIN)
            .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, reload.statusCode(), reload.body());
        while (ceilingSeenBy(node1) != 24 && System.currentTimeMillis() - reloaded < 2_000) {
          Thread.sleep(50);
        }
        long took = System.currentTimeMillis() - reloaded;
        assertEquals(24, ceilingSeenBy(node1), "the agent follows the reload");
        assertTrue(took <= 2_000, "within 2 s: " + took + " ms");
      } finally {
        for (AiguillageNode n : new AiguillageNode[] {node3, node2, node1}) {
          if (n != null) {
            n.close();
          }
        }
      }
    }
  }
}
