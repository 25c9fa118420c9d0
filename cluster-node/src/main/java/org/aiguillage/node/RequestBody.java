package org.aiguillage.node;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import org.aiguillage.protocol.openai.OpenAiError;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.StreamTimeoutException;
import org.apache.pekko.util.ByteString;
import org.apache.pekko.util.ByteStringBuilder;

/**
 * Reads a request body up to a limit. Past the limit it keeps reading, and dropping, a bounded amount more before the
 * edge answers 413: an HTTP/1.1 server that answers early and closes with the client's bytes still unread makes the
 * kernel reset the connection, and the client, still sending, then sees a reset instead of the 413 (an OpenAI SDK
 * reports a network error and retries the same oversized body). A body consumed to its end also keeps the connection
 * open for the client's next request.
 */
final class RequestBody {

  /** How much past the limit is read and dropped before the edge gives up and answers anyway. */
  static final long DRAIN_BYTES = 32L << 20;

  /** What was read: the body, or that it was larger than the limit, or that it did not arrive in time. */
  sealed interface Read permits Body, TooLarge, TooSlow {}

  record Body(byte[] bytes) implements Read {}

  record TooLarge() implements Read {}

  record TooSlow(Duration timeout) implements Read {

    /** The answer's error, for HTTP 408. */
    OpenAiError error() {
      return OpenAiError.invalidRequest("The request body did not arrive within " + timeout.toSeconds() + " s.",
          null, "request_timeout");
    }
  }

  private RequestBody() {}

  static CompletionStage<Read> read(HttpEntity entity, long limit, Duration timeout, Materializer materializer) {
    if (entity instanceof HttpEntity.Strict strict) {
      // The usual case: the whole body came with the headers; nothing left to read or drain.
      ByteString data = strict.getData();
      return CompletableFuture.completedFuture(data.size() <= limit ? new Body(data.toArray()) : new TooLarge());
    }
    if (entity.getContentLengthOption().isPresent()) {
      long length = entity.getContentLengthOption().getAsLong();
      if (length > limit + DRAIN_BYTES) {
        // Too much to be worth reading: answer now; the client may see the connection close instead.
        entity.discardBytes(materializer);
        return CompletableFuture.completedFuture(new TooLarge());
      }
    }
    Reader reader = new Reader(limit);
    return entity.getDataBytes()
        .completionTimeout(timeout)
        .takeWhile(reader::add)
        .runForeach(chunk -> { }, materializer)
        .handle((done, failure) -> {
          Throwable cause = failure instanceof CompletionException && failure.getCause() != null
              ? failure.getCause() : failure;
          if (cause instanceof StreamTimeoutException) {
            return new TooSlow(timeout);
          }
          if (cause != null) {
            throw new CompletionException(cause);
          }
          return reader.result();
        });
  }

  /** One read's state; used only by the stream that reads it, one element at a time. */
  private static final class Reader {
    private final long limit;
    private ByteStringBuilder bytes = ByteString.createBuilder();
    private long seen;

    Reader(long limit) {
      this.limit = limit;
    }

    /** Takes a chunk; false once enough past the limit has been drained. */
    boolean add(ByteString chunk) {
      seen += chunk.size();
      if (seen <= limit) {
        bytes.append(chunk);
      } else {
        bytes = null;
      }
      return seen <= limit + DRAIN_BYTES;
    }

    Read result() {
      return seen <= limit ? new Body(bytes.result().toArray()) : new TooLarge();
    }
  }
}
