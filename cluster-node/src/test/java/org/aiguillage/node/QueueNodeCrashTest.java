package org.aiguillage.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
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
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.Test;

/**
 * The node that holds a model's queue dies with tickets waiting in it: the shard moves, the request actors
 * re-assert their tickets, and every request is served (ARCHITECTURE.md, failure semantics).
 */
class QueueNodeCrashTest {

  /** Faster failure detection and downing than production's, so the test waits seconds, not half a minute. */
  static final Config FAST_DOWNING = ConfigFactory.parseString("""
      pekko.cluster.split-brain-resolver.stable-after = 2s
      pekko.cluster.failure-detector.acceptable-heartbeat-pause = 2s
      """);

  /** A crash: the node stops without leaving, as under kill -9 (no coordinated shutdown, no hand-over). */
  static final Config CRASHES = ConfigFactory.parseString("""
      pekko.coordinated-shutdown.run-by-actor-system-terminate = off
      pekko.coordinated-shutdown.run-by-jvm-shutdown-hook = off
      """).withFallback(FAST_DOWNING);

  private static String yaml(String roles, String seeds, String servers) {
    return """
        node: { roles: [%s] }
        cluster: { host: 127.0.0.1, port: 0, seed_nodes: [%s] }
        http: { port: 0 }
        persistence: { url: "jdbc:h2:mem:queue-node-crash" }
        tokens: [ { token: sk-crash, name: c, organization: univ-a } ]
        models:
          - name: slow
            model: org/served-model
            queue_timeout: 120s
            vllm_servers: %s
        """.formatted(roles, seeds, servers);
  }

  @Test
  void ticketsWaitingInTheQueueOfANodeThatDiesAreAllServed() throws Exception {
    // One call at a time, each about a second: the others wait in the queue.
    try (VllmSimulator server = VllmSimulator.start("org/served-model",
        SimulatorProfile.fast().withItl(8, 8))) {
      AiguillageNode queueNode = AiguillageNode.start(FederationConfigParser.parse(yaml("queue", "", "[]")), CRASHES);
      String seed = "\"" + queueNode.clusterAddress() + "\"";
      AiguillageNode edge = AiguillageNode.start(FederationConfigParser.parse(yaml("edge, agent", seed,
          "[ { url: " + server.baseUrl() + ", organization: univ-a, max_parallel_requests: 1 } ]")), FAST_DOWNING);
      AiguillageNode spare = null;
      try {
        HttpClient http = HttpClient.newHttpClient();
        // The queue's shard is allocated now, while node 1 is the only queue node.
        assertEquals(200, send(http, edge, 4).get(30, TimeUnit.SECONDS).statusCode());
        spare = AiguillageNode.start(FederationConfigParser.parse(yaml("queue", seed, "[]")), FAST_DOWNING);

        List<CompletableFuture<HttpResponse<String>>> requests = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
          requests.add(send(http, edge, 120));
        }
        long queuedBefore = server.stats().received();
        // Wait until the first is running and the rest wait in node 1's queue, then node 1 dies.
        while (server.stats().received() == queuedBefore) {
          Thread.onSpinWait();
        }
        queueNode.system().terminate();

        for (CompletableFuture<HttpResponse<String>> r : requests) {
          HttpResponse<String> response = r.get(90, TimeUnit.SECONDS);
          assertEquals(200, response.statusCode(), response.body());
        }
        assertTrue(Cluster.get(spare.system()).state().getMembers().iterator().hasNext());
        assertTrue(Cluster.get(edge.system()).selfMember().status() == MemberStatus.up());
      } finally {
        edge.close();
        if (spare != null) {
          spare.close();
        }
        queueNode.system().terminate();
      }
    }
  }

  private static CompletableFuture<HttpResponse<String>> send(HttpClient http, AiguillageNode edge, int maxTokens) {
    return http.sendAsync(HttpRequest.newBuilder(URI.create(edge.baseUrl() + "/v1/chat/completions"))
        .header("Authorization", "Bearer sk-crash").header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"slow\",\"messages\":[{\"role\":\"user\","
            + "\"content\":\"wait for me\"}],\"max_tokens\":" + maxTokens + "}"))
        .build(), HttpResponse.BodyHandlers.ofString());
  }
}
