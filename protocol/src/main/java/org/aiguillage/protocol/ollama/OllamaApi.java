package org.aiguillage.protocol.ollama;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;
import org.aiguillage.protocol.Json;

/**
 * Ollama's API ({@code /api/chat}, {@code /api/generate}, {@code /api/embed}, {@code /api/embeddings}) as the OpenAI
 * calls a server gets, and the servers' whole answers back in Ollama's shapes: pure functions over JSON trees, so
 * that an Ollama client works in front of vLLM, SGLang or Ollama alike. Streams are {@link OllamaStream}'s.
 *
 * <p>What Ollama has and OpenAI has not is mapped where vLLM understands it ({@code top_k}, {@code min_p}, {@code
 * repeat_penalty} as {@code repetition_penalty}) and dropped where the server decides ({@code num_ctx}, {@code
 * keep_alive}, {@code think}).
 */
public final class OllamaApi {

  /** The version {@code /api/version} reports: clients check it for the features they use. */
  public static final String VERSION = "0.12.0";

  /** What a client's request becomes. */
  public sealed interface Translated permits Call, Invalid {}

  /**
   * The OpenAI call: its path and body ({@code model} as the client wrote it, without a {@code :latest} tag).
   *
   * @param stream whether the client asked for a stream (Ollama's default: yes)
   */
  public record Call(String path, ObjectNode body, String model, boolean stream) implements Translated {}

  /** A request Ollama would refuse with 400, and why. */
  public record Invalid(String message) implements Translated {}

  private OllamaApi() {}

  /** {@code POST /api/chat}. */
  public static Translated chat(JsonNode request) {
    String model = model(request);
    if (model == null) {
      return new Invalid("model is required");
    }
    JsonNode messages = request.path("messages");
    if (!messages.isArray()) {
      return new Invalid("messages is required");
    }
    boolean stream = request.path("stream").asBoolean(true);
    ObjectNode body = Json.MAPPER.createObjectNode().put("model", model);
    body.set("messages", messages(messages));
    if (request.path("tools").isArray() && !request.path("tools").isEmpty()) {
      body.set("tools", request.get("tools"));
    }
    options(request, body, stream);
    return new Call("/v1/chat/completions", body, model, stream);
  }

  /**
   * {@code POST /api/generate}: with {@code raw} or a {@code suffix} (code completion), a text completion of the
   * prompt as written; otherwise a chat of {@code system} and the prompt.
   */
  public static Translated generate(JsonNode request) {
    String model = model(request);
    if (model == null) {
      return new Invalid("model is required");
    }
    boolean stream = request.path("stream").asBoolean(true);
    String prompt = request.path("prompt").asText("");
    ObjectNode body = Json.MAPPER.createObjectNode().put("model", model);
    String path;
    if (request.path("raw").asBoolean(false) || request.hasNonNull("suffix")) {
      path = "/v1/completions";
      body.put("prompt", prompt);
      if (request.hasNonNull("suffix")) {
        body.put("suffix", request.get("suffix").asText());
      }
    } else {
      path = "/v1/chat/completions";
      ArrayNode messages = body.putArray("messages");
      if (request.hasNonNull("system")) {
        messages.addObject().put("role", "system").put("content", request.get("system").asText());
      }
      ObjectNode user = messages.addObject().put("role", "user");
      content(user, prompt, request.path("images"));
    }
    options(request, body, stream);
    return new Call(path, body, model, stream);
  }

  /** {@code POST /api/embed} ({@code input}: a string or strings) and the older {@code /api/embeddings} ({@code prompt}). */
  public static Translated embed(JsonNode request) {
    String model = model(request);
    if (model == null) {
      return new Invalid("model is required");
    }
    JsonNode input = request.has("input") ? request.get("input") : request.get("prompt");
    if (input == null || input.isNull() || input.isArray() && input.isEmpty()) {
      return new Invalid("input is required");
    }
    ObjectNode body = Json.MAPPER.createObjectNode().put("model", model);
    body.set("input", input);
    if (request.hasNonNull("dimensions")) {
      body.set("dimensions", request.get("dimensions"));
    }
    return new Call("/v1/embeddings", body, model, false);
  }

  /** The model a request names, without the {@code :latest} tag Ollama clients add; null when absent. */
  static String model(JsonNode request) {
    String model = request.path("model").asText(request.path("name").asText(""));
    if (model.isBlank()) {
      return null;
    }
    return model.endsWith(":latest") ? model.substring(0, model.length() - ":latest".length()) : model;
  }

  // ---- requests

  /**
   * Ollama's messages as OpenAI's: images as image parts, tool calls with ids (Ollama has none: {@code call_N}),
   * and each tool result answering the oldest call of its name not yet answered.
   */
  private static ArrayNode messages(JsonNode messages) {
    ArrayNode out = Json.MAPPER.createArrayNode();
    Map<String, Deque<String>> unanswered = new HashMap<>();
    int calls = 0;
    for (JsonNode m : messages) {
      String role = m.path("role").asText("user");
      ObjectNode message = out.addObject().put("role", role);
      if (role.equals("assistant") && m.path("tool_calls").isArray() && !m.path("tool_calls").isEmpty()) {
        message.put("content", m.path("content").asText(""));
        ArrayNode toolCalls = message.putArray("tool_calls");
        for (JsonNode call : m.get("tool_calls")) {
          String id = call.hasNonNull("id") ? call.get("id").asText() : "call_" + calls;
          calls++;
          String name = call.path("function").path("name").asText();
          JsonNode arguments = call.path("function").path("arguments");
          toolCalls.addObject().put("id", id).put("type", "function").putObject("function").put("name", name)
              .put("arguments", arguments.isTextual() ? arguments.asText() : arguments.toString());
          unanswered.computeIfAbsent(name, n -> new ArrayDeque<>()).add(id);
        }
      } else if (role.equals("tool")) {
        String name = m.path("tool_name").asText(m.path("name").asText(""));
        Deque<String> ids = unanswered.get(name);
        String id = ids != null && !ids.isEmpty() ? ids.poll() : firstUnanswered(unanswered);
        message.put("tool_call_id", id == null ? "call_" + calls++ : id);
        message.put("content", m.path("content").asText(""));
      } else {
        content(message, m.path("content").asText(""), m.path("images"));
      }
    }
    return out;
  }

  private static String firstUnanswered(Map<String, Deque<String>> unanswered) {
    for (Deque<String> ids : unanswered.values()) {
      if (!ids.isEmpty()) {
        return ids.poll();
      }
    }
    return null;
  }

  /** A message's text, with its images (base64, as Ollama sends them) as image parts after it. */
  private static void content(ObjectNode message, String text, JsonNode images) {
    if (!images.isArray() || images.isEmpty()) {
      message.put("content", text);
      return;
    }
    ArrayNode parts = message.putArray("content");
    parts.addObject().put("type", "text").put("text", text);
    for (JsonNode image : images) {
      String data = image.asText();
      parts.addObject().put("type", "image_url").putObject("image_url")
          .put("url", "data:" + mediaType(data) + ";base64," + data);
    }
  }

  /** The image's type from the first bytes of its base64: PNG, JPEG, GIF, WebP. */
  static String mediaType(String base64) {
    if (base64.startsWith("/9j/")) {
      return "image/jpeg";
    }
    if (base64.startsWith("R0lG")) {
      return "image/gif";
    }
    if (base64.startsWith("UklG")) {
      return "image/webp";
    }
    return "image/png";
  }

  /** {@code options} and {@code format} as OpenAI's fields; a stream asks for its usage (Ollama's last object has it). */
  private static void options(JsonNode request, ObjectNode body, boolean stream) {
    body.put("stream", stream);
    if (stream) {
      body.putObject("stream_options").put("include_usage", true);
    }
    JsonNode options = request.path("options");
    int predict = options.path("num_predict").asInt(0);
    if (predict > 0) {
      body.put("max_tokens", predict);
    }
    for (String same : new String[] {"temperature", "top_p", "top_k", "min_p", "seed", "presence_penalty",
        "frequency_penalty"}) {
      if (options.hasNonNull(same)) {
        body.set(same, options.get(same));
      }
    }
    if (options.hasNonNull("repeat_penalty")) {
      body.set("repetition_penalty", options.get("repeat_penalty"));
    }
    if (options.path("stop").isArray() && !options.path("stop").isEmpty()) {
      body.set("stop", options.get("stop"));
    }
    JsonNode format = request.path("format");
    if (format.isTextual() && format.asText().equals("json")) {
      body.putObject("response_format").put("type", "json_object");
    } else if (format.isObject()) {
      ObjectNode schema = body.putObject("response_format").put("type", "json_schema").putObject("json_schema")
          .put("name", "format");
      schema.set("schema", format);
    }
  }

  // ---- answers

  /**
   * A whole chat completion as {@code /api/chat}'s answer, or as {@code /api/generate}'s ({@code generate}: the text
   * under {@code response}).
   *
   * @param nanos how long the call took, for Ollama's durations
   */
  public static ObjectNode fromChatCompletion(JsonNode completion, String model, boolean generate, long nanos) {
    JsonNode choice = completion.path("choices").path(0);
    JsonNode message = choice.path("message");
    String text = message.path("content").isTextual() ? message.path("content").asText()
        : choice.path("text").asText("");
    ObjectNode answer = head(model);
    if (generate) {
      answer.put("response", text);
    } else {
      ObjectNode m = answer.putObject("message").put("role", "assistant").put("content", text);
      JsonNode toolCalls = message.path("tool_calls");
      if (toolCalls.isArray() && !toolCalls.isEmpty()) {
        ArrayNode calls = m.putArray("tool_calls");
        for (JsonNode call : toolCalls) {
          calls.addObject().putObject("function").put("name", call.path("function").path("name").asText())
              .set("arguments", arguments(call.path("function").path("arguments").asText("")));
        }
      }
    }
    return done(answer, choice.path("finish_reason").asText("stop"), completion.path("usage"), nanos, 0);
  }

  /** {@code /api/embed}'s answer ({@code legacy}: {@code /api/embeddings}', one vector under {@code embedding}). */
  public static ObjectNode fromEmbeddings(JsonNode embeddings, String model, boolean legacy, long nanos) {
    ObjectNode answer = Json.MAPPER.createObjectNode();
    if (legacy) {
      answer.set("embedding", embeddings.path("data").path(0).path("embedding"));
      return answer;
    }
    answer.put("model", model);
    ArrayNode vectors = answer.putArray("embeddings");
    embeddings.path("data").forEach(d -> vectors.add(d.path("embedding")));
    return answer.put("total_duration", nanos).put("load_duration", 0)
        .put("prompt_eval_count", embeddings.path("usage").path("prompt_tokens").asLong(0));
  }

  /** The start of every answer object: the model and when. */
  static ObjectNode head(String model) {
    return Json.MAPPER.createObjectNode().put("model", model).put("created_at", Instant.now().toString());
  }

  /**
   * The last object of an answer: {@code done}, why, the token counts and Ollama's durations in nanoseconds.
   *
   * @param firstTokenNanos from the call's start to its first token, 0 when not known (a whole answer)
   */
  static ObjectNode done(ObjectNode answer, String finishReason, JsonNode usage, long nanos, long firstTokenNanos) {
    return answer.put("done", true).put("done_reason", finishReason.equals("length") ? "length" : "stop")
        .put("total_duration", nanos).put("load_duration", 0)
        .put("prompt_eval_count", usage.path("prompt_tokens").asLong(0))
        .put("prompt_eval_duration", firstTokenNanos)
        .put("eval_count", usage.path("completion_tokens").asLong(0))
        .put("eval_duration", Math.max(0, nanos - firstTokenNanos));
  }

  /** A tool call's arguments, a JSON string in OpenAI's API, as the object Ollama's has. */
  static JsonNode arguments(String json) {
    try {
      JsonNode parsed = Json.MAPPER.readTree(json.isBlank() ? "{}" : json);
      return parsed.isObject() ? parsed : Json.MAPPER.createObjectNode();
    } catch (Exception e) {
      return Json.MAPPER.createObjectNode();
    }
  }

  /** Ollama's error answer. */
  public static ObjectNode error(String message) {
    return Json.MAPPER.createObjectNode().put("error", message);
  }

  // ---- listings

  /**
   * A model as {@code /api/tags} and {@code /api/ps} list it: Ollama's fields, those a dispatcher cannot know
   * (size, digest, quantisation) empty or zero.
   */
  public static ObjectNode listed(String name, String family, boolean running) {
    ObjectNode m = Json.MAPPER.createObjectNode().put("name", name).put("model", name)
        .put("modified_at", "2026-01-01T00:00:00Z").put("size", 0).put("digest", digest(name));
    details(m.putObject("details"), family);
    if (running) {
      m.put("expires_at", "2100-01-01T00:00:00Z").put("size_vram", 0);
    }
    return m;
  }

  /** {@code /api/show}'s answer. */
  public static ObjectNode show(String name, String family, boolean embeddings) {
    ObjectNode m = Json.MAPPER.createObjectNode().put("modelfile", "# served by Aiguillage: FROM " + name)
        .put("parameters", "").put("template", "{{ .Prompt }}").put("modified_at", "2026-01-01T00:00:00Z");
    details(m.putObject("details"), family);
    m.putObject("model_info").put("general.architecture", family).put("general.basename", name);
    ArrayNode capabilities = m.putArray("capabilities");
    if (embeddings) {
      capabilities.add("embedding");
    } else {
      capabilities.add("completion").add("tools");
    }
    return m;
  }

  private static void details(ObjectNode details, String family) {
    details.put("parent_model", "").put("format", "safetensors").put("family", family)
        .put("parameter_size", "").put("quantization_level", "");
    details.putArray("families").add(family);
  }

  /** A stable digest-like id for a model name (clients show it; nothing checks it). */
  private static String digest(String name) {
    String hex = Integer.toHexString(name.hashCode());
    return "sha256:" + "0".repeat(64 - hex.length()) + hex;
  }
}
