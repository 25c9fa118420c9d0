package org.aiguillage.node;

import static org.apache.pekko.http.javadsl.server.PathMatchers.remaining;
import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;
import org.aiguillage.actors.accounts.Accounts;
import org.aiguillage.actors.accounts.KeyAccount;
import org.aiguillage.actors.edge.ApiKey;
import org.aiguillage.actors.edge.CompletionRequest;
import org.aiguillage.protocol.config.FederationConfig;
import org.aiguillage.protocol.config.Lifecycle;
import org.aiguillage.protocol.config.ModelConfig;
import org.aiguillage.protocol.openai.ListOf;
import org.aiguillage.protocol.openai.ModelObject;
import org.aiguillage.protocol.openai.OpenAiError;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.stream.Materializer;

/**
 * The OpenAI-compatible API and the node's probes. Each API route checks the key ({@code Authorization: Bearer}),
 * then hands over: completions to {@link Completions}, the model list to the configuration.
 *
 * <pre>
 *   GET|any  /health, /ready            liveness
 *   GET|any  /metrics                   Prometheus
 *   POST     /v1/chat/completions       chat, streamed or whole                 } text-generation
 *   POST     /v1/completions            text completions, streamed or whole     }
 *   POST     /v1/responses              the Responses API, streamed or whole    }
 *   POST     /v1/embeddings             embeddings                              text-embeddings-inference
 *   POST     /v1/audio/transcriptions   speech to text (multipart form)         } automatic-speech-recognition
 *   POST     /v1/audio/translations     speech to English text (multipart form) }
 *   POST     /v1/rerank, /v2/rerank     documents ordered by relevance          } text-classification
 *   POST     /v1/score                  pairs of texts scored                   }
 *   GET      /v1/models                 the models this key may use, with their aliases and types
 *   GET      /v1/models/{id}            one of them (an id may hold slashes)
 * </pre>
 */
final class OpenAiRoutes extends EdgeDirectives {

  private final Supplier<FederationConfig> config;
  private final Accounts accounts;
  private final Completions completions;

  OpenAiRoutes(Materializer materializer, Supplier<FederationConfig> config, Accounts accounts,
      Completions completions) {
    super(materializer);
    this.config = config;
    this.accounts = accounts;
    this.completions = completions;
  }

  Route route() {
    return concat(
        path(segment("health").orElse(segment("ready")), () -> answer(() -> json(200, "{\"status\":\"ok\"}"))),
        path("metrics", () -> answer(() -> HttpResponse.create()
            .withEntity(ContentTypes.TEXT_PLAIN_UTF8, NodeMetrics.scrape()))),
        pathPrefix("v1", () -> concat(
            path(segment("chat").slash("completions"), () -> post(() -> completion(CompletionRequest.Endpoint.CHAT))),
            path("completions", () -> post(() -> completion(CompletionRequest.Endpoint.COMPLETIONS))),
            path("responses", () -> post(() -> completion(CompletionRequest.Endpoint.RESPONSES))),
            path("embeddings", () -> post(() -> completion(CompletionRequest.Endpoint.EMBEDDINGS))),
            pathPrefix("audio", () -> concat(
                path("transcriptions", () -> post(() -> audio(CompletionRequest.Endpoint.TRANSCRIPTIONS))),
                path("translations", () -> post(() -> audio(CompletionRequest.Endpoint.TRANSLATIONS))))),
            path("rerank", () -> post(() -> completion(CompletionRequest.Endpoint.RERANK))),
            path("score", () -> post(() -> completion(CompletionRequest.Endpoint.SCORE))),
            pathPrefix("models", () -> concat(
                pathEndOrSingleSlash(() -> get(() -> apiKey(key -> answer(() -> models(key))))),
                path(remaining(), id -> get(() -> apiKey(key -> answer(() -> model(key, id))))))))),
        path(segment("v2").slash("rerank"), () -> post(() -> completion(CompletionRequest.Endpoint.RERANK_V2))));
  }

  /** A speech-to-text request: its multipart form streams to disk, never whole in memory. */
  private Route audio(CompletionRequest.Endpoint endpoint) {
    return apiKey(authenticated -> attribute(CLIENT, client -> extractRequestEntity(entity ->
        completeWithFuture(completions.dispatchAudio(endpoint, entity, authenticated, client)))));
  }

  private Route completion(CompletionRequest.Endpoint endpoint) {
    return apiKey(authenticated -> attribute(CLIENT, client -> {
      long limit = config.get().http().maxBodyBytes();
      return body(limit, Completions.BODY_TIMEOUT,
          bytes -> completeWithFuture(completions.dispatch(endpoint, bytes, authenticated, client)),
          refused -> Completions.refused(refused, limit));
    }));
  }

  /** The key the request is made with ({@code Authorization: Bearer}), else 401. */
  private Route apiKey(Function<KeyAccount.Authenticated, Route> inner) {
    return bearer(secret -> apiKey(accounts, secret, inner,
        why -> Completions.unauthorized(new KeyAccount.AuthenticationRefused(why))));
  }

  private HttpResponse models(KeyAccount.Authenticated authenticated) {
    List<ModelObject> data = new ArrayList<>();
    visible(authenticated.key()).forEach(m -> {
      data.add(model(m, m.name()));
      m.aliases().forEach(alias -> data.add(model(m, alias)));
    });
    return json(200, new ListOf<>(data));
  }

  private HttpResponse model(KeyAccount.Authenticated authenticated, String id) {
    return visible(authenticated.key()).stream().filter(m -> m.answersTo(id)).findFirst()
        .map(m -> json(200, model(m, id)))
        .orElseGet(() -> error(404, OpenAiError.invalidRequest("The model '" + id + "' does not exist.", "model",
            "model_not_found"), 0));
  }

  private List<ModelConfig> visible(ApiKey key) {
    return config.get().models().stream().filter(key::sees).toList();
  }

  private static ModelObject model(ModelConfig m, String id) {
    return ModelObject.of(id, id.equals(m.name()) ? null : m.name(),
        m.lifecycle() == Lifecycle.PRODUCTION ? null : m.lifecycle().wireName(), m.type().wireName());
  }
}
