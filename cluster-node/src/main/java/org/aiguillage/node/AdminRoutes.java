package org.aiguillage.node;

import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.aiguillage.actors.accounts.Accounts;
import org.aiguillage.actors.accounts.AuditLog;
import org.aiguillage.actors.accounts.KeyAccount;
import org.aiguillage.actors.batch.BatchStore;
import org.aiguillage.protocol.Json;
import org.aiguillage.protocol.batch.Page;
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
 * The operators' API under {@code /admin/}, behind the admin token (without one configured, closed: 403), or an
 * organisation's admin key for what belongs to that organisation ({@link AdminPrincipal}). Its answers never hold a
 * secret; every change through it is recorded in the audit log ({@code GET /admin/audit}).
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
 *   GET  /admin/audit[?limit=]            the newest changes made through this API (an organisation's admin: its own)
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
  private final Accounts accounts;
  private final AuditLog audit;
  private final BatchStore batchStore;
  private final Route clusterView;

  AdminRoutes(Materializer materializer, ActorSystem<?> system, Supplier<FederationConfig> config, KeyRoutes keys,
      OrganizationRoutes organizations, FleetRoutes fleet, UsageRoutes usage, ConfigRoutes configuration,
      Accounts accounts, AuditLog audit, BatchStore batchStore) {
    super(materializer);
    this.batchStore = batchStore;
    this.system = system;
    this.config = config;
    this.keys = keys;
    this.organizations = organizations;
    this.fleet = fleet;
    this.usage = usage;
    this.configuration = configuration;
    this.accounts = accounts;
    this.audit = audit;
    this.clusterView = ClusterHttpManagementRoutes.readOnly(
        org.apache.pekko.cluster.Cluster.get(Adapter.toClassic(system)));
    this.failures = failures(system.log(), () -> error(503, OpenAiError.serverError("The key accounts did not "
        + "answer in time. Retry later.", "accounts_unavailable")),
        cause -> "The admin request failed: " + cause.getClass().getSimpleName());
  }

  Route route() {
    return pathPrefix("admin", () -> handleExceptions(failures, () -> admin(who -> audited(who, () -> concat(
        keys.route(who),
        organizations.route(who),
        fleet.route(who),
        usage.route(who),
        path("audit", () -> get(() -> parameterOptional("limit", limit -> later(() -> audit(who, limit))))),
        path("batches", () -> get(() -> parameterMap(query -> later(() -> batches(who, query))))),
        federationOnly(who, "An organisation's admin manages its keys, its servers, its usage and its audit log.",
            () -> concat(
            configuration.route(),
            path(segment("cluster").slash("leave"), () -> post(() -> answer(this::leave))),
            path("cluster", () -> get(() -> mapUnmatchedPath(rest -> "/cluster/members", () -> clusterView))),
            clusterView)))))));
  }

  /**
   * The batches of every organisation (an organisation's admin: its own), newest first, with their organisation and
   * key: {@code organization}, {@code status}, {@code after}, {@code limit} (100; at most 1000).
   */
  private CompletionStage<HttpResponse> batches(AdminPrincipal who, Map<String, String> query) {
    java.util.OptionalInt limit = pageSize(Optional.ofNullable(query.get("limit")), 100, 1000);
    if (limit.isEmpty()) {
      return badLimit(1000);
    }
    int asked = limit.getAsInt();
    String organization = who.organization() != null ? who.organization() : query.get("organization");
    return batchStore.list(organization, Optional.ofNullable(query.get("status")),
            Optional.ofNullable(query.get("after")), asked + 1)
        .thenApply(found -> {
          List<com.fasterxml.jackson.databind.node.ObjectNode> rows = found.stream().map(listed -> {
            com.fasterxml.jackson.databind.node.ObjectNode row = Json.MAPPER.valueToTree(listed.batch());
            row.put("organization", listed.organization());
            row.put("key_id", listed.keyId());
            return row;
          }).toList();
          return json(200, Page.of(rows, asked, row -> row.get("id").asText()));
        });
  }

  /**
   * Who asks: the admin token (compared in constant time; read at each request), or a key or OIDC token that
   * administers an organisation. 403 while no admin token is configured; 401 otherwise.
   */
  private Route admin(java.util.function.Function<AdminPrincipal, Route> inner) {
    return extractRequest(request -> {
      String token = config.get().admin().token();
      if (token == null) {
        return answer(() -> error(403, OpenAiError.of("The admin API is closed: set admin.token in the "
            + "configuration or AIGUILLAGE_ADMIN_TOKEN.", "permission_error", null, "admin_closed")));
      }
      return authenticateOAuth2Async(ADMIN_REALM, credentials -> {
        if (credentials.isEmpty()) {
          return CompletableFuture.completedFuture(Optional.<AdminPrincipal>empty());
        }
        if (credentials.get().verify(token)) {
          return CompletableFuture.completedFuture(Optional.of(AdminPrincipal.FEDERATION));
        }
        return accounts.authenticate(credentials.get().identifier()).thenApply(a ->
            a instanceof KeyAccount.Authenticated k && k.adminOf() != null
                ? Optional.of(new AdminPrincipal(k.key().name() + " (" + k.key().id() + ")", k.adminOf()))
                : Optional.<AdminPrincipal>empty());
      }, inner::apply);
    });
  }

  /** Records every change (not a read) with who made it and the status it got. */
  private Route audited(AdminPrincipal who, Supplier<Route> inner) {
    return extractRequest(request -> {
      String method = request.method().value();
      if (method.equals("GET") || method.equals("HEAD")) {
        return inner.get();
      }
      String path = request.getUri().path();
      return mapResponse(response -> {
        AuditLog.Entry entry = new AuditLog.Entry(System.currentTimeMillis(), who.who(), who.organization(), method,
            path, response.status().intValue());
        CompletableFuture.runAsync(() -> {
          try {
            audit.record(entry);
          } catch (java.sql.SQLException e) {
            system.log().warn("cannot record an admin change in the audit log: {}", e.getMessage());
          }
        }, system.dispatchers().lookup(org.apache.pekko.actor.typed.DispatcherSelector.blocking()));
        return response;
      }, inner);
    });
  }

  private java.util.concurrent.CompletionStage<HttpResponse> audit(AdminPrincipal who, Optional<String> limit) {
    int n;
    try {
      n = Math.max(1, Math.min(1000, Integer.parseInt(limit.orElse("100"))));
    } catch (NumberFormatException e) {
      return CompletableFuture.completedFuture(badRequest("'limit' is a number of entries, 1 to 1000."));
    }
    return CompletableFuture.supplyAsync(() -> {
      try {
        return audit.newest(n, Optional.ofNullable(who.organization()));
      } catch (java.sql.SQLException e) {
        throw new java.util.concurrent.CompletionException(e);
      }
    }, system.dispatchers().lookup(org.apache.pekko.actor.typed.DispatcherSelector.blocking()))
        .thenApply(entries -> json(200, new org.aiguillage.protocol.openai.ListOf<>(entries.stream()
            .map(e -> new AuditView(java.time.Instant.ofEpochMilli(e.atMillis()).toString(), e.who(),
                e.organization(), e.method(), e.path(), e.status())).toList())));
  }

  /** An audit entry as {@code GET /admin/audit} shows it. */
  record AuditView(String at, String who, String organization, String method, String path, int status) {}

  /** Answers first: leaving unbinds this edge and waits for the requests in flight, this one included. */
  private HttpResponse leave() {
    system.log().info("admin: this node was asked to leave the cluster");
    system.scheduler().scheduleOnce(Duration.ofMillis(200), () -> CoordinatedShutdown.get(system)
        .run(CoordinatedShutdown.clusterLeavingReason()), system.executionContext());
    return json(202, new Leaving("leaving", Cluster.get(system).selfMember().address().toString()));
  }
}
