package org.aiguillage.node;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.aiguillage.actors.fleet.FleetRegistry;
import org.aiguillage.agents.ServerSpec;
import org.aiguillage.protocol.config.Lifecycle;
import org.aiguillage.protocol.config.ModelConfig;
import org.aiguillage.protocol.config.ModelType;
import org.aiguillage.protocol.config.RoutingStrategy;
import org.aiguillage.protocol.config.ServerConfig;
import org.aiguillage.protocol.dispatch.LoadSnapshot;
import org.aiguillage.protocol.dispatch.QueueCommand;

/**
 * A model as {@code GET /admin/models} shows it: its settings, its queue, and each server as the queue sees it (its
 * agent's last demand), then the servers of this node's configuration whose agents have not asked lately.
 */
record ModelView(String name, String object, String servedName, ModelType type, Lifecycle lifecycle,
    RoutingStrategy routingStrategy, long queueTimeoutSeconds, int waitingTickets,
    @JsonInclude(JsonInclude.Include.NON_NULL) Long queueWaitP50Ms, List<String> aliases, String source,
    @JsonInclude(JsonInclude.Include.NON_EMPTY) Map<String, Overridden> overrides, List<Server> servers) {

  /** An API override of a value the configuration file owns: both values. */
  record Overridden(Object api, Object file) {}

  /** Who owns an entry: {@code file:<datacenter>}, {@code api}, or {@code unrecorded} (registered before owners). */
  static String source(String owner) {
    return owner == null ? "unrecorded" : owner;
  }

  static Map<String, Overridden> overrides(FleetRegistry.ModelOverride o, ModelConfig file) {
    Map<String, Overridden> m = new LinkedHashMap<>();
    if (o.lifecycle() != null) {
      m.put("lifecycle", new Overridden(o.lifecycle(), file.lifecycle()));
    }
    if (o.aliases() != null) {
      m.put("aliases", new Overridden(o.aliases(), file.aliases()));
    }
    return m;
  }

  static Map<String, Overridden> overrides(FleetRegistry.ServerOverride o, ServerConfig file) {
    Map<String, Overridden> m = new LinkedHashMap<>();
    if (o.maxParallelRequests() != null) {
      m.put("max_parallel_requests", new Overridden(o.maxParallelRequests(), file.maxParallelRequests()));
    }
    if (o.maxWaiting() != null) {
      m.put("max_waiting", new Overridden(o.maxWaiting(), file.maxWaiting()));
    }
    return m;
  }

  /**
   * One server. A figure the server does not give (its metrics lack it) is left out, as is everything but its place
   * and state for a server not reporting.
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  record Server(String id, String organization, String datacenter, String state, Integer inFlight,
      Integer maxParallelRequests, Integer credit, Long lastDemandMsAgo, Integer running, Integer waiting,
      Double kvCacheUsage, Double prefixCacheHitRate, Integer otherCalls, Integer batchLimit, StepMs stepMs,
      Long recentTtftMs, String source, @JsonInclude(JsonInclude.Include.NON_EMPTY) Map<String, Overridden> overrides) {

    Server owned(String owner, Map<String, Overridden> overridden) {
      return new Server(id, organization, datacenter, state, inFlight, maxParallelRequests, credit, lastDemandMsAgo,
          running, waiting, kvCacheUsage, prefixCacheHitRate, otherCalls, batchLimit, stepMs, recentTtftMs,
          ModelView.source(owner), overridden);
    }

    static Server of(QueueCommand.ServerView s) {
      LoadSnapshot load = s.snapshot();
      return new Server(s.serverId(), s.organization(), s.datacenter(), load.state().wireName(), load.inFlight(),
          load.maxParallel(), s.credit(), s.lastDemandMillisAgo(),
          load.running() >= 0 ? load.running() : null,
          load.waiting() >= 0 ? load.waiting() : null,
          load.kvCacheUsage() >= 0 ? Math.round(load.kvCacheUsage() * 1000) / 1000.0 : null,
          load.prefixCacheHitRate() >= 0 ? Math.round(load.prefixCacheHitRate() * 1000) / 1000.0 : null,
          load.otherCalls() > 0 ? load.otherCalls() : null,
          load.batchLimit() > 0 ? load.batchLimit() : null,
          load.knowsItsSteps() ? new StepMs(Math.round(load.stepBaseMillis() * 100) / 100.0,
              Math.round(load.stepMillisPerCall() * 1000) / 1000.0) : null,
          Math.round(load.recentTtftSeconds() * 1000), null, null);
    }

    static Server notReporting(String id, ServerConfig c) {
      return new Server(id, c.organization(), c.datacenter(), "not-reporting", null, null, null, null, null, null,
          null, null, null, null, null, null, null, null);
    }
  }

  /** The server's step time, learnt from its metrics: a base and a cost per call in the batch. */
  record StepMs(double base, double perCall) {}

  /** The view an organisation's admin gets: its organisation's servers only. */
  ModelView onlyOf(AdminPrincipal who) {
    if (who.federation()) {
      return this;
    }
    return new ModelView(name, object, servedName, type, lifecycle, routingStrategy, queueTimeoutSeconds,
        waitingTickets, queueWaitP50Ms, aliases, source, overrides,
        servers.stream().filter(s -> who.covers(s.organization())).toList());
  }

  static ModelView of(ModelConfig m, QueueCommand.Fleet fleet) {
    return of(m, fleet, Optional.empty());
  }

  /** @param registered the model as the registry holds it: its owner, the file's values and the API's overrides */
  static ModelView of(ModelConfig m, QueueCommand.Fleet fleet, Optional<FleetRegistry.RegisteredModel> registered) {
    Set<String> reporting = new HashSet<>();
    fleet.servers().forEach(s -> reporting.add(s.serverId()));
    List<Server> servers = Stream.concat(
        fleet.servers().stream().map(Server::of),
        m.vllmServers().stream()
            .filter(c -> !reporting.contains(ServerSpec.of(m, c).serverId()))
            .map(c -> Server.notReporting(ServerSpec.of(m, c).serverId(), c)))
        .toList();
    if (registered.isPresent()) {
      FleetRegistry.RegisteredModel r = registered.get();
      servers = servers.stream().map(s -> r.servers().stream()
          .filter(reg -> ServerSpec.of(m, reg.server()).serverId().equals(s.id())).findFirst()
          .map(reg -> s.owned(reg.owner(), overrides(reg.override(), reg.server())))
          .orElse(s)).toList();
    }
    return new ModelView(m.name(), "model", m.servedName(), m.type(), m.lifecycle(), m.routingStrategy(),
        m.queueTimeout().toSeconds(), fleet.waitingTickets(),
        fleet.recentWaitP50Millis() < 0 ? null : fleet.recentWaitP50Millis(), m.aliases(),
        registered.map(r -> source(r.owner())).orElse(null),
        registered.map(r -> overrides(r.override(), r.model())).orElse(Map.of()), servers);
  }
}
