package org.aiguillage.protocol.ollama;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.function.LongSupplier;
import org.aiguillage.protocol.Json;

/**
 * A server's OpenAI stream (chat or completion chunks) as Ollama's NDJSON, one event at a time: an object per text
 * chunk ({@code done: false}), tool calls once whole (their arguments come in pieces; Ollama sends each call whole),
 * then the last object with {@code done: true}, the reason, the token counts from the usage chunk and Ollama's
 * durations. A stream that breaks ends with Ollama's {@code {"error": ...}} line.
 *
 * <p>Not thread-safe: one per stream, fed in order.
 */
public final class OllamaStream {

  private final String model;
  private final boolean generate;
  private final LongSupplier nanoTime;
  private final long startNanos;
  private long firstTokenNanos;
  private String finishReason = "stop";
  private JsonNode usage = MissingNode.getInstance();
  /** Tool calls by their index, while their arguments arrive: name, then the arguments' text so far. */
  private final TreeMap<Integer, String[]> toolCalls = new TreeMap<>();
  private boolean over;

  /**
   * @param generate {@code /api/generate}'s shape (text under {@code response}), else {@code /api/chat}'s
   * @param nanoTime the clock of the durations; the stream's call started at its first reading
   */
  public OllamaStream(String model, boolean generate, LongSupplier nanoTime) {
    this.model = model;
    this.generate = generate;
    this.nanoTime = nanoTime;
    this.startNanos = nanoTime.getAsLong();
  }

  /** The next server event's data (the JSON after {@code data: }, or {@code [DONE]}) as NDJSON lines. */
  public List<String> next(String data) {
    List<String> lines = new ArrayList<>();
    if (over) {
      return lines;
    }
    if (data.equals("[DONE]")) {
      return end(true);
    }
    JsonNode chunk;
    try {
      chunk = Json.MAPPER.readTree(data);
    } catch (Exception e) {
      return lines; // not an event of the answer (a comment, a keep-alive)
    }
    if (chunk.has("error")) {
      over = true;
      lines.add(line(OllamaApi.error(chunk.path("error").path("message").asText("the server failed"))));
      return lines;
    }
    if (chunk.path("usage").isObject()) {
      usage = chunk.get("usage");
    }
    JsonNode choice = chunk.path("choices").path(0);
    if (choice.isMissingNode()) {
      return lines;
    }
    JsonNode delta = choice.path("delta");
    String text = delta.path("content").isTextual() ? delta.path("content").asText() : choice.path("text").asText("");
    if (!text.isEmpty()) {
      if (firstTokenNanos == 0) {
        firstTokenNanos = nanoTime.getAsLong();
      }
      lines.add(line(piece(text)));
    }
    for (JsonNode call : delta.path("tool_calls")) {
      String[] known = toolCalls.computeIfAbsent(call.path("index").asInt(toolCalls.size()), i -> new String[] {"", ""});
      if (call.path("function").hasNonNull("name")) {
        known[0] = call.path("function").path("name").asText();
      }
      known[1] += call.path("function").path("arguments").asText("");
    }
    if (choice.hasNonNull("finish_reason")) {
      finishReason = choice.get("finish_reason").asText();
      if (!toolCalls.isEmpty()) {
        lines.add(line(toolCallsObject()));
      }
    }
    return lines;
  }

  /**
   * The stream is over: the last object ({@code complete}), or the error line of a stream the server cut. Nothing
   * after the first end.
   */
  public List<String> end(boolean complete) {
    List<String> lines = new ArrayList<>();
    if (over) {
      return lines;
    }
    over = true;
    if (!complete) {
      lines.add(line(OllamaApi.error("The server failed while answering; the answer is incomplete.")));
      return lines;
    }
    ObjectNode last = OllamaApi.head(model);
    if (generate) {
      last.put("response", "");
    } else {
      last.putObject("message").put("role", "assistant").put("content", "");
    }
    long now = nanoTime.getAsLong();
    lines.add(line(OllamaApi.done(last, finishReason, usage, now - startNanos,
        firstTokenNanos == 0 ? 0 : firstTokenNanos - startNanos)));
    return lines;
  }

  private ObjectNode piece(String text) {
    ObjectNode piece = OllamaApi.head(model);
    if (generate) {
      piece.put("response", text);
    } else {
      piece.putObject("message").put("role", "assistant").put("content", text);
    }
    return piece.put("done", false);
  }

  private ObjectNode toolCallsObject() {
    ObjectNode object = OllamaApi.head(model);
    ArrayNode calls = object.putObject("message").put("role", "assistant").put("content", "").putArray("tool_calls");
    toolCalls.values().forEach(c -> calls.addObject().putObject("function").put("name", c[0])
        .set("arguments", OllamaApi.arguments(c[1])));
    toolCalls.clear();
    return object.put("done", false);
  }

  private static String line(ObjectNode object) {
    return object + "\n";
  }
}
