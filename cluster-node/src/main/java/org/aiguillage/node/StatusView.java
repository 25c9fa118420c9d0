package org.aiguillage.node;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.aiguillage.protocol.config.Lifecycle;
import org.aiguillage.protocol.config.ModelType;

/**
 * What {@code GET /status} answers and the status page shows, to anyone: per model whether it serves, how many of
 * its servers are up, what waits now and how long a request waited lately, by datacentre. No key, no server
 * address, no organisation: nothing that is not already public by the models list.
 *
 * <p>A model is {@code up} when all its servers are, {@code degraded} when only some are or when its queue wait
 * over the last 5 minutes had a median of a quarter of its queue timeout or more, {@code down} when none is. The
 * whole is up when every model is, down when every model is, degraded otherwise.
 */
record StatusView(String object, String status, String updatedAt, List<Model> models) {

  /** The states in which a server serves: it takes work, or will once its calls end. */
  static final Set<String> SERVING = Set.of("ready", "full", "backlog", "kv-cache-full");

  @JsonInclude(JsonInclude.Include.ALWAYS)
  record Model(String name, ModelType type, String state, int serversUp, int serversTotal, int waiting,
      Long queueWaitP50Ms, List<Datacenter> datacenters) {}

  record Datacenter(String name, String state, int serversUp, int serversTotal) {}

  static StatusView of(List<ModelView> views, long nowMillis) {
    List<Model> models = views.stream()
        .filter(v -> v.lifecycle() != Lifecycle.STAGING)
        .map(StatusView::model)
        .toList();
    long up = models.stream().filter(m -> m.state().equals("up")).count();
    long down = models.stream().filter(m -> m.state().equals("down")).count();
    String status = up == models.size() ? "up" : down == models.size() ? "down" : "degraded";
    return new StatusView("status", status, Instant.ofEpochMilli(nowMillis).toString(), models);
  }

  private static Model model(ModelView v) {
    Map<String, int[]> byDatacenter = new TreeMap<>();
    for (ModelView.Server s : v.servers()) {
      int[] counts = byDatacenter.computeIfAbsent(s.datacenter(), dc -> new int[2]);
      counts[1]++;
      if (SERVING.contains(s.state())) {
        counts[0]++;
      }
    }
    int serversUp = byDatacenter.values().stream().mapToInt(c -> c[0]).sum();
    int total = byDatacenter.values().stream().mapToInt(c -> c[1]).sum();
    boolean slow = v.queueWaitP50Ms() != null && v.queueWaitP50Ms() * 4 >= v.queueTimeoutSeconds() * 1000;
    List<Datacenter> datacenters = byDatacenter.entrySet().stream()
        .map(e -> new Datacenter(e.getKey(), state(e.getValue()[0], e.getValue()[1], false), e.getValue()[0],
            e.getValue()[1]))
        .toList();
    return new Model(v.name(), v.type(), state(serversUp, total, slow), serversUp, total, v.waitingTickets(),
        v.queueWaitP50Ms(), datacenters);
  }

  private static String state(int up, int total, boolean slow) {
    if (up == 0) {
      return "down";
    }
    return up < total || slow ? "degraded" : "up";
  }
}
