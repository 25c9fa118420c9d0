package org.aiguillage.node;

import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.stream.Materializer;

/**
 * What anyone may look at, without a key.
 *
 * <pre>
 *   any  /health, /ready   liveness
 *   GET  /metrics   Prometheus text: the node's metrics, its process's, and the cluster as it sees it
 *   GET  /status    the models' state, servers up, queue now and lately, by datacentre (JSON, see StatusView)
 *   GET  /          the status page (HTML), for a browser; other clients (Ollama's probes) get Ollama's answer
 *   GET  /admin/    the operators' page (HTML): its figures come from the admin API, with the admin token it asks
 * </pre>
 *
 * The pages are plain HTML and JavaScript from the node's resources (no build chain); they read {@code /status}
 * and the admin API as any script would.
 */
final class StatusRoutes extends EdgeDirectives {

  private final FleetRoutes fleet;
  private final ClusterMetrics cluster;

  /** @param fleet the models as their queues see them; null on a node without the edge role (metrics only) */
  StatusRoutes(Materializer materializer, FleetRoutes fleet, ClusterMetrics cluster) {
    super(materializer);
    this.fleet = fleet;
    this.cluster = cluster;
  }

  Route route() {
    return concat(
        metricsAndHealth(),
        path("status", () -> get(() -> completeWithFuture(fleet.modelViews()
            .thenApply(views -> json(200, StatusView.of(views, System.currentTimeMillis())))))),
        pathSingleSlash(() -> get(() -> forBrowsers(() -> page("web/status.html")))),
        pathPrefix("admin", () -> pathSingleSlash(() -> get(() -> page("web/admin.html")))));
  }

  private Route metrics() {
    return path("metrics", () -> answer(() -> HttpResponse.create()
        .withEntity(ContentTypes.TEXT_PLAIN_UTF8, NodeMetrics.scrape() + cluster.scrape())));
  }

  /** What a node without the edge role serves: its metrics, and that it is alive. */
  Route metricsAndHealth() {
    return concat(metrics(),
        path(segment("health").orElse(segment("ready")), () -> answer(() -> json(200, "{\"status\":\"ok\"}"))));
  }

  /** Only a client that asks for HTML: Ollama's clients probe {@code GET /} for its text. */
  private Route forBrowsers(java.util.function.Supplier<Route> inner) {
    return optionalHeaderValueByName("Accept", accept ->
        accept.filter(a -> a.contains("text/html")).isPresent() ? inner.get() : reject());
  }

  private Route page(String resource) {
    return respondWithHeader(RawHeader.create("Cache-Control", "no-cache"), () ->
        getFromResource(resource, ContentTypes.TEXT_HTML_UTF8));
  }
}
