package org.aiguillage.node;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class NodeMetricsTest {

  @Test
  void aGaugeWhoseInstrumentWentLeavesTheTextAndTheRestStays() {
    String text = String.join("\n",
        "# TYPE aiguillage_queue_servers gauge",
        "aiguillage_queue_servers{model=\"moved\"} 0.0",
        "aiguillage_queue_servers{model=\"chat\"} 2.0",
        "aiguillage_in_flight 3.0",
        "aiguillage_requests_total{model=\"moved\",status=\"200\"} 7.0",
        "aiguillage_server_state{model=\"a \\\"quoted\\\" name\",state=\"ready\"} 1.0",
        "");
    Map<String, Set<Map<String, String>>> live = Map.of(
        "aiguillage_queue_servers", Set.of(Map.of("model", "chat")),
        "aiguillage_in_flight", Set.of(Map.of()),
        "aiguillage_server_state", Set.of(Map.of("model", "a \"quoted\" name", "state", "ready")));

    assertEquals(String.join("\n",
        "# TYPE aiguillage_queue_servers gauge",
        "aiguillage_queue_servers{model=\"chat\"} 2.0",
        "aiguillage_in_flight 3.0",
        "aiguillage_requests_total{model=\"moved\",status=\"200\"} 7.0",
        "aiguillage_server_state{model=\"a \\\"quoted\\\" name\",state=\"ready\"} 1.0",
        ""), NodeMetrics.withoutGoneGauges(text, live), "counters are not gauges: they stay, as Prometheus expects");
  }
}
