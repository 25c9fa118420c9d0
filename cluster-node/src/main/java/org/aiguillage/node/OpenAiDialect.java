package org.aiguillage.node;

import java.time.Duration;
import java.util.List;
import org.aiguillage.protocol.openai.OpenAiError;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/** OpenAI's API, which the servers speak too: answers pass through as the server wrote them. */
final class OpenAiDialect implements Dialect {

  static final OpenAiDialect INSTANCE = new OpenAiDialect();

  static final ContentType EVENT_STREAM = ContentTypes.create(MediaTypes.TEXT_EVENT_STREAM);
  private static final ByteString KEEP_ALIVE = ByteString.fromString(": keep-alive\n\n");
  private static final Duration KEEP_ALIVE_AFTER = Duration.ofSeconds(15);

  private OpenAiDialect() {}

  @Override
  public HttpResponse stream(Source<ByteString, NotUsed> events) {
    return sse(events.keepAlive(KEEP_ALIVE_AFTER, () -> KEEP_ALIVE));
  }

  /** An SSE answer, with the headers that keep proxies from buffering it. */
  static HttpResponse sse(Source<ByteString, NotUsed> events) {
    return HttpResponse.create()
        .withEntity(HttpEntities.createChunked(EVENT_STREAM, events))
        .addHeaders(List.of(RawHeader.create("Cache-Control", "no-cache"),
            RawHeader.create("X-Accel-Buffering", "no")));
  }

  @Override
  public HttpResponse whole(int status, String contentType, byte[] body) {
    return HttpResponse.create().withStatus(status)
        .withEntity(HttpEntities.create(ContentTypes.parse(contentType), body));
  }

  @Override
  public HttpResponse error(int status, OpenAiError error, long retryAfterSeconds) {
    return EdgeDirectives.error(status, error, retryAfterSeconds);
  }
}
