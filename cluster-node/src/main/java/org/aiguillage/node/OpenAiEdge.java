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
import org.aiguillage.actors.edge.ApiKeyDirectory;
import org.aiguillage.actors.edge.CompletionRequest;
import org.aiguillage.agents.SseEvents;
import org.aiguillage.protocol.config.FederationConfig;
import org.aiguillage.protocol.config.ModelConfig;
import org.aiguillage.protocol.dispatch.QueueCommand;
import org.aiguillage.protocol.openai.OpenAiError;
import org.apache.pekko.Done;
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
import org.apache.pekko.http.scaladsl.model.EntityStreamSizeException;
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

  private final ActorSystem<?> system;
  private final Materializer materializer;
  private final Supplier<FederationConfig> config;
  private final ApiKeyDirectory keys;
  private final Function<String, RecipientRef<QueueCommand>> queues;
  private final RequestActor.Settings requestSettings;

  OpenAiEdge(ActorSystem<?> system, Supplier<FederationConfig> config, ApiKeyDirectory keys,
      Function<String, RecipientRef<QueueCommand>> queues, RequestActor.Settings requestSettings) {
    this.system = system;
    this.materializer = Materializer.matFromSystem(system);
    this.config = config;
    this.keys = keys;
    this.queues = queues;
    this.requestSettings = requestSettings;
  }

  CompletionStage<HttpResponse> handle(HttpRequest request, CompletionStage<Done> clientGone) {
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
        return completion(request, CompletionRequest.Endpoint.CHAT, clientGone);
      }
      case "/v1/completions" -> {
        return completion(request, CompletionRequest.Endpoint.COMPLETIONS, clientGone);
      }
      default -> {
        if (path.equals("/v1/models") || path.startsWith("/v1/models/")) {
          if (method != HttpMethods.GET) {
            return done(request, methodNotAllowed(method, HttpMethods.GET));
          }
          return done(request, authenticate(request)
              .<HttpResponse>map(key -> models(path.substring("/v1/models".length())))
              .orElseGet(() -> unauthorized(request)));
        }
        return done(request, error(404, OpenAiError.invalidRequest("Unknown request URL: " + method.value() + " "
            + path + ".", null, "unknown_url"), 0));
      }
    }
  }

  private CompletionStage<HttpResponse> completion(HttpRequest request, CompletionRequest.Endpoint endpoint,
      CompletionStage<Done> clientGone) {
    if (request.method() != HttpMethods.POST) {
      return done(request, methodNotAllowed(request.method(), HttpMethods.POST));
    }
    Optional<ApiKey> key = authenticate(request);
    if (key.isEmpty()) {
      return done(request, unauthorized(request));
    }
    long limit = config.get().http().maxBodyBytes();
    HttpEntity entity = request.entity();
    if (entity.getContentLengthOption().isPresent() && entity.getContentLengthOption().getAsLong() > limit) {
      return done(request, tooLarge(limit));
    }
    return entity.toStrict(60_000, limit, materializer)
        .thenCompose(strict -> dispatch(endpoint, strict.getData().toArray(), key.get(), clientGone))
        .exceptionally(failure -> {
          Throwable cause = failure instanceof java.util.concurrent.CompletionException ? failure.getCause() : failure;
          if (cause instanceof EntityStreamSizeException) {
            return tooLarge(limit);
          }
          system.log().warn("request failed in the edge: {}", cause.toString());
          return error(500, OpenAiError.serverError("The dispatcher failed on this request.", "internal_error"), 0);
        });
  }

  private CompletionStage<HttpResponse> dispatch(CompletionRequest.Endpoint endpoint, byte[] body, ApiKey key,
      CompletionStage<Done> clientGone) {
    FederationConfig current = config.get();
    CompletionRequest.Parsed parsed = CompletionRequest.parse(endpoint, body, key, current::model,
        (organization, model) -> current.model(model).map(m -> m.vllmServers().stream()
            .anyMatch(s -> s.organization().equals(organization))).orElse(false),
        System.currentTimeMillis());
    if (parsed instanceof CompletionRequest.Invalid invalid) {
      count(null, invalid.status());
      return CompletableFuture.completedFuture(error(invalid.status(), invalid.error(), 0));
    }
    CompletionRequest.Accepted accepted = (CompletionRequest.Accepted) parsed;
    String model = accepted.model().name();
    if (accepted.model().vllmServers().isEmpty()) {
      count(model, 503);
      return CompletableFuture.completedFuture(error(503, OpenAiError.serverError("Model '" + model
          + "' has no server right now. Retry later.", "no_server_available"), 30));
    }
    CompletableFuture<Outcome> outcome = new CompletableFuture<>();
    system.systemActorOf(RequestActor.create(accepted.ticket(), accepted.call(), queues.apply(model), outcome,
        clientGone, requestSettings), accepted.ticket().id(), Props.empty());
    String ticketId = accepted.ticket().id();
    return outcome.handle((o, failure) -> {
      HttpResponse response = failure != null
          ? error(503, OpenAiError.serverError("The request was cancelled.", "cancelled"), 0)
          : respond(o);
      count(model, response.status().intValue());
      return response.addHeader(RawHeader.create("x-request-id", ticketId));
    });
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

  private HttpResponse models(String suffix) {
    List<ModelConfig> models = config.get().models();
    if (suffix.isEmpty() || suffix.equals("/")) {
      ObjectNode list = JSON.createObjectNode().put("object", "list");
      ArrayNode data = list.putArray("data");
      models.forEach(m -> data.add(model(m)));
      return json(200, list.toString());
    }
    String id = suffix.substring(1);
    return models.stream().filter(m -> m.name().equals(id)).findFirst()
        .map(m -> json(200, model(m).toString()))
        .orElseGet(() -> error(404, OpenAiError.invalidRequest("The model '" + id + "' does not exist.", "model",
            "model_not_found"), 0));
  }

  private static JsonNode model(ModelConfig m) {
    return JSON.createObjectNode().put("id", m.name()).put("object", "model").put("created", 0)
        .put("owned_by", "aiguillage");
  }

  private Optional<ApiKey> authenticate(HttpRequest request) {
    return bearer(request).flatMap(keys::authenticate);
  }

  private static Optional<String> bearer(HttpRequest request) {
    return request.getHeader(Authorization.class)
        .map(h -> h.value().trim())
        .filter(v -> v.regionMatches(true, 0, "Bearer ", 0, 7))
        .map(v -> v.substring(7).trim())
        .filter(v -> !v.isEmpty());
  }

  private HttpResponse unauthorized(HttpRequest request) {
    count(null, 401);
    String message = bearer(request).isEmpty()
        ? "You didn't provide an API key. Provide it in the Authorization header as 'Bearer YOUR_KEY'."
        : "Incorrect API key provided.";
    return error(401, OpenAiError.authentication(message), 0);
  }

  private static HttpResponse tooLarge(long limit) {
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
