package org.aiguillage.node;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;
import org.aiguillage.protocol.audio.WavHeader;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.scaladsl.model.EntityStreamSizeException;
import org.apache.pekko.http.javadsl.model.Multipart;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;
import org.apache.pekko.stream.IOResult;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.StreamLimitReachedException;
import org.apache.pekko.stream.StreamTimeoutException;
import org.apache.pekko.stream.javadsl.FileIO;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * A speech-to-text request's multipart body, written to a file of the edge's as it arrives, never held whole: the
 * form as the server will get it (its {@code model} renamed to the served name, the dispatcher's {@code priority}
 * and {@code routing-mode} left out, a stream asking for its usage), its text fields for the edge to decide on, and
 * the audio's duration when the file is a WAV.
 */
final class AudioUpload {

  /** What the form's text fields may hold, all together: they are read whole. */
  private static final int MAX_FIELD_BYTES = 64 * 1024;
  private static final Set<String> DISPATCHER_FIELDS = Set.of("priority", "routing-mode");
  private static final ByteString CRLF = ByteString.fromString("\r\n");

  /** What was read. */
  sealed interface Read permits Spooled, Refused {}

  /**
   * The form on disk.
   *
   * @param file the rewritten body; the caller deletes it
   * @param contentType the rewritten body's content type, its boundary included
   * @param fields the text fields as the client sent them
   * @param hasFile whether the form had a part with a file
   * @param audioSeconds the audio's duration read from a WAV header, -1 otherwise
   */
  record Spooled(Path file, long bytes, String contentType, Map<String, String> fields, boolean hasFile,
      double audioSeconds) implements Read {}

  /** Refused: {@code status} 413 (over the limit), 408 (too slow) or 400 (not a multipart form). */
  record Refused(int status, String message) implements Read {}

  private AudioUpload() {}

  /**
   * @param limit the most bytes the body may have ({@code http.max_audio_bytes})
   * @param servedName the name the servers know a client-facing model name by (the name itself when unknown)
   */
  static CompletionStage<Read> spool(HttpEntity entity, long limit, Duration timeout, UnaryOperator<String> servedName,
      Materializer materializer) {
    if (entity.getContentLengthOption().isPresent()
        && entity.getContentLengthOption().getAsLong() > limit + MAX_FIELD_BYTES) {
      // Read and dropped before the answer, as it arrives (a file's worth of bytes, never held), so that the client
      // sees the 413 rather than a connection reset under the bytes it is still sending (see RequestBody).
      return entity.getDataBytes().completionTimeout(timeout).runWith(Sink.ignore(), materializer)
          .handle((done, failure) -> tooLarge(limit));
    }
    Path file;
    try {
      file = Files.createTempFile("aiguillage-audio-", ".form");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    String boundary = "aiguillage-" + UUID.randomUUID();
    Map<String, String> fields = new ConcurrentHashMap<>();
    AudioPart audio = new AudioPart();
    CompletionStage<Read> read = Unmarshaller.entityToMultipartFormData()
        .unmarshal(entity.withoutSizeLimit(), materializer)
        .thenCompose(form -> form.getParts()
            .<Object>mapAsync(1, part -> part.getFilename().isPresent()
                ? CompletableFuture.completedFuture(part)
                : part.getEntity().withSizeLimit(MAX_FIELD_BYTES).toStrict(timeout.toMillis(), materializer)
                    .thenApply(strict -> new Field(part.getName(), strict.getData().utf8String())))
            .flatMapConcat(part -> encode(part, boundary, fields, audio, servedName, limit))
            // Lazily: the ending depends on the fields, known once every part passed (concat would pull it first).
            .concatLazy(Source.lazySingle(() -> ending(boundary, fields)))
            .limitWeighted(limit + 2L * MAX_FIELD_BYTES, chunk -> (long) chunk.size())
            .completionTimeout(timeout)
            .runWith(FileIO.toPath(file), materializer))
        .handle((IOResult io, Throwable failure) -> {
          if (failure == null) {
            return new Spooled(file, io.count(), "multipart/form-data; boundary=" + boundary, Map.copyOf(fields),
                audio.bytes > 0, audio.bytes > limit ? -1 : WavHeader.seconds(audio.prefix(), audio.bytes));
          }
          delete(file);
          Throwable cause = failure instanceof CompletionException && failure.getCause() != null
              ? failure.getCause() : failure;
          // The file's own count first: the limit's exception may reach here wrapped by the form's parser.
          if (audio.bytes > limit || cause instanceof StreamLimitReachedException
              || cause instanceof EntityStreamSizeException) {
            // Pekko HTTP closes the connection after this answer: the rest of the body is not read.
            return tooLarge(limit);
          }
          if (cause instanceof StreamTimeoutException) {
            return new Refused(408, "The request body did not arrive within " + timeout.toSeconds() + " s.");
          }
          return new Refused(400, "The request body is not a multipart/form-data form: " + cause.getMessage());
        });
    return read;
  }

  static void delete(Path file) {
    try {
      Files.deleteIfExists(file);
    } catch (IOException e) {
      // a temporary file left behind is the system's to clean
    }
  }

  private static Refused tooLarge(long limit) {
    return new Refused(413, "The audio file is larger than this endpoint accepts (" + limit + " bytes, "
        + "http.max_audio_bytes).");
  }

  /** A text field of the form, read whole (it is small). */
  private record Field(String name, String value) {}

  /** One part as the server gets it, the text fields noted on the way. */
  private static Source<ByteString, NotUsed> encode(Object read, String boundary, Map<String, String> fields,
      AudioPart audio, UnaryOperator<String> servedName, long limit) {
    if (read instanceof Multipart.FormData.BodyPart part) {
      String name = part.getName();
      String type = part.getEntity().getContentType().toString();
      ByteString head = ByteString.fromString("--" + boundary + "\r\nContent-Disposition: form-data; name=\""
          + quoted(name) + "\"; filename=\"" + quoted(part.getFilename().get()) + "\"\r\nContent-Type: " + type
          + "\r\n\r\n", StandardCharsets.UTF_8);
      return Source.single(head)
          .concat(part.getEntity().getDataBytes().map(chunk -> {
            audio.add(chunk);
            if (audio.bytes > limit) {
              throw new StreamLimitReachedException(limit);
            }
            return chunk;
          }))
          .concat(Source.single(CRLF));
    }
    Field field = (Field) read;
    String name = field.name();
    String value = field.value();
    fields.put(name, value);
    if (DISPATCHER_FIELDS.contains(name)) {
      return Source.empty();
    }
    return Source.single(field(boundary, name, name.equals("model") ? servedName.apply(value) : value));
  }

  /** The form's end, after a field that makes a stream end with its usage (the dispatcher counts it). */
  private static ByteString ending(String boundary, Map<String, String> fields) {
    ByteString end = ByteString.fromString("--" + boundary + "--\r\n");
    return Boolean.parseBoolean(fields.getOrDefault("stream", "false").strip())
        && !fields.containsKey("stream_include_usage")
        ? field(boundary, "stream_include_usage", "true").concat(end) : end;
  }

  private static ByteString field(String boundary, String name, String value) {
    return ByteString.fromString("--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + quoted(name)
        + "\"\r\n\r\n" + value + "\r\n", StandardCharsets.UTF_8);
  }

  private static String quoted(String s) {
    return s.replace("\"", "%22").replace("\r", "").replace("\n", "");
  }

  /** The file part's size and first bytes; written by the one stream that reads it. */
  private static final class AudioPart {
    private final byte[] prefix = new byte[WavHeader.PREFIX_BYTES];
    private int prefixLength;
    private volatile long bytes;

    void add(ByteString chunk) {
      int n = Math.min(chunk.size(), prefix.length - prefixLength);
      if (n > 0) {
        chunk.slice(0, n).copyToArray(prefix, prefixLength, n);
        prefixLength += n;
      }
      bytes += chunk.size();
    }

    byte[] prefix() {
      return java.util.Arrays.copyOf(prefix, prefixLength);
    }
  }
}
