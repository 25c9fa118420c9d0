package org.aiguillage.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.aiguillage.actors.batch.Batch;
import org.aiguillage.loadtest.sim.SimulatedText;
import org.aiguillage.loadtest.sim.SimulatorProfile;
import org.aiguillage.loadtest.sim.VllmSimulator;
import org.aiguillage.protocol.config.FederationConfigParser;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.cluster.sharding.typed.GetShardRegionState;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.junit.jupiter.api.Test;

/**
 * A batch of a few hundred lines on a three-node cluster sharing one PostgreSQL, and the node running it dies as
 * under {@code kill -9}, a third of the way through: the surviving nodes carry it on, every line completes once
 * (each custom_id once in the output file) and the server computes each line once.
 */
class BatchNodeCrashTest {

  private static final int LINES = 300;
  private static final ObjectMapper JSON = new ObjectMapper();

  private static final Config FAST_DOWNING = QueueNodeCrashTest.FAST_DOWNING;
  private static final Config CRASHES = QueueNodeCrashTest.CRASHES;

  private static String yaml(String roles, String seeds, String server) {
    return """
        node: { roles: [%s] }
        cluster: { host: 127.0.0.1, port: 0, seed_nodes: [%s] }
        http: { host: 127.0.0.1, port: 0 }
        persistence: %s
        tokens: [ { token: sk-batch-crash, name: c, organization: univ-a } ]
        models:
          - name: batch-model
            model: org/batch
            vllm_servers: [ { url: %s, organization: univ-a, max_parallel_requests: 16 } ]
        """.formatted(roles, seeds, PostgresForTests.persistence(), server);
  }

  @Test
  void theNodeRunningABatchDiesAndEveryLineIsStillServedOnce() throws Exception {
    PostgresForTests.freshFleetRegistry();
    String run = UUID.randomUUID().toString().substring(0, 8);
    try (VllmSimulator server = VllmSimulator.start("org/batch", SimulatorProfile.fast().withItl(10, 10))) {
      AiguillageNode first = AiguillageNode.start(FederationConfigParser.parse(yaml("edge, queue", "",
          server.baseUrl())), CRASHES);
      String seed = "\"" + first.clusterAddress() + "\"";
      AiguillageNode second = AiguillageNode.start(FederationConfigParser.parse(yaml("edge, queue", seed,
          server.baseUrl())), CRASHES);
      AiguillageNode agents = AiguillageNode.start(FederationConfigParser.parse(yaml("agent", seed,
          server.baseUrl())), FAST_DOWNING);
      AiguillageNode survivor = null;
      try {
        HttpClient http = HttpClient.newHttpClient();
        StringBuilder file = new StringBuilder();
        for (int i = 0; i < LINES; i++) {
          file.append("{\"custom_id\":\"").append(run).append('-').append(i).append("\",\"method\":\"POST\",")
              .append("\"url\":\"/v1/chat/completions\",\"body\":{\"model\":\"batch-model\",\"max_tokens\":30,")
              .append("\"messages\":[{\"role\":\"user\",\"content\":\"line ").append(i).append("\"}]}}\n");
        }
        String fileId = upload(http, first, file.toString()).get("id").asText();
        String batchId = post(http, first, "/v1/batches", "{\"input_file_id\":\"" + fileId + "\",\"endpoint\":"
            + "\"/v1/chat/completions\",\"completion_window\":\"24h\"}").get("id").asText();
        AiguillageNode host = hostOf(batchId, first, second);
        survivor = host == first ? second : first;
        while (get(http, survivor, "/v1/batches/" + batchId).at("/request_counts/completed").asLong() < LINES / 3) {
          Thread.sleep(20);
        }

        host.system().terminate();

        JsonNode batch = awaitFinished(http, survivor, batchId, Duration.ofSeconds(120));
        assertEquals("completed", batch.get("status").asText(), batch.toString());
        assertEquals(LINES, batch.at("/request_counts/completed").asLong(), batch.toString());
        String output = getText(http, survivor, "/v1/files/" + batch.get("output_file_id").asText() + "/content");
        Set<String> seen = new HashSet<>();
        for (String line : output.split("\n")) {
          JsonNode result = JSON.readTree(line);
          String customId = result.get("custom_id").asText();
          assertTrue(seen.add(customId), "written twice: " + customId);
          int i = Integer.parseInt(customId.substring(customId.indexOf('-') + 1));
          assertEquals(SimulatedText.answer("line " + i, 30),
              result.at("/response/body/choices/0/message/content").asText());
        }
        assertEquals(LINES, seen.size());
        assertEquals(LINES, server.stats().completed(), "the server computed each line once");
      } finally {
        agents.close();
        if (survivor != null) {
          survivor.close();
        }
        first.system().terminate();
        second.system().terminate();
      }
    }
  }

  /** The node whose shard region runs the batch's entity. */
  private static AiguillageNode hostOf(String batchId, AiguillageNode... nodes) {
    for (AiguillageNode node : nodes) {
      TestProbe<ShardRegion.CurrentShardRegionState> probe = TestProbe.create(node.system());
      ClusterSharding.get(node.system()).shardState()
          .tell(new GetShardRegionState(Batch.TYPE_KEY, probe.getRef()));
      for (ShardRegion.ShardState shard : probe.receiveMessage(Duration.ofSeconds(5)).getShards()) {
        if (shard.getEntityIds().contains(batchId)) {
          return node;
        }
      }
    }
    throw new AssertionError("no node runs " + batchId);
  }

  private static JsonNode awaitFinished(HttpClient http, AiguillageNode node, String batchId, Duration within)
      throws Exception {
    long until = System.nanoTime() + within.toNanos();
    JsonNode batch = null;
    do {
      // While the dead node's shards move (seconds), its keys' accounts do not answer: clients retry on 503.
      HttpResponse<String> response = http.send(request(node, "/v1/batches/" + batchId).GET().build(),
          HttpResponse.BodyHandlers.ofString());
      batch = response.statusCode() == 200 ? JSON.readTree(response.body()) : null;
      if (batch != null && List.of("completed", "failed", "expired", "cancelled").contains(batch.get("status").asText())) {
        return batch;
      }
      Thread.sleep(200);
    } while (System.nanoTime() < until);
    throw new AssertionError("not finished within " + within.toSeconds() + " s: " + batch);
  }

  private static JsonNode upload(HttpClient http, AiguillageNode node, String content) throws Exception {
    String boundary = "b" + UUID.randomUUID();
    String body = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n"
        + "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"lines.jsonl\"\r\n"
        + "Content-Type: application/jsonl\r\n\r\n" + content + "\r\n--" + boundary + "--\r\n";
    HttpResponse<String> response = http.send(request(node, "/v1/files")
        .header("Content-Type", "multipart/form-data; boundary=" + boundary)
        .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, response.statusCode(), response.body());
    return JSON.readTree(response.body());
  }

  private static JsonNode post(HttpClient http, AiguillageNode node, String path, String json) throws Exception {
    HttpResponse<String> response = http.send(request(node, path).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, response.statusCode(), response.body());
    return JSON.readTree(response.body());
  }

  private static JsonNode get(HttpClient http, AiguillageNode node, String path) throws Exception {
    return JSON.readTree(getText(http, node, path));
  }

  private static String getText(HttpClient http, AiguillageNode node, String path) throws Exception {
    HttpResponse<String> response = http.send(request(node, path).GET().build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, response.statusCode(), response.body());
    return response.body();
  }

  private static HttpRequest.Builder request(AiguillageNode node, String path) {
    return HttpRequest.newBuilder(URI.create(node.baseUrl() + path)).header("Authorization", "Bearer sk-batch-crash")
        .timeout(Duration.ofSeconds(30));
  }
}
