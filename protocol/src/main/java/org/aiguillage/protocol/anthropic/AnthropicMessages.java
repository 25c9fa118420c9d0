package org.aiguillage.protocol.anthropic;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.UUID;
import org.aiguillage.protocol.Json;
import org.aiguillage.protocol.anthropic.AnthropicBlocks.Refusal;

/**
 * Anthropic's Messages API ({@code POST /v1/messages}) over OpenAI's Chat Completions: a client's Messages request
 * as a chat completion request, a chat completion as a Message, and Anthropic's errors. Streams are
 * {@link AnthropicStream}'s. Anthropic-only features (thinking, caching, server tools, documents) have no chat
 * completion counterpart and are left out, never refused.
 */
public final class AnthropicMessages {

  /** What a client's Messages request becomes. */
  public sealed interface Translated permits Request, Invalid {}

  /**
   * @param openAiChat the body for POST /v1/chat/completions (model left as the client wrote it)
   * @param stream whether the client asked for a stream
   */
  public record Request(ObjectNode openAiChat, String model, boolean stream) implements Translated {}

  /**
   * A request Anthropic's API would refuse with 400 invalid_request_error: the message says why, as Anthropic words
   * it (e.g. "max_tokens: Field required").
   */
  public record Invalid(String message) implements Translated {}

  /** Why a message ended, as Anthropic says it, and the stop sequence that ended it if one did. */
  record StopReason(String reason, String sequence) {}

  private AnthropicMessages() {}

  public static Translated toOpenAi(JsonNode messagesRequest) {
    try {
      return translate(messagesRequest);
    } catch (Refusal refusal) {
      return new Invalid(refusal.getMessage());
    }
  }

  private static Translated translate(JsonNode in) {
    if (in == null || !in.isObject()) {
      throw new Refusal("body: Input should be a valid dictionary");
    }
    JsonNode model = AnthropicBlocks.required(in, "model");
    if (!model.isTextual()) {
      throw new Refusal("model: Input should be a valid string");
    }
    JsonNode maxTokens = AnthropicBlocks.required(in, "max_tokens");
    if (!maxTokens.isIntegralNumber()) {
      throw new Refusal("max_tokens: Input should be a valid integer");
    }
    if (maxTokens.asLong() < 1) {
      throw new Refusal("max_tokens: Input should be greater than or equal to 1");
    }
    JsonNode messages = AnthropicBlocks.required(in, "messages");
    if (!messages.isArray()) {
      throw new Refusal("messages: Input should be a valid list");
    }
    if (messages.isEmpty()) {
      throw new Refusal("messages: at least one message is required");
    }
    ObjectNode out = Json.MAPPER.createObjectNode();
    out.put("model", model.asText());
    ArrayNode chat = out.putArray("messages");
    String system = AnthropicBlocks.systemText(in.get("system"));
    if (!system.isEmpty()) {
      chat.addObject().put("role", "system").put("content", system);
    }
    for (int i = 0; i < messages.size(); i++) {
      AnthropicBlocks.addMessage(chat, messages.get(i), "messages." + i);
    }
    out.set("max_tokens", maxTokens);
    AnthropicBlocks.addTools(out, in.get("tools"), in.get("tool_choice"));
    JsonNode stops = in.get("stop_sequences");
    if (stops != null && stops.isArray() && !stops.isEmpty()) {
      out.set("stop", stops.deepCopy());
    }
    for (String sampling : List.of("temperature", "top_p", "top_k")) {
      JsonNode value = in.get(sampling);
      if (value != null && value.isNumber()) {
        out.set(sampling, value);
      }
    }
    JsonNode user = in.path("metadata").path("user_id");
    if (user.isTextual()) {
      out.put("user", user.asText());
    }
    boolean stream = in.path("stream").asBoolean(false);
    if (stream) {
      out.put("stream", true);
      out.putObject("stream_options").put("include_usage", true);
    }
    return new Request(out, model.asText(), stream);
  }

  /** A whole OpenAI chat completion (2xx body) as an Anthropic Message object. */
  public static ObjectNode fromOpenAi(JsonNode chatCompletion, String requestedModel) {
    JsonNode choice = chatCompletion.path("choices").path(0);
    JsonNode message = choice.path("message");
    ObjectNode out = Json.MAPPER.createObjectNode();
    String id = chatCompletion.path("id").asText("");
    out.put("id", "msg_" + (id.isEmpty() ? UUID.randomUUID().toString().replace("-", "") : id));
    out.put("type", "message").put("role", "assistant").put("model", requestedModel);
    ArrayNode content = out.putArray("content");
    String text = messageText(message.path("content"));
    if (!text.isEmpty()) {
      content.addObject().put("type", "text").put("text", text);
    }
    for (JsonNode call : message.path("tool_calls")) {
      content.addObject().put("type", "tool_use")
          .put("id", call.path("id").asText())
          .put("name", call.path("function").path("name").asText())
          .set("input", arguments(call.path("function").path("arguments")));
    }
    StopReason stop = stopReason(choice.path("finish_reason").asText(null), choice.get("stop_reason"),
        !message.path("tool_calls").isEmpty());
    out.put("stop_reason", stop.reason()).put("stop_sequence", stop.sequence());
    JsonNode usage = chatCompletion.path("usage");
    out.putObject("usage")
        .put("input_tokens", usage.path("prompt_tokens").asLong(0))
        .put("output_tokens", usage.path("completion_tokens").asLong(0));
    return out;
  }

  private static String messageText(JsonNode content) {
    if (content.isTextual()) {
      return content.asText();
    }
    StringBuilder text = new StringBuilder();
    if (content.isArray()) {
      content.forEach(part -> text.append(part.path("text").asText("")));
    }
    return text.toString();
  }

  /** A tool call's arguments as the object Anthropic's {@code input} is: {@code {}} when they are not one. */
  private static JsonNode arguments(JsonNode arguments) {
    if (arguments.isObject()) {
      return arguments;
    }
    try {
      JsonNode parsed = Json.MAPPER.readTree(arguments.asText(""));
      return parsed != null && parsed.isObject() ? parsed : Json.MAPPER.createObjectNode();
    } catch (JsonProcessingException e) {
      return Json.MAPPER.createObjectNode();
    }
  }

  /**
   * Anthropic's stop reason for OpenAI's {@code finish_reason}; {@code matched} is vLLM's {@code stop_reason}, the
   * stop string that ended the output (or a token id, which is no stop sequence). A "stop" that ended on tool
   * calls is a tool_use, as some servers finish tool calls with "stop".
   */
  static StopReason stopReason(String finishReason, JsonNode matched, boolean toolCalls) {
    if (finishReason == null) {
      return new StopReason(toolCalls ? "tool_use" : "end_turn", null);
    }
    return switch (finishReason) {
      case "length" -> new StopReason("max_tokens", null);
      case "tool_calls" -> new StopReason("tool_use", null);
      case "stop" -> toolCalls ? new StopReason("tool_use", null)
          : matched != null && matched.isTextual() ? new StopReason("stop_sequence", matched.asText())
          : new StopReason("end_turn", null);
      default -> new StopReason("end_turn", null);
    };
  }

  /**
   * An <em>estimate</em> of a request's input tokens for {@code POST /v1/messages/count_tokens}: there is no
   * tokenizer here, so it is about 4 characters a token over the text of the system prompt, the messages (text,
   * tool uses and tool results) and the tool definitions, and at least 1. Images are not counted.
   */
  public static long countTokens(JsonNode messagesRequest) {
    if (messagesRequest == null) {
      return 1;
    }
    long chars = systemCharacters(messagesRequest.get("system"));
    for (JsonNode message : messagesRequest.path("messages")) {
      chars += contentCharacters(message.path("content"));
    }
    for (JsonNode tool : messagesRequest.path("tools")) {
      chars += tool.path("name").asText("").length() + tool.path("description").asText("").length();
      JsonNode schema = tool.get("input_schema");
      chars += schema == null ? 0 : write(schema).length();
    }
    return Math.max(1, (chars + 3) / 4);
  }

  private static long systemCharacters(JsonNode system) {
    try {
      return AnthropicBlocks.systemText(system).length();
    } catch (Refusal refusal) {
      return 0;
    }
  }

  private static long contentCharacters(JsonNode content) {
    if (content.isTextual()) {
      return content.asText().length();
    }
    long chars = 0;
    for (JsonNode block : content) {
      chars += switch (block.path("type").asText()) {
        case "text" -> block.path("text").asText("").length();
        case "tool_use" -> block.path("name").asText("").length()
            + (block.has("input") ? write(block.get("input")).length() : 0);
        case "tool_result" -> contentCharacters(block.path("content"));
        default -> 0;
      };
    }
    return chars;
  }

  /** Anthropic's error envelope {@code {"type":"error","error":{"type":..,"message":..}}}. */
  public static ObjectNode error(String type, String message) {
    ObjectNode envelope = Json.MAPPER.createObjectNode().put("type", "error");
    envelope.putObject("error").put("type", type).put("message", message);
    return envelope;
  }

  /**
   * The Anthropic error type for an HTTP status: 400 and 408 invalid_request_error, 401 authentication_error, 403
   * permission_error, 404 not_found_error, 413 request_too_large, 429 rate_limit_error, 503 and 529
   * overloaded_error, anything else (500, 502 among them) api_error.
   */
  public static String errorType(int status) {
    return switch (status) {
      case 400, 408 -> "invalid_request_error";
      case 401 -> "authentication_error";
      case 403 -> "permission_error";
      case 404 -> "not_found_error";
      case 413 -> "request_too_large";
      case 429 -> "rate_limit_error";
      case 503, 529 -> "overloaded_error";
      default -> "api_error";
    };
  }

  /** The status Anthropic uses where the dispatcher says {@code status}: 503 becomes 529 (overloaded); others stay. */
  public static int status(int status) {
    return status == 503 ? 529 : status;
  }

  static String write(JsonNode node) {
    try {
      return Json.MAPPER.writeValueAsString(node);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write a JSON tree", e);
    }
  }
}
