package org.aiguillage.agents;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Optional;
import org.apache.pekko.util.ByteString;
import org.aiguillage.protocol.Json;

/** Reads what the dispatcher needs of a server's answers: the usage, a Responses API answer's id, the end of a broken stream. */
public final class SseEvents {

  private static final ObjectMapper JSON = Json.MAPPER;
  static final ByteString DONE = ByteString.fromString("data: [DONE]\n\n");

  /**
   * How a stream ends when its server fails after the answer started: an error event in the OpenAI shape, then the
   * usual end, so clients see why the answer is incomplete instead of a cut connection.
   */
  public static final ByteString BROKEN_STREAM_END = ByteString.fromString("data: {\"error\":{\"message\":"
      + "\"The server failed while answering; the answer is incomplete.\",\"type\":\"server_error\","
      + "\"param\":null,\"code\":\"upstream_failed\"}}\n\n" + "data: [DONE]\n\n");

  /**
   * Prompt and completion tokens as the server counted them (input tokens alone for embeddings, rerank and score), and
   * the seconds of audio it heard when it says (-1 when it does not).
   */
  public record Usage(long promptTokens, long completionTokens, double audioSeconds) {
    public static final Usage NONE = new Usage(0, 0);

    public Usage(long promptTokens, long completionTokens) {
      this(promptTokens, completionTokens, -1);
    }
  }

  private SseEvents() {}

  /**
   * The usage an event carries, if it is the usage chunk (or carries usage along with content). Looks for the
   * bytes of {@code "usage"} first: almost no event has them, and decoding every event would cost more.
   */
  public static Optional<Usage> usageOf(ByteString event) {
    if (!mentionsUsage(event.toArrayUnsafe())) {
      return Optional.empty();
    }
    String text = event.utf8String();
    if (!text.contains("\"usage\":{") && !text.contains("\"usage\": {")) {
      return Optional.empty();
    }
    // The Responses API names its events: "event: response.completed\ndata: {...}".
    int data = text.indexOf("data:");
    return data < 0 ? Optional.empty() : parseUsage(text.substring(data + 5).strip());
  }

  /**
   * The id of a Responses API answer: a whole answer's {@code id}, or a stream's first event's ({@code
   * response.created}, whose {@code response} carries it).
   */
  public static Optional<String> responseIdOf(ByteString answer) {
    String text = answer.utf8String();
    int data = text.indexOf("data:");
    try {
      JsonNode tree = JSON.readTree(data < 0 ? text : text.substring(data + 5));
      JsonNode id = tree.has("response") ? tree.path("response").path("id") : tree.path("id");
      return id.isTextual() ? Optional.of(id.asText()) : Optional.empty();
    } catch (Exception e) {
      return Optional.empty();
    }
  }

  /**
   * Whether a 404's body says the path is unknown (vLLM and FastAPI: {@code {"detail":"Not Found"}}), not that the
   * model or an object named in the request is.
   */
  static boolean isUnknownRoute(ByteString body) {
    String text = body.utf8String();
    return text.contains("\"detail\"") && text.contains("Not Found") || text.isBlank()
        || text.strip().equals("404 page not found") || text.strip().equals("Not Found");
  }

  /**
   * The event with the call's energy and emissions added to its usage ({@code energy_wh}, {@code co2e_g} where the
   * datacentre's carbon intensity is known, {@code energy_method}); clients ignore fields they do not know. The
   * event as it was if its data is not a JSON object with a usage.
   */
  static ByteString withImpact(ByteString event, CallEnergy.Impact impact, boolean withEmissions) {
    String text = event.utf8String();
    int data = text.indexOf("data:");
    if (data < 0) {
      return event;
    }
    String json = withImpact(text.substring(data + 5).strip(), impact, withEmissions);
    return json == null ? event : ByteString.fromString(text.substring(0, data) + "data: " + json + "\n\n");
  }

  /** A whole answer's JSON with the impact in its usage, as {@link #withImpact(ByteString, CallEnergy.Impact,
   * boolean)}; null if it has no usage. */
  static String withImpact(String json, CallEnergy.Impact impact, boolean withEmissions) {
    try {
      JsonNode answer = JSON.readTree(json);
      JsonNode usage = answer.path("usage");
      if (!usage.isObject()) {
        usage = answer.path("response").path("usage");
      }
      if (!(usage instanceof com.fasterxml.jackson.databind.node.ObjectNode u)) {
        return null;
      }
      u.put("energy_wh", Math.round(impact.wattHours() * 1e6) / 1e6);
      if (withEmissions) {
        u.put("co2e_g", Math.round(impact.co2eGrams() * 1e6) / 1e6);
      }
      u.put("energy_method", impact.method());
      return JSON.writeValueAsString(answer);
    } catch (Exception e) {
      return null;
    }
  }

  /** A chunk with no choices and a usage: present only because usage was asked for. */
  public static boolean isUsageOnly(ByteString event) {
    String text = event.utf8String();
    return text.contains("\"choices\":[]") && text.contains("\"usage\"");
  }

  private static final byte[] USAGE = "\"usage\"".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

  /** Whether the bytes hold {@code "usage"}: almost no event does, and the scan is cheaper than decoding. */
  static boolean mentionsUsage(byte[] bytes) {
    int last = bytes.length - USAGE.length;
    outer:
    for (int i = 0; i <= last; i++) {
      if (bytes[i] != USAGE[0]) {
        continue;
      }
      for (int j = 1; j < USAGE.length; j++) {
        if (bytes[i + j] != USAGE[j]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }

  /** The index just past the first blank line ("\n\n", an event's end), or -1. */
  static int firstEventEnd(ByteString data) {
    int from = 0;
    while (true) {
      int lf = data.indexOf((byte) '\n', from);
      if (lf < 0 || lf + 1 >= data.length()) {
        return -1;
      }
      if (data.apply(lf + 1) == '\n') {
        return lf + 2;
      }
      from = lf + 1;
    }
  }

  /**
   * The events of a block of whole events (as the agent passes an answer on: each element one or more), each as
   * sent, with its blank line; a last one without it as it is.
   */
  public static java.util.List<ByteString> split(ByteString block) {
    java.util.List<ByteString> events = new java.util.ArrayList<>();
    ByteString rest = block;
    while (!rest.isEmpty()) {
      int end = firstEventEnd(rest);
      ByteString event = end < 0 ? rest : rest.take(end);
      rest = end < 0 ? ByteString.emptyByteString() : rest.drop(end);
      events.add(event);
    }
    return events;
  }

  /**
   * The usage of a whole (non-streamed) answer, in each API's words: {@code prompt_tokens} and {@code
   * completion_tokens} (chat, completions, embeddings, score), {@code input_tokens} and {@code output_tokens} (the
   * Responses API, under {@code response} in its last event), {@code total_tokens} alone (rerank); audio as {@code
   * usage: {type: duration, seconds}} or a verbose transcription's {@code duration}.
   */
  public static Optional<Usage> parseUsage(String json) {
    try {
      JsonNode answer = JSON.readTree(json);
      JsonNode usage = answer.path("usage");
      if (!usage.isObject()) {
        usage = answer.path("response").path("usage");
      }
      double audioSeconds = answer.path("duration").isNumber() ? answer.path("duration").asDouble() : -1;
      if (!usage.isObject()) {
        return audioSeconds < 0 ? Optional.empty() : Optional.of(new Usage(0, 0, audioSeconds));
      }
      if ("duration".equals(usage.path("type").asText()) && usage.path("seconds").isNumber()) {
        audioSeconds = usage.path("seconds").asDouble();
      }
      long prompt = usage.path("prompt_tokens").asLong(usage.path("input_tokens").asLong(-1));
      long completion = usage.path("completion_tokens").asLong(usage.path("output_tokens").asLong(0));
      if (prompt < 0) {
        prompt = Math.max(0, usage.path("total_tokens").asLong(0) - completion);
      }
      return Optional.of(new Usage(prompt, completion, audioSeconds));
    } catch (Exception e) {
      return Optional.empty();
    }
  }
}
