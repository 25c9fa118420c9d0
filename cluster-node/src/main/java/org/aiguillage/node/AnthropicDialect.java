package org.aiguillage.node;

import com.fasterxml.jackson.databind.JsonNode;
import org.aiguillage.protocol.Json;
import org.aiguillage.protocol.anthropic.AnthropicMessages;
import org.aiguillage.protocol.anthropic.AnthropicStream;
import org.aiguillage.protocol.openai.OpenAiError;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * Anthropic's Messages API: its event sequence for streams, its message object, and its error envelope and statuses
 * (529 {@code overloaded_error} where the dispatcher says 503), by {@link AnthropicMessages} and {@link
 * AnthropicStream}.
 *
 * @param model the model as the client named it, echoed in the answer
 * @param messageId the answer's id
 */
record AnthropicDialect(String model, String messageId) implements Dialect {

  @Override
  public HttpResponse stream(Source<ByteString, NotUsed> events) {
    AnthropicStream translation = new AnthropicStream(model, messageId);
    return OpenAiDialect.sse(Dialect.translated(events, translation::next, () -> translation.end(false)));
  }

  @Override
  public HttpResponse whole(int status, String contentType, byte[] body) {
    try {
      JsonNode answer = Json.MAPPER.readTree(body);
      return EdgeDirectives.json(status, AnthropicMessages.fromOpenAi(answer, model));
    } catch (Exception e) {
      return refusal(502, "The server's answer is not JSON.", 0);
    }
  }

  @Override
  public HttpResponse error(int status, OpenAiError error, long retryAfterSeconds) {
    return refusal(status, error.message(), retryAfterSeconds);
  }

  /** Anthropic's error answer for what the dispatcher would answer with {@code status}. */
  static HttpResponse refusal(int status, String message, long retryAfterSeconds) {
    HttpResponse response = EdgeDirectives.json(AnthropicMessages.status(status),
        AnthropicMessages.error(AnthropicMessages.errorType(status), message));
    return EdgeDirectives.withRetryAfter(response, retryAfterSeconds);
  }

}
