package org.aiguillage.node;

import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import java.util.function.Supplier;
import org.aiguillage.actors.fleet.FleetRegistry;
import org.aiguillage.agents.ServerSpec;
import org.aiguillage.protocol.Json;
import org.aiguillage.protocol.config.ConfigException;
import org.aiguillage.protocol.config.FederationConfig;
import org.aiguillage.protocol.config.FederationConfigParser;
import org.aiguillage.protocol.config.Lifecycle;
import org.aiguillage.protocol.config.ModelConfig;
import org.aiguillage.protocol.config.ServerConfig;
import org.aiguillage.protocol.dispatch.QueueCommand;
import org.aiguillage.protocol.openai.ListOf;
import org.aiguillage.protocol.openai.OpenAiError;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.RecipientRef;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.stream.Materializer;

/**
 * The fleet while it serves: models and their servers, added and removed (a removed server drains first). What the
 * configuration file owns is changed in the file; the API's changes to it are overrides (decision 012).
 *
 * <pre>
 *   GET    /admin/models                              each model, each server's state and live load, their
 *                                                       owners and overrides
 *   POST   /admin/models                              add a model (201)
 *   PATCH  /admin/models/{name}                       its lifecycle and aliases (of a file's model: an override)
 *   DELETE /admin/models/{name}                       remove it (409 for a file's model)
 *   DELETE /admin/models/{name}/overrides             drop the API's overrides of a file's model
 *   POST   /admin/models/{name}/servers               add a server (201)
 *   PATCH  /admin/models/{name}/servers/{id}          its max_parallel_requests and max_waiting (of a file's
 *                                                       server: an override; null drops it)
 *   DELETE /admin/models/{name}/servers/{id}          remove a server: it drains, then stops (202; 409 for a
 *                                                       file's server)
 *   DELETE /admin/models/{name}/servers/{id}/overrides   drop the API's overrides of a file's server
 * </pre>
 */
final class FleetRoutes extends AdminDirectives {

  /** The answer to a server added (its url is the one given: a server's bearer token is never shown). */
  record ServerAdded(String id, String object, String model, String url, String organization,
      Integer maxParallelRequests, String datacenter) {}

  record ServerDraining(String id, String status) {}

  /** The answer to a change of the fleet, saying what changed. */
  record Changed(String status, String change) {}

  private final ActorSystem<?> system;
  private final Supplier<FederationConfig> config;
  private final Function<String, RecipientRef<QueueCommand>> queues;
  private final FleetView fleet;

  FleetRoutes(Materializer materializer, ActorSystem<?> system, Supplier<FederationConfig> config,
      Function<String, RecipientRef<QueueCommand>> queues, FleetView fleet) {
    super(materializer);
    this.system = system;
    this.config = config;
    this.queues = queues;
    this.fleet = fleet;
  }

  /**
   * @param who an organisation's admin sees and changes its organisation's servers only (it adds them to the models
   *     the federation lists, as its own); the models themselves are the federation's
   */
  private static final String MODELS = "The models are the federation's; an organisation's admin adds, changes and "
      + "removes its own servers (POST /admin/models/{name}/servers).";

  Route route(AdminPrincipal who) {
    return pathPrefix("models", () -> concat(
        pathEnd(() -> concat(
            get(() -> later(() -> models(who))),
            post(() -> federationOnly(who, MODELS, () ->
                body(body -> completeWithFuture(addModel(body))))))),
        pathPrefix(segment(), model -> concat(
            pathEnd(() -> concat(
                patch(() -> federationOnly(who, MODELS, () ->
                    body(body -> completeWithFuture(changeModel(model, body))))),
                delete(() -> federationOnly(who, MODELS, () -> later(() -> changeFleet(replyTo ->
                    new FleetRegistry.RemoveModel(model, replyTo), 200, "model " + model + " removed")))))),
            path("overrides", () -> delete(() -> federationOnly(who, MODELS, () -> later(() -> changeFleet(replyTo ->
                new FleetRegistry.DropOverride(model, null, replyTo), 200, "model " + model
                    + ": overrides dropped"))))),
            pathPrefix("servers", () -> concat(
                pathEnd(() -> post(() -> body(body -> completeWithFuture(addServer(who, model, body))))),
                pathPrefix(segment(), id -> concat(
                    pathEnd(() -> concat(
                        patch(() -> body(body -> completeWithFuture(withServer(who, model, id,
                            url -> changeServer(model, id, url, body))))),
                        delete(() -> later(() -> withServer(who, model, id, url -> removeServerAt(model, id, url)))))),
                    path("overrides", () -> delete(() -> later(() -> withServer(who, model, id, url ->
                        changeFleet(replyTo -> new FleetRegistry.DropOverride(model, url, replyTo), 200,
                            "server " + id + ": overrides dropped")))))))))))));
  }

  /**
   * The models and their servers as their queues see them: each server's state (ready, full, backlog,
   * kv-cache-full, unhealthy, draining), its live load and how long ago its agent last asked for work. A server
   * of this node's configuration whose agent has not asked lately is listed as not reporting.
   */
  private CompletionStage<HttpResponse> models(AdminPrincipal who) {
    return modelViews().thenApply(views -> json(200, new ListOf<>(views.stream().map(m -> m.onlyOf(who)).toList())));
  }

  /** Every model as its queue sees it now, with its queue's recent waits (for the status page). */
  CompletionStage<List<ModelView>> modelViews() {
    List<CompletableFuture<ModelView>> models = config.get().models().stream().map(m ->
        AskPattern.<QueueCommand, QueueCommand.Fleet>ask(queues.apply(m.name()),
                QueueCommand.GetFleet::new, java.time.Duration.ofSeconds(5), system.scheduler())
            .thenApply(q -> ModelView.of(m, q, fleet.state().model(m.name())))
            .toCompletableFuture()).toList();
    return CompletableFuture.allOf(models.toArray(CompletableFuture[]::new))
        .thenApply(v -> models.stream().map(CompletableFuture::join).toList());
  }

  // ---- the fleet

  private CompletionStage<HttpResponse> addModel(byte[] body) {
    ModelConfig model;
    try {
      model = FederationConfigParser.parseModel(new String(body, StandardCharsets.UTF_8));
    } catch (ConfigException e) {
      return done(invalid(e));
    }
    return changeFleet(replyTo -> new FleetRegistry.AddModel(model, replyTo), 201, "model " + model.name()
        + " added with " + model.vllmServers().size() + " server(s)");
  }

  /** {@code PATCH /admin/models/{name}}: {@code lifecycle} and {@code aliases}. */
  private CompletionStage<HttpResponse> changeModel(String name, byte[] body) {
    Optional<ModelConfig> current = fleet.model(name);
    if (current.isEmpty()) {
      return done(error(404, OpenAiError.invalidRequest("No model '" + name + "'.", null, "model_not_found")));
    }
    Lifecycle lifecycle;
    List<String> aliases;
    try {
      JsonNode patch = Json.MAPPER.readTree(body);
      java.util.Iterator<String> fields = patch.fieldNames();
      while (fields.hasNext()) {
        String field = fields.next();
        if (!field.equals("lifecycle") && !field.equals("aliases")) {
          return done(badRequest("Unknown field '" + field + "': a model's lifecycle and aliases can change here; "
              + "for anything else remove it and add it again."));
        }
      }
      try {
        lifecycle = patch.has("lifecycle") ? Lifecycle.fromWireName(patch.get("lifecycle").asText()) : null;
      } catch (IllegalArgumentException unknown) {
        return done(badRequest("invalid value for 'lifecycle': " + unknown.getMessage()));
      }
      if (patch.has("aliases")) {
        List<String> named = new java.util.ArrayList<>();
        patch.get("aliases").forEach(a -> named.add(a.asText()));
        aliases = List.copyOf(named);
      } else {
        aliases = null;
      }
    } catch (Exception e) {
      return done(invalid(e));
    }
    String what = "model " + name + ":" + (lifecycle != null ? " lifecycle " + lifecycle : "")
        + (aliases != null ? " aliases " + aliases : "");
    return changeFleet(replyTo -> new FleetRegistry.SetModel(name, lifecycle, aliases, replyTo), 200, what);
  }

  /** Adds a server; an organisation's admin adds one of its organisation's, never another's (403). */
  private CompletionStage<HttpResponse> addServer(AdminPrincipal who, String model, byte[] body) {
    ServerConfig server;
    try {
      String text = new String(body, StandardCharsets.UTF_8);
      if (!who.federation()) {
        JsonNode tree = Json.MAPPER.readTree(text);
        if (!(tree instanceof ObjectNode entry)) {
          return done(badRequest("The body must be a vllm_servers entry (url, organization, ...)."));
        }
        if (entry.hasNonNull("organization") && !entry.get("organization").asText().equals(who.organization())) {
          return done(error(403, OpenAiError.of("Your admin key adds servers of organisation '"
              + who.organization() + "' only.", "permission_error", "organization", "forbidden")));
        }
        entry.put("organization", who.organization());
        text = entry.toString();
      }
      server = FederationConfigParser.parseServer(text);
    } catch (ConfigException e) {
      return done(invalid(e));
    } catch (java.io.IOException e) {
      return done(invalid(e));
    }
    return fleet.ask(replyTo -> new FleetRegistry.AddServer(model, server, replyTo)).thenApply(reply -> {
      if (reply instanceof FleetRegistry.Refused refused) {
        return error(refused.status(), OpenAiError.invalidRequest(refused.message(), null, "fleet_refused"));
      }
      String id = ServerSpec.of(fleet.model(model).orElseThrow(), server).serverId();
      system.log().info("admin: server {} added", id);
      return json(201, new ServerAdded(id, "server", model, server.url(), server.organization(),
          server.maxParallelRequests(), server.datacenter()));
    });
  }

  /**
   * The URL of the server {@code id} of {@code model}, given to {@code inner}; 404 when there is none, or when it is
   * another organisation's and {@code who} administers one.
   */
  private CompletionStage<HttpResponse> withServer(AdminPrincipal who, String model, String id,
      Function<String, CompletionStage<HttpResponse>> inner) {
    Optional<ServerConfig> server = fleet.model(model).flatMap(m -> m.vllmServers().stream()
        .filter(s -> ServerSpec.of(m, s).serverId().equals(id)).filter(s -> who.covers(s.organization()))
        .findFirst());
    if (server.isEmpty()) {
      return done(error(404, OpenAiError.invalidRequest("No server " + id + " for model '" + model + "'.", null,
          "server_not_found")));
    }
    return inner.apply(server.get().url());
  }

  /**
   * {@code PATCH /admin/models/{name}/servers/{id}}: {@code max_parallel_requests} and {@code max_waiting}; its agent
   * follows within a second, the calls in flight go on.
   */
  private CompletionStage<HttpResponse> changeServer(String model, String id, String url, byte[] body) {
    JsonNode patch;
    try {
      patch = Json.MAPPER.readTree(body);
    } catch (Exception e) {
      return done(invalid(e));
    }
    if (patch == null || !patch.isObject()) {
      return done(badRequest("The body must be a JSON object with max_parallel_requests or max_waiting."));
    }
    java.util.Iterator<String> fields = patch.fieldNames();
    while (fields.hasNext()) {
      String field = fields.next();
      if (!field.equals("max_parallel_requests") && !field.equals("max_waiting")) {
        return done(badRequest("Unknown field '" + field + "': a server's max_parallel_requests and max_waiting "
            + "can change here; for anything else remove it and add it again (or change the file)."));
      }
    }
    Integer ceiling = patch.hasNonNull("max_parallel_requests") ? patch.get("max_parallel_requests").asInt() : null;
    Integer waiting = patch.hasNonNull("max_waiting") ? patch.get("max_waiting").asInt() : null;
    if (ceiling != null && ceiling < 1 || waiting != null && waiting < -1) {
      return done(badRequest("malformed value: max_parallel_requests must be at least 1, max_waiting -1 or more"));
    }
    return changeFleet(replyTo -> new FleetRegistry.SetServer(model, url,
        new FleetRegistry.ServerOverride(ceiling, waiting), replyTo), 200, "server " + id + ": " + patch);
  }

  /** Removes a server from its model: its agent stops taking work, finishes its streams, then stops. */
  private CompletionStage<HttpResponse> removeServerAt(String model, String id, String url) {
    return fleet.ask(replyTo -> new FleetRegistry.RemoveServer(model, url, replyTo)).thenApply(r -> {
      if (r instanceof FleetRegistry.Refused refused) {
        return error(refused.status(), OpenAiError.invalidRequest(refused.message(), null, "fleet_refused"));
      }
      system.log().info("admin: server {} removed; its agent drains", id);
      return json(202, new ServerDraining(id, "draining"));
    });
  }

  private CompletionStage<HttpResponse> changeFleet(
      Function<ActorRef<FleetRegistry.Reply>, FleetRegistry.Command>
          command, int status, String what) {
    return fleet.ask(command).thenApply(reply -> {
      if (reply instanceof FleetRegistry.Refused refused) {
        return error(refused.status(), OpenAiError.invalidRequest(refused.message(), null, "fleet_refused"));
      }
      system.log().info("admin: {}", what);
      return json(status, new Changed("ok", what));
    });
  }

}
