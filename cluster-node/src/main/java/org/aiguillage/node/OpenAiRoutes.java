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
import org.aiguillage.actors.edge.ModelRequest;
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
 * then hands over: model calls to {@link Dispatch}, the model list to the configuration.
 *
 * <pre>
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
final class OpenAiRoutes extends DialectRoutes {

  OpenAiRoutes(Materializer materializer, Supplier<FederationConfig> config, Accounts accounts,
      Dispatch dispatch) {
    super(materializer, config, accounts, dispatch);
  }

  Route route() {
    return concat(
        pathPrefix("v1", () -> concat(
            path(segment("chat").slash("completions"), () -> post(() -> completion(ModelRequest.Endpoint.CHAT))),
            path("completions", () -> post(() -> completion(ModelRequest.Endpoint.COMPLETIONS))),
            path("responses", () -> post(() -> completion(ModelRequest.Endpoint.RESPONSES))),
            path("embeddings", () -> post(() -> completion(ModelRequest.Endpoint.EMBEDDINGS))),
            pathPrefix("audio", () -> concat(
                path("transcriptions", () -> post(() -> audio(ModelRequest.Endpoint.TRANSCRIPTIONS))),
                path("translations", () -> post(() -> audio(ModelRequest.Endpoint.TRANSLATIONS))))),
            path("rerank", () -> post(() -> completion(ModelRequest.Endpoint.RERANK))),
            path("score", () -> post(() -> completion(ModelRequest.Endpoint.SCORE))),
            pathPrefix("models", () -> concat(
                pathEndOrSingleSlash(() -> get(() -> apiKey(key -> answer(() -> models(key))))),
                path(remaining(), id -> get(() -> apiKey(key -> answer(() -> model(key, id))))))))),
        path(segment("v2").slash("rerank"), () -> post(() -> completion(ModelRequest.Endpoint.RERANK_V2))));
  }

  /** A speech-to-text request: its multipart form streams to disk, never whole in memory. */
  private Route audio(ModelRequest.Endpoint endpoint) {
    return apiKey(authenticated -> attribute(CLIENT, client -> extractRequestEntity(entity ->
        completeWithFuture(dispatch.dispatchAudio(endpoint, entity, authenticated, client)))));
  }

  private Route completion(ModelRequest.Endpoint endpoint) {
    return apiKey(authenticated -> attribute(CLIENT, client -> optionalHeaderValueByName("x-session-id", session -> {
      long limit = config.get().http().maxBodyBytes();
      return body(limit, Dispatch.BODY_TIMEOUT,
          bytes -> completeWithFuture(dispatch.dispatch(endpoint, bytes, authenticated, client,
              OpenAiDialect.INSTANCE, session.orElse(null))),
          refused -> Dispatch.refused(refused, limit));
    })));
  }

  /** The key the request is made with ({@code Authorization: Bearer}), else 401. */
  private Route apiKey(Function<KeyAccount.Authenticated, Route> inner) {
    return bearer(secret -> apiKey(accounts, secret, inner,
        Dispatch::unauthorized));
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
