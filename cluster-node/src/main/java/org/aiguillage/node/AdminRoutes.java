package org.aiguillage.node;

import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import java.time.Duration;
import java.util.function.Supplier;
import org.aiguillage.protocol.config.FederationConfig;
import org.aiguillage.protocol.openai.OpenAiError;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.server.ExceptionHandler;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.management.cluster.javadsl.ClusterHttpManagementRoutes;
import org.apache.pekko.stream.Materializer;

/**
 * The operators' API under {@code /admin/}, behind the admin token (without one configured, closed: 403). Its
 * answers never hold a secret.
 *
 * <pre>
 *   /admin/keys...            {@link KeyRoutes}
 *   /admin/organizations...   {@link OrganizationRoutes}
 *   /admin/models...          {@link FleetRoutes}
 *   /admin/usage              {@link UsageRoutes}
 *   /admin/config...          {@link ConfigRoutes}
 *   POST /admin/cluster/leave             this node leaves the cluster, after what it serves (202)
 *   GET  /admin/cluster[/members]         Pekko Management's read-only cluster view: members, their status,
 *   GET  /admin/cluster/members/{address}   roles, the unreachable and who sees them, the leader, the oldest
 *   GET  /admin/cluster/shards/{region}   a shard region's shards on this node
 * </pre>
 */
final class AdminRoutes extends AdminDirectives {

  /** The answer to {@code POST /admin/cluster/leave}. */
  record Leaving(String status, String node) {}

  private final ActorSystem<?> system;
  private final Supplier<FederationConfig> config;
  private final KeyRoutes keys;
  private final OrganizationRoutes organizations;
  private final FleetRoutes fleet;
  private final UsageRoutes usage;
  private final ConfigRoutes configuration;
  private final ExceptionHandler failures;
  private final Route clusterView;

  AdminRoutes(Materializer materializer, ActorSystem<?> system, Supplier<FederationConfig> config, KeyRoutes keys,
      OrganizationRoutes organizations, FleetRoutes fleet, UsageRoutes usage, ConfigRoutes configuration) {
    super(materializer);
    this.system = system;
    this.config = config;
    this.keys = keys;
    this.organizations = organizations;
    this.fleet = fleet;
    this.usage = usage;
    this.configuration = configuration;
    this.clusterView = ClusterHttpManagementRoutes.readOnly(
        org.apache.pekko.cluster.Cluster.get(Adapter.toClassic(system)));
    this.failures = failures(system.log(), () -> error(503, OpenAiError.serverError("The key accounts did not "
        + "answer in time. Retry later.", "accounts_unavailable")),
        cause -> "The admin request failed: " + cause.getClass().getSimpleName());
  }

  Route route() {
    return pathPrefix("admin", () -> handleExceptions(failures, () -> adminToken(() -> concat(
        keys.route(),
        organizations.route(),
        fleet.route(),
        usage.route(),
        configuration.route(),
        path(segment("cluster").slash("leave"), () -> post(() -> answer(this::leave))),
        path("cluster", () -> get(() -> mapUnmatchedPath(rest -> "/cluster/members", () -> clusterView))),
        clusterView))));
  }

  /** The admin token, compared in constant time; 403 while none is configured. Read at each request. */
  private Route adminToken(Supplier<Route> inner) {
    return extractRequest(request -> {
      String token = config.get().admin().token();
      if (token == null) {
        return answer(() -> error(403, OpenAiError.of("The admin API is closed: set admin.token in the "
            + "configuration or AIGUILLAGE_ADMIN_TOKEN.", "permission_error", null, "admin_closed")));
      }
      return authenticateOAuth2(ADMIN_REALM, credentials -> credentials.filter(c -> c.verify(token)).map(c -> "admin"),
          admin -> inner.get());
    });
  }

  /** Answers first: leaving unbinds this edge and waits for the requests in flight, this one included. */
  private HttpResponse leave() {
    system.log().info("admin: this node was asked to leave the cluster");
    system.scheduler().scheduleOnce(Duration.ofMillis(200), () -> CoordinatedShutdown.get(system)
        .run(CoordinatedShutdown.clusterLeavingReason()), system.executionContext());
    return json(202, new Leaving("leaving", Cluster.get(system).selfMember().address().toString()));
  }
}
