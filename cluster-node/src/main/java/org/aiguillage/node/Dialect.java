package org.aiguillage.node;

import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;
import org.aiguillage.agents.SseEvents;
import org.aiguillage.protocol.openai.OpenAiError;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * How a client speaks: OpenAI's API (as the servers do), Ollama's or Anthropic's. Requests are translated to the
 * servers' OpenAI calls before they are queued; a dialect turns what comes back into its client's answer. The
 * translations themselves are plain functions in {@code protocol} (one package per dialect); this is the HTTP side.
 */
interface Dialect {

  /**
   * A streamed answer: the server's SSE events as its connection delivered them (each element one or more whole
   * events), ending with {@code data: [DONE]} (a server that broke mid-answer ends with an error event first).
   */
  HttpResponse stream(Source<ByteString, NotUsed> events);

  /** A whole answer with a success status, in the server's OpenAI shape. */
  HttpResponse whole(int status, String contentType, byte[] body);

  /** The dispatcher's refusal, or a server's error answer, in this dialect's error envelope. */
  HttpResponse error(int status, OpenAiError error, long retryAfterSeconds);

  /**
   * A server's SSE events translated one by one: {@code next} gets each event's data (the text after {@code
   * data: }, {@code [DONE]} included) and {@code end} is asked what is still owed when the events end (after
   * {@code [DONE]}, nothing). An element's events come out as one element.
   */
  static Source<ByteString, NotUsed> translated(Source<ByteString, NotUsed> events,
      Function<String, List<String>> next, Supplier<List<String>> end) {
    return events
        .map(chunk -> {
          List<String> parts = new java.util.ArrayList<>();
          for (ByteString event : SseEvents.split(chunk)) {
            if (!event.utf8String().isBlank()) {
              parts.addAll(next.apply(data(event)));
            }
          }
          return joined(parts);
        })
        .concatLazy(Source.lazySingle(() -> joined(end.get())))
        .filter(bytes -> !bytes.isEmpty());
  }

  /** An SSE event's data: what follows {@code data:} (one line: the servers write each event's JSON on one). */
  static String data(ByteString event) {
    String text = event.utf8String();
    int at = text.indexOf("data:");
    return at < 0 ? "" : text.substring(at + 5).strip();
  }

  private static ByteString joined(List<String> parts) {
    return parts.isEmpty() ? ByteString.emptyByteString() : ByteString.fromString(String.join("", parts));
  }
}
