package org.aiguillage.node;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import org.aiguillage.protocol.config.Lifecycle;
import org.aiguillage.protocol.config.ModelType;
import org.aiguillage.protocol.config.RoutingStrategy;
import org.junit.jupiter.api.Test;

class StatusViewTest {

  private static ModelView.Server server(String datacenter, String state) {
    return new ModelView.Server("s-" + datacenter + "-" + state, "univ-a", datacenter, state, null, null, null, null,
        null, null, null, null, null, null, null, null, null, null);
  }

  private static ModelView model(String name, Lifecycle lifecycle, Long waitP50, ModelView.Server... servers) {
    return new ModelView(name, "model", name, ModelType.TEXT_GENERATION, lifecycle, RoutingStrategy.LEAST_BUSY, 120,
        3, waitP50, List.of(), null, Map.of(), List.of(servers));
  }

  @Test
  void aModelIsUpWhenAllItsServersServeDegradedWhenSomeDoDownWhenNone() {
    StatusView status = StatusView.of(List.of(
        model("all", Lifecycle.PRODUCTION, 40L, server("dc1", "ready"), server("dc2", "full")),
        model("some", Lifecycle.PRODUCTION, null, server("dc1", "kv-cache-full"), server("dc2", "unhealthy")),
        model("none", Lifecycle.DEPRECATED, null, server("dc1", "not-reporting"), server("dc1", "draining"))), 0);

    assertEquals(List.of("up", "degraded", "down"), status.models().stream().map(StatusView.Model::state).toList());
    assertEquals("degraded", status.status());
    StatusView.Model some = status.models().get(1);
    assertEquals(1, some.serversUp());
    assertEquals(2, some.serversTotal());
    assertEquals(List.of(new StatusView.Datacenter("dc1", "up", 1, 1), new StatusView.Datacenter("dc2", "down", 0, 1)),
        some.datacenters());
    assertEquals(3, some.waiting());
  }

  @Test
  void aModelWhoseRequestsWaitedAQuarterOfItsQueueTimeoutIsDegraded() {
    StatusView slow = StatusView.of(List.of(model("m", Lifecycle.PRODUCTION, 30_000L, server("dc1", "ready"))), 0);
    StatusView fine = StatusView.of(List.of(model("m", Lifecycle.PRODUCTION, 29_999L, server("dc1", "ready"))), 0);

    assertEquals("degraded", slow.models().get(0).state(), "120 s timeout: a median wait of 30 s is too long");
    assertEquals("up", fine.models().get(0).state());
  }

  @Test
  void stagingModelsAreNotOnThePublicPage() {
    StatusView status = StatusView.of(List.of(model("next", Lifecycle.STAGING, null, server("dc1", "ready"))), 0);
    assertEquals(List.of(), status.models());
  }
}
