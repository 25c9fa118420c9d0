package org.aiguillage.node;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.aiguillage.actors.ModelQueue;
import org.aiguillage.loadtest.sim.SimulatorProfile;
import org.aiguillage.loadtest.sim.VllmSimulator;
import org.aiguillage.protocol.config.FederationConfigParser;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.cluster.sharding.ShardRegion.ClusterShardingStats;
import org.apache.pekko.cluster.sharding.typed.GetClusterShardingStats;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.junit.jupiter.api.Test;

/** A queue node that joins takes shards from the one that held them all, and serving goes on. */
class ShardRebalanceTest {

  private static final int MODELS = 8;

  private static String yaml(String roles, String seeds, String servers) {
    return """
        node: { roles: [%s] }
        cluster: { host: 127.0.0.1, port: 0, seed_nodes: [%s] }
        http: { port: 0 }
        persistence: { url: "jdbc:h2:mem:shard-rebalance" }
        tokens: [ { token: sk-rebalance, name: r, organization: univ-a } ]
        models:
        """.formatted(roles, seeds) + IntStream.range(0, MODELS).mapToObj(i -> """
          - name: model-%d
            model: org/served-model
            vllm_servers: %s
        """.formatted(i, servers)).collect(Collectors.joining());
  }

  private static Map<String, Integer> shardsPerNode(AiguillageNode node) {
    TestProbe<ClusterShardingStats> probe = TestProbe.create(node.system());
    ClusterSharding.get(node.system()).shardState().tell(new GetClusterShardingStats(ModelQueue.TYPE_KEY,
        Duration.ofSeconds(3), probe.getRef()));
    Map<String, Integer> shards = new HashMap<>();
    probe.receiveMessage(Duration.ofSeconds(5)).getRegions().forEach((address, region) ->
        shards.put(address.toString(), region.getStats().size()));
    return shards;
  }

  @Test
  void aQueueNodeThatJoinsTakesShards() throws Exception {
    try (VllmSimulator server = VllmSimulator.start("org/served-model", SimulatorProfile.fast())) {
      AiguillageNode first = AiguillageNode.start(FederationConfigParser.parse(yaml("edge, queue, agent", "",
          "[ { url: " + server.baseUrl() + ", organization: univ-a } ]")));
      AiguillageNode joining = null;
      try {
        TestProbe<Object> wait = TestProbe.create(first.system());
        wait.awaitAssert(Duration.ofSeconds(15), () -> {
          assertEquals(MODELS, shardsPerNode(first).values().stream().mapToInt(Integer::intValue).sum(),
              "every model's queue is up (its agent demands)");
          return null;
        });
        joining = AiguillageNode.start(FederationConfigParser.parse(yaml("queue",
            "\"" + first.clusterAddress() + "\"", "[]")));
        String joiner = joining.system().address().toString();
        wait.awaitAssert(Duration.ofSeconds(45), Duration.ofMillis(500), () -> {
          Map<String, Integer> shards = shardsPerNode(first);
          assertEquals(true, shards.getOrDefault(joiner, 0) > 0, "the new node holds shards: " + shards);
          return null;
        });
        HttpClient http = HttpClient.newHttpClient();
        for (int i = 0; i < MODELS; i++) {
          HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(first.baseUrl()
                  + "/v1/chat/completions")).header("Authorization", "Bearer sk-rebalance")
              .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                  "{\"model\":\"model-" + i + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                      + "\"max_tokens\":3}")).build(), HttpResponse.BodyHandlers.ofString());
          assertEquals(200, response.statusCode(), "model-" + i + " after the rebalance: " + response.body());
        }
      } finally {
        if (joining != null) {
          joining.close();
        }
        first.close();
      }
    }
  }
}
