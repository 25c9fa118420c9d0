package org.aiguillage.agents;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Optional;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Framing;
import org.apache.pekko.util.ByteString;
import org.aiguillage.protocol.Json;

/** Cuts a server's SSE body into events and reads the usage the server reports in them. */
public final class SseEvents {

  private static final ObjectMapper JSON = Json.MAPPER;
  private static final ByteString SEPARATOR = ByteString.fromString("\n\n");
  static final ByteString DONE = ByteString.fromString("data: [DONE]\n\n");

  /**
   * How a stream ends when its server fails after the answer started: an error event in the OpenAI shape, then the
   * usual end, so clients see why the answer is incomplete instead of a cut connection.
   */
  public static final ByteString BROKEN_STREAM_END = ByteString.fromString("data: {\"error\":{\"message\":"
      + "\"The server failed while answering; the answer is incomplete.\",\"type\":\"server_error\","
      + "\"param\":null,\"code\":\"upstream_failed\"}}\n\n" + "data: [DONE]\n\n");

  /** Prompt and completion tokens as the server counted them. */
  public record Usage(long promptTokens, long completionTokens) {
    public static final Usage NONE = new Usage(0, 0);
  }

  private SseEvents() {}

  /** One element per SSE event, each ending with its blank line, as the server sent it. */
  public static Flow<ByteString, ByteString, NotUsed> framing(int maxEventBytes) {
    return Framing.delimiter(SEPARATOR, maxEventBytes, org.apache.pekko.stream.javadsl.FramingTruncation.ALLOW)
        .filter(e -> !e.isEmpty())
        .map(e -> e.concat(SEPARATOR));
  }

  /**
   * The usage an event carries, if it is the usage chunk (or carries usage along with content). Looks for the
   * bytes of {@code "usage"} first: almost no event has them, and decoding every event would cost more.
   */
  public static Optional<Usage> usageOf(ByteString event) {
    if (!contains(event, USAGE)) {
      return Optional.empty();
    }
    String text = event.utf8String();
    if (!text.contains("\"usage\":{") && !text.contains("\"usage\": {")) {
      return Optional.empty();
    }
    return parseUsage(text.strip().replaceFirst("^data:\\s*", ""));
  }

  /** A chunk with no choices and a usage: present only because usage was asked for. */
  public static boolean isUsageOnly(ByteString event) {
    String text = event.utf8String();
    return text.contains("\"choices\":[]") && text.contains("\"usage\"");
  }

  private static final byte[] USAGE = "\"usage\"".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

  static boolean contains(ByteString haystack, byte[] needle) {
    int last = haystack.length() - needle.length;
    outer:
    for (int i = 0; i <= last; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack.apply(i + j) != needle[j]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }

  /** The usage of a whole (non-streamed) answer. */
  public static Optional<Usage> parseUsage(String json) {
    try {
      JsonNode usage = JSON.readTree(json).path("usage");
      if (!usage.isObject()) {
        return Optional.empty();
      }
      return Optional.of(new Usage(usage.path("prompt_tokens").asLong(0), usage.path("completion_tokens").asLong(0)));
    } catch (Exception e) {
      return Optional.empty();
    }
  }
}
