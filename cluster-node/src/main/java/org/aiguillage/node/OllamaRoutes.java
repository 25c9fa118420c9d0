package org.aiguillage.node;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Supplier;
import org.aiguillage.actors.accounts.Accounts;
import org.aiguillage.actors.accounts.KeyAccount;
import org.aiguillage.actors.edge.ModelRequest;
import org.aiguillage.protocol.Json;
import org.aiguillage.protocol.config.FederationConfig;
import org.aiguillage.protocol.config.ModelConfig;
import org.aiguillage.protocol.config.ModelType;
import org.aiguillage.protocol.ollama.OllamaApi;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.stream.Materializer;

/**
 * Ollama's API on the same port, keys ({@code Authorization: Bearer}), queues and usage, for the clients that speak
 * it (the {@code ollama} CLI, Continue.dev's and Open WebUI's Ollama connections, IDE plugins). Requests are
 * translated to the servers' OpenAI API ({@link OllamaApi}), so it works in front of any server.
 *
 * <pre>
 *   GET|HEAD /                  "Ollama is running", as clients probe it (no key)
 *   GET      /api/version       the Ollama version it answers as (no key)
 *   GET      /api/tags          the models the key may use
 *   GET      /api/ps            the same, as running models
 *   POST     /api/show          one model's details
 *   POST     /api/chat          chat, NDJSON stream by default ("stream": false for one object)
 *   POST     /api/generate      a completion of a prompt (raw, or with a suffix: the server's text completion)
 *   POST     /api/embed         embeddings of a string or strings
 *   POST     /api/embeddings    the older form: one prompt, one embedding
 * </pre>
 */
final class OllamaRoutes extends DialectRoutes {

  private static final String RUNNING = "Ollama is running";

  OllamaRoutes(Materializer materializer, Supplier<FederationConfig> config, Accounts accounts,
      Dispatch dispatch) {
    super(materializer, config, accounts, dispatch);
  }

  Route route() {
    return concat(
        pathEndOrSingleSlash(() -> concat(
            get(() -> answer(() -> HttpResponse.create().withEntity(ContentTypes.TEXT_PLAIN_UTF8, RUNNING))),
            head(() -> answer(() -> HttpResponse.create().withEntity(ContentTypes.TEXT_PLAIN_UTF8, RUNNING))))),
        pathPrefix("api", () -> concat(
            path("version", () -> get(() -> answer(() -> json(200,
                Json.MAPPER.createObjectNode().put("version", OllamaApi.VERSION))))),
            path("tags", () -> get(() -> key(key -> answer(() -> listed(key, false))))),
            path("ps", () -> get(() -> key(key -> answer(() -> listed(key, true))))),
            path("show", () -> post(() -> key(key -> json(request -> show(key, request))))),
            path("chat", () -> post(() -> call(OllamaDialect.Kind.CHAT))),
            path("generate", () -> post(() -> call(OllamaDialect.Kind.GENERATE))),
            path("embed", () -> post(() -> call(OllamaDialect.Kind.EMBED))),
            path("embeddings", () -> post(() -> call(OllamaDialect.Kind.EMBEDDINGS))))));
  }

  /** A model call: translated, queued like any other, answered in Ollama's shapes. */
  private Route call(OllamaDialect.Kind kind) {
    long startNanos = System.nanoTime();
    return key(authenticated -> attribute(CLIENT, client -> optionalHeaderValueByName(PriorityHeader.NAME,
        priority -> json(request -> {
          OllamaApi.Translated translated = switch (kind) {
            case CHAT -> OllamaApi.chat(request);
            case GENERATE -> OllamaApi.generate(request);
            case EMBED, EMBEDDINGS -> OllamaApi.embed(request);
          };
          if (translated instanceof OllamaApi.Invalid invalid) {
            Dispatch.count(null, null, 400);
            return complete(OllamaDialect.refusal(400, invalid.message(), 0));
          }
          OllamaApi.Call call = (OllamaApi.Call) translated;
          ObjectNode body = call.body();
          PriorityHeader.apply(priority, body);
          ModelRequest.Endpoint endpoint = switch (call.path()) {
            case "/v1/completions" -> ModelRequest.Endpoint.COMPLETIONS;
            case "/v1/embeddings" -> ModelRequest.Endpoint.EMBEDDINGS;
            default -> ModelRequest.Endpoint.CHAT;
          };
          return completeWithFuture(dispatch.dispatch(endpoint, Json.bytes(body), authenticated, client,
              new OllamaDialect(call.model(), kind, startNanos)));
        }))));
  }

  /** The key ({@code Authorization: Bearer}), else Ollama's 401. */
  private Route key(Function<KeyAccount.Authenticated, Route> inner) {
    return bearer(secret -> apiKey(accounts, secret, inner, why -> {
      Dispatch.count(null, null, 401);
      return OllamaDialect.refusal(401, why, 0);
    }));
  }

  /** The body as a JSON object, else the dialect's 400 (a body too large or too slow: 413, 408). */
  private Route json(Function<JsonNode, Route> inner) {
    return jsonObject(config.get().http().maxBodyBytes(), inner,
        (status, why) -> OllamaDialect.refusal(status, why, 0));
  }

  private HttpResponse listed(KeyAccount.Authenticated authenticated, boolean running) {
    ObjectNode answer = Json.MAPPER.createObjectNode();
    ArrayNode models = answer.putArray("models");
    for (ModelConfig m : visible(authenticated)) {
      if (!running || m.type() == ModelType.TEXT_GENERATION || m.type() == ModelType.TEXT_EMBEDDINGS_INFERENCE) {
        models.add(OllamaApi.listed(m.name(), family(m), running));
      }
    }
    return json(200, answer);
  }

  private Route show(KeyAccount.Authenticated authenticated, JsonNode request) {
    String name = request.path("model").asText(request.path("name").asText(""));
    String bare = name.endsWith(":latest") ? name.substring(0, name.length() - 7) : name;
    Optional<ModelConfig> model = visible(authenticated).stream().filter(m -> m.answersTo(bare)).findFirst();
    return complete(model.map(m -> json(200, OllamaApi.show(m.name(), family(m),
            m.type() == ModelType.TEXT_EMBEDDINGS_INFERENCE)))
        .orElseGet(() -> OllamaDialect.refusal(404, "model '" + name + "' not found", 0)));
  }

  /** The models an Ollama client can use: those that chat, complete or embed, that the key may see. */
  private List<ModelConfig> visible(KeyAccount.Authenticated authenticated) {
    return config.get().models().stream().filter(authenticated.key()::sees)
        .filter(m -> m.type() == ModelType.TEXT_GENERATION || m.type() == ModelType.TEXT_EMBEDDINGS_INFERENCE)
        .toList();
  }

  /** The model family clients show: the served name's organisation part (mistralai/..., BAAI/...), else its name. */
  private static String family(ModelConfig m) {
    String served = m.servedName();
    int slash = served.indexOf('/');
    return slash > 0 ? served.substring(0, slash) : served;
  }
}
