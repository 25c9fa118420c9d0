package org.aiguillage.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.aiguillage.protocol.config.ConfigException;
import org.aiguillage.protocol.config.FederationConfig;
import org.aiguillage.protocol.config.FederationConfigParser;
import org.junit.jupiter.api.Test;

class EdgeLimitsTest {

  private static final String FLEET = """
      models:
        - name: chat
          vllm_servers:
            - { url: "http://gpu-1:8000", max_parallel_requests: 256 }
            - { url: "http://gpu-2:8000", max_parallel_requests: 1024 }
        - name: embed
          vllm_servers:
            - { url: "http://gpu-3:8000", max_parallel_requests: 64 }
      """;

  @Test
  void theEdgeTakesAsManyConnectionsAsItsServersTakeCallsAndSpareOnes() {
    FederationConfig config = FederationConfigParser.parse(FLEET);

    assertEquals(1344, EdgeLimits.serverConnections(config));
    assertEquals(4096 + 1344, EdgeLimits.maxConnections(config));
    assertEquals(4096 + 1344, EdgeLimits.pekkoConfig(config).getInt("pekko.http.server.max-connections"));
  }

  @Test
  void anOperatorsCeilingWins() {
    FederationConfig config = FederationConfigParser.parse("http: { max_connections: 20000 }\n" + FLEET);

    assertEquals(20000, EdgeLimits.maxConnections(config));
    assertThrows(ConfigException.class, () -> FederationConfigParser.parse("http: { max_connections: 0 }\n"));
  }

  @Test
  void aFileLimitBelowWhatTheConfigurationLetsInIsToldWithTheStreamsItHolds() {
    FederationConfig config = FederationConfigParser.parse(FLEET);
    int clients = EdgeLimits.maxConnections(config);
    int servers = EdgeLimits.serverConnections(config);
    long needed = 4096 + 1344 + 1344 + EdgeLimits.OTHER_FILES;

    String why = EdgeLimits.fileLimitWarning(clients, servers, 4096).orElseThrow();
    String edgeOnly = EdgeLimits.fileLimitWarning(clients, 0, 4096).orElseThrow();

    assertTrue(why.contains("4096 files") && why.contains("about 1792 open streams"), why);
    assertTrue(edgeOnly.contains("about 3584 open streams"), "one file per stream without agents: " + edgeOnly);
    assertTrue(EdgeLimits.fileLimitWarning(clients, servers, needed).isEmpty());
    assertTrue(EdgeLimits.fileLimitWarning(clients, servers, -1).isEmpty(), "unknown: nothing to say");
  }
}
