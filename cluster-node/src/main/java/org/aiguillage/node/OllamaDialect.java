package org.aiguillage.node;

import com.fasterxml.jackson.databind.JsonNode;
import org.aiguillage.protocol.Json;
import org.aiguillage.protocol.ollama.OllamaApi;
import org.aiguillage.protocol.ollama.OllamaStream;
import org.aiguillage.protocol.openai.OpenAiError;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * Ollama's API: streams as NDJSON, whole answers and errors in Ollama's shapes ({@link OllamaApi}, {@link
 * OllamaStream}).
 *
 * @param model the model as the client named it, echoed in every answer
 * @param startNanos when the request came, for Ollama's durations
 */
record OllamaDialect(String model, Kind kind, long startNanos) implements Dialect {

  /** Which of Ollama's endpoints the client called. */
  enum Kind { CHAT, GENERATE, EMBED, EMBEDDINGS }

  static final ContentType NDJSON = ContentTypes.parse("application/x-ndjson");

  @Override
  public HttpResponse stream(Source<ByteString, NotUsed> events) {
    OllamaStream translation = new OllamaStream(model, kind == Kind.GENERATE, System::nanoTime);
    return HttpResponse.create().withEntity(HttpEntities.createChunked(NDJSON,
        Dialect.translated(events, translation::next, () -> translation.end(false))));
  }

  @Override
  public HttpResponse whole(int status, String contentType, byte[] body) {
    JsonNode answer;
    try {
      answer = Json.MAPPER.readTree(body);
    } catch (Exception e) {
      return error(502, OpenAiError.serverError("The server's answer is not JSON.", "upstream_failed"), 0);
    }
    long nanos = System.nanoTime() - startNanos;
    JsonNode translated = switch (kind) {
      case CHAT -> OllamaApi.fromChatCompletion(answer, model, false, nanos);
      case GENERATE -> OllamaApi.fromChatCompletion(answer, model, true, nanos);
      case EMBED -> OllamaApi.fromEmbeddings(answer, model, false, nanos);
      case EMBEDDINGS -> OllamaApi.fromEmbeddings(answer, model, true, nanos);
    };
    return EdgeDirectives.json(status, translated);
  }

  @Override
  public HttpResponse error(int status, OpenAiError error, long retryAfterSeconds) {
    return refusal(status, error.message(), retryAfterSeconds);
  }

  /** Ollama's error answer, {@code {"error": "..."}}. */
  static HttpResponse refusal(int status, String message, long retryAfterSeconds) {
    HttpResponse response = EdgeDirectives.json(status, OllamaApi.error(message));
    return EdgeDirectives.withRetryAfter(response, retryAfterSeconds);
  }

}
