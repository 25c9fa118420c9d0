package org.aiguillage.node;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import org.aiguillage.actors.fleet.FleetRegistry;
import org.aiguillage.protocol.config.FederationConfig;
import org.aiguillage.protocol.config.KeyConfig;
import org.aiguillage.protocol.config.ModelConfig;
import org.aiguillage.protocol.openai.OpenAiError;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.stream.Materializer;

/**
 * The configuration in force, and its reload (decision 012). No secret is shown: keys by name, server tokens as set
 * or not set, the database without its password.
 *
 * <pre>
 *   GET  /admin/config           the configuration in force, the source of each model and server, the API's
 *                                  overrides beside the file's values, and what the last start or reload did
 *   POST /admin/config/reload    read the file again and apply it (200 with the changes; 400 naming the file's
 *                                  key when it does not parse or validate: nothing changes then)
 * </pre>
 */
final class ConfigRoutes extends AdminDirectives {

  @JsonInclude(JsonInclude.Include.NON_NULL)
  record ConfigView(String object, String file, String datacenter, List<String> roles, Http http, boolean adminToken,
      Persistence persistence, List<Key> keys, List<Model> models, ConfigReload.Report lastChange) {}

  record Http(String host, int port, long maxBodyBytes, long maxAudioBytes) {}

  record Persistence(String url, String user) {}

  record Key(String name, String organization, int priority, String source) {}

  record Model(String name, String source, String servedName, String type, String lifecycle, List<String> aliases,
      String routingStrategy, long queueTimeoutSeconds,
      @JsonInclude(JsonInclude.Include.NON_EMPTY) Map<String, ModelView.Overridden> overrides,
      List<Server> servers) {}

  record Server(String url, String source, String organization, int maxParallelRequests, int maxWaiting,
      String type, String datacenter, String token,
      @JsonInclude(JsonInclude.Include.NON_EMPTY) Map<String, ModelView.Overridden> overrides) {}

  record Reloaded(String object, ConfigReload.Report report) {}

  private final ConfigReload reload;
  private final FleetView fleet;

  ConfigRoutes(Materializer materializer, ConfigReload reload, FleetView fleet) {
    super(materializer);
    this.reload = reload;
    this.fleet = fleet;
  }

  Route route() {
    return pathPrefix("config", () -> concat(
        pathEnd(() -> get(() -> answer(() -> json(200, view())))),
        path("reload", () -> post(() -> later(this::reload)))));
  }

  private CompletionStage<HttpResponse> reload() {
    if (reload.file().isEmpty()) {
      return CompletableFuture.completedFuture(error(409, OpenAiError.invalidRequest("This node was started "
          + "without a configuration file (the demo, or an embedded node): there is nothing to reload.", null,
          "no_configuration_file")));
    }
    return reload.reload().handle((report, failure) -> {
      Throwable cause = failure instanceof CompletionException && failure.getCause() != null
          ? failure.getCause() : failure;
      if (cause instanceof ConfigReload.Refused refused) {
        return error(400, OpenAiError.invalidRequest(refused.getMessage() + " (the running configuration stays)",
            null, "invalid_configuration"));
      }
      if (cause != null) {
        throw new CompletionException(cause);
      }
      return json(200, new Reloaded("config_reload", report));
    });
  }

  private ConfigView view() {
    FederationConfig c = reload.inForce();
    FleetRegistry.State state = fleet.state();
    List<Model> models = state.models().stream().map(r -> {
      ModelConfig m = r.withServers();
      List<Server> servers = r.servers().stream().map(s -> {
        var e = s.effective();
        return new Server(e.url(), ModelView.source(s.owner()), e.organization(), e.maxParallelRequests(),
            e.maxWaiting(), e.type(), e.datacenter(), e.bearerToken() == null || e.bearerToken().isEmpty()
                ? "not set" : "set", ModelView.overrides(s.override(), s.server()));
      }).toList();
      return new Model(m.name(), ModelView.source(r.owner()), m.servedName(), m.type().wireName(),
          m.lifecycle().wireName(), m.aliases(), m.routingStrategy().wireName(), m.queueTimeout().toSeconds(),
          ModelView.overrides(r.override(), r.model()), servers);
    }).toList();
    List<Key> keys = c.tokens().stream().map(ConfigRoutes::key).toList();
    return new ConfigView("config", reload.file().map(Object::toString).orElse(null), c.node().datacenter(),
        c.node().roles(), new Http(c.http().host(), c.http().port(), c.http().maxBodyBytes(),
        c.http().maxAudioBytes()), c.admin().token() != null,
        new Persistence(withoutPassword(c.persistence().jdbcUrl()), c.persistence().user()), keys, models,
        reload.last());
  }

  private static Key key(KeyConfig k) {
    return new Key(k.name(), k.organization(), k.priority(), "file");
  }

  /** A JDBC URL with any {@code password=} parameter masked. */
  static String withoutPassword(String url) {
    return url == null ? null : url.replaceAll("(?i)(password=)[^&;]*", "$1***");
  }
}
