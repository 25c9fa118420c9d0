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
 * The fleet while it serves: models and their servers, added and removed (a removed server drains first).
 *
 * <pre>
 *   GET    /admin/models                              each model, each server's state and live load
 *   POST   /admin/models                              add a model (201)
 *   PATCH  /admin/models/{name}                       its lifecycle and aliases
 *   DELETE /admin/models/{name}                       remove it
 *   POST   /admin/models/{name}/servers               add a server (201)
 *   DELETE /admin/models/{name}/servers/{id}          remove a server: it drains, then stops (202)
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

  Route route() {
    return pathPrefix("models", () -> concat(
        pathEnd(() -> concat(
            get(() -> later(this::models)),
            post(() -> body(body -> completeWithFuture(addModel(body)))))),
        pathPrefix(segment(), model -> concat(
            pathEnd(() -> concat(
                patch(() -> body(body -> completeWithFuture(changeModel(model, body)))),
                delete(() -> later(() -> changeFleet(replyTo -> new FleetRegistry.RemoveModel(model, replyTo), 200,
                    "model " + model + " removed"))))),
            pathPrefix("servers", () -> concat(
                pathEnd(() -> post(() -> body(body -> completeWithFuture(addServer(model, body))))),
                path(segment(), id -> delete(() -> later(() -> removeServer(model, id))))))))));
  }

  /**
   * The models and their servers as their queues see them: each server's state (ready, full, backlog,
   * kv-cache-full, unhealthy, draining), its live load and how long ago its agent last asked for work. A server
   * of this node's configuration whose agent has not asked lately is listed as not reporting.
   */
  private CompletionStage<HttpResponse> models() {
    List<CompletableFuture<ModelView>> models = config.get().models().stream().map(m ->
        AskPattern.<QueueCommand, QueueCommand.Fleet>ask(queues.apply(m.name()),
                QueueCommand.GetFleet::new, java.time.Duration.ofSeconds(5), system.scheduler())
            .thenApply(fleet -> ModelView.of(m, fleet)).toCompletableFuture()).toList();
    return CompletableFuture.allOf(models.toArray(CompletableFuture[]::new))
        .thenApply(v -> json(200, new ListOf<>(models.stream().map(CompletableFuture::join).toList())));
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
    List<String> aliases = new java.util.ArrayList<>();
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
        lifecycle = patch.has("lifecycle") ? Lifecycle.fromWireName(patch.get("lifecycle").asText())
            : current.get().lifecycle();
      } catch (IllegalArgumentException unknown) {
        return done(badRequest("invalid value for 'lifecycle': " + unknown.getMessage()));
      }
      if (patch.has("aliases")) {
        patch.get("aliases").forEach(a -> aliases.add(a.asText()));
      } else {
        aliases.addAll(current.get().aliases());
      }
    } catch (Exception e) {
      return done(invalid(e));
    }
    return changeFleet(replyTo -> new FleetRegistry.SetModel(name, lifecycle, aliases, replyTo), 200,
        "model " + name + " is " + lifecycle + ", aliases " + aliases);
  }

  private CompletionStage<HttpResponse> addServer(String model, byte[] body) {
    ServerConfig server;
    try {
      server = FederationConfigParser.parseServer(new String(body, StandardCharsets.UTF_8));
    } catch (ConfigException e) {
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

  /** Removes a server from its model: its agent stops taking work, finishes its streams, then stops. */
  private CompletionStage<HttpResponse> removeServer(String model, String id) {
    Optional<ServerConfig> server = fleet.model(model).flatMap(m -> m.vllmServers().stream()
        .filter(s -> ServerSpec.of(m, s).serverId().equals(id)).findFirst());
    if (server.isEmpty()) {
      return done(error(404, OpenAiError.invalidRequest("No server " + id + " for model '" + model + "'.", null,
          "server_not_found")));
    }
    return fleet.ask(replyTo -> new FleetRegistry.RemoveServer(model, server.get().url(), replyTo)).thenApply(r -> {
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
