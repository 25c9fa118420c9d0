package org.aiguillage.node;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import java.util.function.Supplier;
import kamon.Kamon;
import kamon.tag.TagSet;
import org.aiguillage.actors.RequestActor;
import org.aiguillage.actors.RequestActor.Outcome;
import org.aiguillage.actors.edge.ApiKey;
import org.aiguillage.actors.accounts.KeyAccount;
import org.aiguillage.actors.accounts.Accounts;
import org.aiguillage.actors.accounts.RateLimits;
import org.aiguillage.actors.edge.CompletionRequest;
import org.aiguillage.agents.SseEvents;
import org.aiguillage.protocol.config.FederationConfig;
import org.aiguillage.protocol.config.ModelConfig;
import org.aiguillage.protocol.dispatch.QueueCommand;
import org.aiguillage.protocol.openai.OpenAiError;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.RecipientRef;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpMethod;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.headers.Allow;
import org.apache.pekko.http.javadsl.model.headers.Authorization;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.util.ByteString;

/**
 * The OpenAI-compatible HTTP face of an edge node: translates HTTP to tickets and request actors, and outcomes back
 * to HTTP. Every error it answers is in the OpenAI envelope.
 */
final class OpenAiEdge {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final ContentType EVENT_STREAM = ContentTypes.create(MediaTypes.TEXT_EVENT_STREAM);
  private static final ByteString KEEP_ALIVE = ByteString.fromString(": keep-alive\n\n");
  private static final Duration KEEP_ALIVE_AFTER = Duration.ofSeconds(15);
  private static final Duration BODY_TIMEOUT = Duration.ofSeconds(60);
  private static final KeyAccount.Admission UNLIMITED = new KeyAccount.Admitted(RateLimits.NONE);

  private final ActorSystem<?> system;
  private final Materializer materializer;
  private final Supplier<FederationConfig> config;
  private final Accounts accounts;
  private final Function<String, RecipientRef<QueueCommand>> queues;
  private final RequestActor.Settings requestSettings;

  OpenAiEdge(ActorSystem<?> system, Supplier<FederationConfig> config, Accounts accounts,
      Function<String, RecipientRef<QueueCommand>> queues, RequestActor.Settings requestSettings) {
    this.system = system;
    this.materializer = Materializer.matFromSystem(system);
    this.config = config;
    this.accounts = accounts;
    this.queues = queues;
    this.requestSettings = requestSettings;
  }

  CompletionStage<HttpResponse> handle(HttpRequest request, ClientConnection connection) {
    String path = request.getUri().path();
    HttpMethod method = request.method();
    switch (path) {
      case "/health", "/ready" -> {
        return done(request, json(200, "{\"status\":\"ok\"}"));
      }
      case "/metrics" -> {
        return done(request, HttpResponse.create().withEntity(ContentTypes.TEXT_PLAIN_UTF8, NodeMetrics.scrape()));
      }
      case "/v1/chat/completions" -> {
        return completion(request, CompletionRequest.Endpoint.CHAT, connection);
      }
      case "/v1/completions" -> {
        return completion(request, CompletionRequest.Endpoint.COMPLETIONS, connection);
      }
      default -> {
        if (path.equals("/v1/models") || path.startsWith("/v1/models/")) {
          if (method != HttpMethods.GET) {
            return done(request, methodNotAllowed(method, HttpMethods.GET));
          }
          request.discardEntityBytes(materializer);
          return authenticate(request).thenApply(auth -> auth instanceof KeyAccount.Authenticated a
              ? models(a.key(), path.substring("/v1/models".length()))
              : unauthorized((KeyAccount.AuthenticationRefused) auth))
              .exceptionally(OpenAiEdge::accountsUnavailable);
        }
        return done(request, error(404, OpenAiError.invalidRequest("Unknown request URL: " + method.value() + " "
            + path + ".", null, "unknown_url"), 0));
      }
    }
  }

  private CompletionStage<HttpResponse> completion(HttpRequest request, CompletionRequest.Endpoint endpoint,
      ClientConnection connection) {
    if (request.method() != HttpMethods.POST) {
      return done(request, methodNotAllowed(request.method(), HttpMethods.POST));
    }
    long limit = config.get().http().maxBodyBytes();
    HttpEntity entity = request.entity();
    return authenticate(request).thenCompose(auth -> {
      if (auth instanceof KeyAccount.AuthenticationRefused refused) {
        return done(request, unauthorized(refused));
      }
      KeyAccount.Authenticated authenticated = (KeyAccount.Authenticated) auth;
      return RequestBody.read(entity, limit, BODY_TIMEOUT, materializer).thenCompose(read -> {
        if (read instanceof RequestBody.Body body) {
          return dispatch(endpoint, body.bytes(), authenticated, connection);
        }
        if (read instanceof RequestBody.TooSlow slow) {
          count(null, 408);
          return CompletableFuture.completedFuture(error(408, slow.error(), 0));
        }
        return CompletableFuture.completedFuture(tooLarge(limit));
      });
    }).exceptionally(failure -> {
          Throwable cause = failure instanceof java.util.concurrent.CompletionException ? failure.getCause() : failure;
          if (cause instanceof java.util.concurrent.TimeoutException) {
            return accountsUnavailable(cause);
          }
          system.log().warn("request failed in the edge: {}", cause.toString());
          return error(500, OpenAiError.serverError("The dispatcher failed on this request.", "internal_error"), 0);
        });
  }

  private CompletionStage<HttpResponse> dispatch(CompletionRequest.Endpoint endpoint, byte[] body,
      KeyAccount.Authenticated authenticated, ClientConnection connection) {
    ApiKey key = authenticated.key();
    FederationConfig current = config.get();
    // This node's configuration lists the servers its own datacentre's agents front; a model it lists none for may
    // have servers elsewhere in the cluster, and then only its queue can tell.
    CompletionRequest.Parsed parsed = CompletionRequest.parse(endpoint, body, key, current::model,
        (organization, model) -> current.model(model).map(m -> m.vllmServers().isEmpty()
            || m.vllmServers().stream().anyMatch(s -> s.organization().equals(organization))).orElse(false),
        System.currentTimeMillis(), current.node().datacenter());
    if (parsed instanceof CompletionRequest.Invalid invalid) {
      count(null, invalid.status());
      return CompletableFuture.completedFuture(error(invalid.status(), invalid.error(), 0));
    }
    CompletionRequest.Accepted accepted = (CompletionRequest.Accepted) parsed;
    String model = accepted.model().name();
    if (accepted.model().vllmServers().isEmpty() && current.cluster().formsItsOwnCluster()
        && current.node().has("agent")) {
      count(model, 503);
      return CompletableFuture.completedFuture(error(503, OpenAiError.serverError("Model '" + model
          + "' has no server right now. Retry later.", "no_server_available"), 30));
    }
    String ticketId = accepted.ticket().id();
    // A key without limits needs no admission: its requests do not wait for its account. Then its organisation's
    // limits, if it has any; refused there, the key's reservation goes.
    long estimate = accepted.ticket().estimatedTokens();
    CompletionStage<KeyAccount.Admission> byKey = authenticated.limited()
        ? accounts.admit(key.id(), ticketId, estimate)
        : CompletableFuture.completedFuture(UNLIMITED);
    CompletionStage<KeyAccount.Admission> admitted = byKey.thenCompose(admission ->
        admission instanceof KeyAccount.Denied ? CompletableFuture.completedFuture(admission)
            : accounts.admitByOrganization(key.organization(), ticketId, estimate).thenApply(byOrganization -> {
              if (byOrganization instanceof KeyAccount.Denied) {
                accounts.release(key.id(), key.organization(), ticketId);
                return byOrganization;
              }
              return admission;
            }));
    return admitted.thenCompose(admission -> {
      if (admission instanceof KeyAccount.Denied denied) {
        count(model, denied.status());
        return CompletableFuture.completedFuture(withLimits(
            error(denied.status(), denied.error(), denied.retryAfterSeconds()), denied.limits()));
      }
      RateLimits limits = ((KeyAccount.Admitted) admission).limits();
      CompletableFuture<Outcome> outcome = new CompletableFuture<>();
      system.systemActorOf(RequestActor.create(accepted.ticket(), accepted.call(), queues.apply(model), outcome,
          connection.goneBefore(outcome), requestSettings), ticketId, Props.empty());
      return outcome.handle((o, failure) -> {
        if (failure != null || o instanceof Outcome.Failure) {
          // No server call will settle this ticket's reserved tokens.
          accounts.release(key.id(), key.organization(), ticketId);
        }
        HttpResponse response = failure != null
            ? error(503, OpenAiError.serverError("The request was cancelled.", "cancelled"), 0)
            : respond(o);
        count(model, response.status().intValue());
        if (accepted.model().lifecycle().equals("deprecated")) {
          response = response.addHeader(RawHeader.create("Deprecation", "true"));
        }
        return withLimits(response, limits).addHeader(RawHeader.create("x-request-id", ticketId));
      });
    });
  }

  private static HttpResponse withLimits(HttpResponse response, RateLimits limits) {
    HttpResponse r = response;
    for (String[] header : limits.headers()) {
      r = r.addHeader(RawHeader.create(header[0], header[1]));
    }
    return r;
  }

  private static HttpResponse accountsUnavailable(Throwable failure) {
    count(null, 503);
    return error(503, OpenAiError.serverError("The dispatcher cannot check API keys right now. Retry later.",
        "accounts_unavailable"), 5);
  }

  private HttpResponse respond(Outcome outcome) {
    if (outcome instanceof Outcome.Stream s) {
      return HttpResponse.create()
          .withEntity(HttpEntities.createChunked(EVENT_STREAM, s.events()
              // The agent ends a failing server's stream in-band; this covers the hand-over itself breaking
              // (the agent's node went away).
              .recover(Throwable.class, () -> SseEvents.BROKEN_STREAM_END)
              .keepAlive(KEEP_ALIVE_AFTER, () -> KEEP_ALIVE)))
          .addHeaders(List.of(RawHeader.create("Cache-Control", "no-cache"),
              RawHeader.create("X-Accel-Buffering", "no")));
    }
    if (outcome instanceof Outcome.Whole w) {
      if (w.status() >= 400) {
        return HttpResponse.create().withStatus(w.status())
            .withEntity(ContentTypes.APPLICATION_JSON, ServerErrors.toEnvelope(w.status(), w.body()));
      }
      ContentType type = ContentTypes.parse(w.contentType());
      return HttpResponse.create().withStatus(w.status()).withEntity(HttpEntities.create(type, w.body()));
    }
    Outcome.Failure f = (Outcome.Failure) outcome;
    return error(f.status(), f.error(), f.retryAfterSeconds());
  }

  private HttpResponse models(ApiKey key, String suffix) {
    List<ModelConfig> models = config.get().models().stream().filter(key::sees).toList();
    if (suffix.isEmpty() || suffix.equals("/")) {
      ObjectNode list = JSON.createObjectNode().put("object", "list");
      ArrayNode data = list.putArray("data");
      models.forEach(m -> {
        data.add(model(m, m.name()));
        m.aliases().forEach(alias -> data.add(model(m, alias)));
      });
      return json(200, list.toString());
    }
    String id = suffix.substring(1);
    return models.stream().filter(m -> m.answersTo(id)).findFirst()
        .map(m -> json(200, model(m, id).toString()))
        .orElseGet(() -> error(404, OpenAiError.invalidRequest("The model '" + id + "' does not exist.", "model",
            "model_not_found"), 0));
  }

  private static JsonNode model(ModelConfig m, String id) {
    ObjectNode model = JSON.createObjectNode().put("id", id).put("object", "model").put("created", 0)
        .put("owned_by", "aiguillage");
    if (!id.equals(m.name())) {
      model.put("alias_of", m.name());
    }
    if (!m.lifecycle().equals("production")) {
      model.put("lifecycle", m.lifecycle());
    }
    return model;
  }

  private CompletionStage<KeyAccount.Authentication> authenticate(HttpRequest request) {
    Optional<String> secret = bearer(request);
    if (secret.isEmpty()) {
      return CompletableFuture.completedFuture(new KeyAccount.AuthenticationRefused(
          "You didn't provide an API key. Provide it in the Authorization header as 'Bearer YOUR_KEY'."));
    }
    return accounts.authenticate(secret.get());
  }

  private static Optional<String> bearer(HttpRequest request) {
    return request.getHeader(Authorization.class)
        .map(h -> h.value().trim())
        .filter(v -> v.regionMatches(true, 0, "Bearer ", 0, 7))
        .map(v -> v.substring(7).trim())
        .filter(v -> !v.isEmpty());
  }

  private static HttpResponse unauthorized(KeyAccount.AuthenticationRefused refused) {
    count(null, 401);
    return error(401, OpenAiError.authentication(refused.message()), 0);
  }

  private static HttpResponse tooLarge(long limit) {
    count(null, 413);
    return error(413, OpenAiError.invalidRequest("The request body is larger than this endpoint accepts ("
        + limit + " bytes).", null, "request_too_large"), 0);
  }

  private static HttpResponse methodNotAllowed(HttpMethod method, HttpMethod allowed) {
    return error(405, OpenAiError.invalidRequest("Method " + method.value() + " is not allowed here; use "
        + allowed.value() + ".", null, "method_not_allowed"), 0).addHeader(Allow.create(allowed));
  }

  static HttpResponse error(int status, OpenAiError error, long retryAfterSeconds) {
    try {
      HttpResponse response = HttpResponse.create().withStatus(status)
          .withEntity(ContentTypes.APPLICATION_JSON, JSON.writeValueAsBytes(error));
      if (retryAfterSeconds > 0) {
        response = response.addHeader(RawHeader.create("Retry-After", Long.toString(retryAfterSeconds)));
      }
      return response;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static HttpResponse json(int status, String body) {
    return HttpResponse.create().withStatus(status).withEntity(ContentTypes.APPLICATION_JSON, body);
  }

  /** Answers at once; a body the client sent and we do not read is discarded so the connection stays usable. */
  private CompletionStage<HttpResponse> done(HttpRequest request, HttpResponse response) {
    request.discardEntityBytes(materializer);
    return CompletableFuture.completedFuture(response);
  }

  private static void count(String model, int status) {
    Kamon.counter("aiguillage_requests", "client requests answered by the edge")
        .withTags(TagSet.builder().add("model", model == null ? "none" : model)
            .add("status", Integer.toString(status)).build())
        .increment();
  }

}
