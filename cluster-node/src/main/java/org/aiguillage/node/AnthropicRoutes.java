package org.aiguillage.node;

import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.UUID;
import java.util.function.Function;
import java.util.function.Supplier;
import org.aiguillage.actors.accounts.Accounts;
import org.aiguillage.actors.accounts.KeyAccount;
import org.aiguillage.actors.edge.ModelRequest;
import org.aiguillage.protocol.Json;
import org.aiguillage.protocol.anthropic.AnthropicMessages;
import org.aiguillage.protocol.config.FederationConfig;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.stream.Materializer;

/**
 * Anthropic's Messages API on the same port, keys, queues and usage, for the coding assistants that take an
 * Anthropic base URL (Claude Code, Aider): the key from {@code x-api-key} or {@code Authorization: Bearer},
 * {@code anthropic-version} accepted whatever it says, requests translated to the servers' chat completions.
 *
 * <pre>
 *   POST /v1/messages                 a message, streamed with Anthropic's events or whole
 *   POST /v1/messages/count_tokens    an estimate of a request's input tokens (no tokenizer here)
 * </pre>
 */
final class AnthropicRoutes extends DialectRoutes {

  AnthropicRoutes(Materializer materializer, Supplier<FederationConfig> config, Accounts accounts,
      Dispatch dispatch) {
    super(materializer, config, accounts, dispatch);
  }

  Route route() {
    return pathPrefix(segment("v1").slash("messages"), () -> concat(
        pathEnd(() -> post(this::message)),
        path("count_tokens", () -> post(() -> key(key -> json(request -> {
          if (!request.path("model").isTextual() || !request.path("messages").isArray()) {
            return complete(AnthropicDialect.refusal(400, "model and messages: Field required", 0));
          }
          return complete(json(200, Json.MAPPER.createObjectNode()
              .put("input_tokens", AnthropicMessages.countTokens(request))));
        }))))));
  }

  private Route message() {
    return key(authenticated -> attribute(CLIENT, client -> optionalHeaderValueByName(PriorityHeader.NAME,
        priority -> json(request -> {
          AnthropicMessages.Translated translated = AnthropicMessages.toOpenAi(request);
          if (translated instanceof AnthropicMessages.Invalid invalid) {
            Dispatch.count(null, null, 400);
            return complete(AnthropicDialect.refusal(400, invalid.message(), 0));
          }
          AnthropicMessages.Request call = (AnthropicMessages.Request) translated;
          ObjectNode body = call.openAiChat();
          PriorityHeader.apply(priority, body);
          String messageId = "msg_" + UUID.randomUUID().toString().replace("-", "");
          return completeWithFuture(dispatch.dispatch(ModelRequest.Endpoint.CHAT, Json.bytes(body),
              authenticated, client, new AnthropicDialect(call.model(), messageId)));
        }))));
  }

  /** The key: {@code x-api-key} as Anthropic's clients send it, or a bearer token; else Anthropic's 401. */
  private Route key(Function<KeyAccount.Authenticated, Route> inner) {
    return optionalHeaderValueByName("x-api-key", apiKeyHeader -> bearer(bearer -> apiKey(accounts,
        apiKeyHeader.map(String::strip).filter(k -> !k.isEmpty()).or(() -> bearer), inner, why -> {
          Dispatch.count(null, null, 401);
          return AnthropicDialect.refusal(401, why.replace("in the Authorization header as 'Bearer YOUR_KEY'",
              "in the x-api-key header"), 0);
        })));
  }

  /** The body as a JSON object, else the dialect's 400 (a body too large or too slow: 413, 408). */
  private Route json(Function<JsonNode, Route> inner) {
    return jsonObject(config.get().http().maxBodyBytes(), inner,
        (status, why) -> AnthropicDialect.refusal(status, why, 0));
  }
}
