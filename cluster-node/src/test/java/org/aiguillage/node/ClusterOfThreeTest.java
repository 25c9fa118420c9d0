package org.aiguillage.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.aiguillage.actors.ModelQueue;
import org.aiguillage.loadtest.sim.SimulatorProfile;
import org.aiguillage.loadtest.sim.VllmSimulator;
import org.aiguillage.protocol.config.FederationConfigParser;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.cluster.sharding.typed.GetClusterShardingStats;
import org.apache.pekko.cluster.sharding.ShardRegion.ClusterShardingStats;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Three nodes in one JVM, as three processes would run them: node 1 (edge, queue), node 2 (edge only), node 3
 * (agent, queue) next to the server. One database for all, as in production.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClusterOfThreeTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String ADMIN = "cluster-admin-token";
  private static final int MODELS = 6;

  private VllmSimulator server;
  private AiguillageNode node1;
  private AiguillageNode node2;
  private AiguillageNode node3;
  private final HttpClient http = HttpClient.newHttpClient();

  private String yaml(String roles, String seeds, String servers) {
    String models = IntStream.range(0, MODELS).mapToObj(i -> """
          - name: model-%d
            model: org/served-model
            vllm_servers: %s
        """.formatted(i, servers)).collect(Collectors.joining());
    return """
        node: { roles: [%s], datacenter: dc1 }
        cluster: { host: 127.0.0.1, port: 0, seed_nodes: [%s] }
        http: { port: 0 }
        admin: { token: %s }
        persistence: { url: "jdbc:h2:mem:cluster-of-three" }
        tokens: [ { token: sk-cluster-key, name: c, organization: univ-a } ]
        models:
        """.formatted(roles, seeds, ADMIN) + models;
  }

  @BeforeAll
  void start() {
    server = VllmSimulator.start("org/served-model", SimulatorProfile.fast());
    node1 = AiguillageNode.start(FederationConfigParser.parse(yaml("edge, queue", "", "[]")));
    String seed = "\"" + node1.clusterAddress() + "\"";
    node2 = AiguillageNode.start(FederationConfigParser.parse(yaml("edge", seed, "[]")));
    node3 = AiguillageNode.start(FederationConfigParser.parse(yaml("agent, queue", seed,
        "[ { url: " + server.baseUrl() + ", organization: univ-a, max_parallel_requests: 16 } ]")),
        ConfigFactory.empty());
  }

  @AfterAll
  void stop() {
    for (AiguillageNode n : new AiguillageNode[] {node2, node3, node1}) {
      if (n != null) {
        n.close();
      }
    }
    server.close();
  }

  private HttpResponse<String> chat(AiguillageNode edge, String key, String model) throws Exception {
    return chat(edge, key, model, false);
  }

  private HttpResponse<String> chat(AiguillageNode edge, String key, String model, boolean stream)
      throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(edge.baseUrl() + "/v1/chat/completions"))
        .header("Authorization", "Bearer " + key).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"" + model
            + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":4,\"stream\":"
            + stream + "}"))
        .build(), HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> admin(AiguillageNode edge, String method, String path, String body) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(edge.baseUrl() + path))
        .header("Authorization", "Bearer " + ADMIN).header("Content-Type", "application/json")
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
        .build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void aRequestThroughNodeTwosEdgeIsServedByTheAgentOnNodeThree() throws Exception {
    for (int i = 0; i < MODELS; i++) {
      HttpResponse<String> response = chat(node2, "sk-cluster-key", "model-" + i);
      assertEquals(200, response.statusCode(), response.body());
    }
    assertTrue(server.stats().completed() >= MODELS, "the one server, fronted by node 3, answered");
  }

  @Test
  void aStreamedAnswerCrossesFromNodeThreesAgentToNodeTwosClient() throws Exception {
    // The request actor is on node 2, the agent on node 3: the answer travels as a stream ref (decision 002).
    HttpResponse<String> response = chat(node2, "sk-cluster-key", "model-0", true);

    assertEquals(200, response.statusCode(), response.body());
    List<String> events = response.body().lines().filter(l -> l.startsWith("data: ")).toList();
    assertEquals("data: [DONE]", events.get(events.size() - 1));
    assertEquals(1 + 4 + 1, events.size(), "role chunk, 4 tokens, [DONE]: " + events);
  }

  @Test
  void theAgentNodeWithoutAnEdgeServesItsServersMetrics() throws Exception {
    String metrics = http.send(HttpRequest.newBuilder(URI.create(node3.metricsUrl())).build(),
        HttpResponse.BodyHandlers.ofString()).body();
    assertTrue(metrics.contains("aiguillage_server_state{") && metrics.contains("aiguillage_server_in_flight{"),
        "the agents' figures are on the agent node's /metrics: " + metrics);
    assertTrue(metrics.contains("aiguillage_cluster_members{status=\"up\"} 3"), metrics);
  }

  @Test
  void theModelsQueuesSpreadOverBothQueueNodes() throws Exception {
    for (int i = 0; i < MODELS; i++) {
      chat(node1, "sk-cluster-key", "model-" + i);
    }
    TestProbe<ClusterShardingStats> probe = TestProbe.create(node1.system());
    Set<String> hosting = new HashSet<>();
    probe.awaitAssert(Duration.ofSeconds(15), () -> {
      ClusterSharding.get(node1.system()).shardState().tell(new GetClusterShardingStats(ModelQueue.TYPE_KEY,
          Duration.ofSeconds(3), probe.getRef()));
      ClusterShardingStats stats = probe.receiveMessage(Duration.ofSeconds(5));
      hosting.clear();
      stats.getRegions().forEach((address, region) -> {
        if (!region.getStats().isEmpty()) {
          hosting.add(address.toString());
        }
      });
      assertEquals(2, hosting.size(), "queues on both queue nodes, none on the edge-only node: " + hosting);
      return null;
    });
    assertTrue(hosting.stream().noneMatch(a -> a.endsWith(node2.clusterAddress())));
  }

  @Test
  void aKeyRevokedOnOneEdgeIsRefusedOnTheOtherWithinASecond() throws Exception {
    JsonNode key = JSON.readTree(admin(node1, "POST", "/admin/keys",
        "{\"name\":\"roaming\",\"organization\":\"univ-b\"}").body());
    String secret = key.get("key").asText();
    assertEquals(200, chat(node2, secret, "model-0").statusCode(), "a key made on node 1 works on node 2");

    admin(node1, "DELETE", "/admin/keys/" + key.get("id").asText(), null);
    long revokedAt = System.nanoTime();
    assertEquals(401, chat(node1, secret, "model-0").statusCode());
    int status = 200;
    while (status != 401 && System.nanoTime() - revokedAt < 3_000_000_000L) {
      status = chat(node2, secret, "model-0").statusCode();
    }
    long tookMillis = (System.nanoTime() - revokedAt) / 1_000_000;
    assertEquals(401, status);
    assertTrue(tookMillis <= 1_000, "refused on node 2 after " + tookMillis + " ms");
  }
}
