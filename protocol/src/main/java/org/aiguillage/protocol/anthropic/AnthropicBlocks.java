package org.aiguillage.protocol.anthropic;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import org.aiguillage.protocol.Json;

/**
 * The parts of a Messages request that are lists of blocks (the system prompt, each message's content, the tools) as
 * their chat completion counterparts. A block with none (thinking, documents, server tools) is left out.
 */
final class AnthropicBlocks {

  /** What Anthropic's API would refuse with 400 invalid_request_error; its message says why. */
  static final class Refusal extends RuntimeException {
    Refusal(String message) {
      super(message, null, false, false);
    }
  }

  private AnthropicBlocks() {}

  static JsonNode required(JsonNode in, String field) {
    JsonNode value = in.get(field);
    if (value == null || value.isNull()) {
      throw new Refusal(field + ": Field required");
    }
    return value;
  }

  static String systemText(JsonNode system) {
    if (system == null || system.isNull()) {
      return "";
    }
    if (system.isTextual()) {
      return system.asText();
    }
    if (!system.isArray()) {
      throw new Refusal("system: Input should be a valid string or a list of text blocks");
    }
    List<String> texts = new ArrayList<>();
    system.forEach(block -> {
      if ("text".equals(block.path("type").asText())) {
        texts.add(block.path("text").asText());
      }
    });
    return String.join("\n", texts);
  }

  /**
   * One Anthropic message as OpenAI messages: a user turn's tool results each become a {@code tool} message ahead
   * of what else the user said; an assistant turn's tool uses become its {@code tool_calls}.
   */
  static void addMessage(ArrayNode chat, JsonNode message, String where) {
    String role = message.path("role").asText();
    if (!role.equals("user") && !role.equals("assistant")) {
      throw new Refusal(where + ".role: Input should be 'user' or 'assistant'");
    }
    JsonNode content = message.get("content");
    if (content == null || content.isNull()) {
      throw new Refusal(where + ".content: Field required");
    }
    if (content.isTextual()) {
      chat.addObject().put("role", role).put("content", content.asText());
      return;
    }
    if (!content.isArray()) {
      throw new Refusal(where + ".content: Input should be a valid string or a list of content blocks");
    }
    ArrayNode parts = Json.MAPPER.createArrayNode();
    ArrayNode toolCalls = Json.MAPPER.createArrayNode();
    for (JsonNode block : content) {
      switch (block.path("type").asText()) {
        case "text" -> parts.addObject().put("type", "text").put("text", block.path("text").asText());
        case "image" -> addImage(parts, block.path("source"));
        case "tool_use" -> toolCalls.add(toolCall(block));
        case "tool_result" -> chat.add(toolMessage(block, parts));
        default -> { }
      }
    }
    if (role.equals("assistant")) {
      if (parts.isEmpty() && toolCalls.isEmpty()) {
        return;
      }
      ObjectNode assistant = chat.addObject().put("role", role);
      assistant.set("content", contentOf(parts));
      if (!toolCalls.isEmpty()) {
        assistant.set("tool_calls", toolCalls);
      }
    } else if (!parts.isEmpty()) {
      chat.addObject().put("role", role).set("content", contentOf(parts));
    }
  }

  private static JsonNode contentOf(ArrayNode parts) {
    if (parts.isEmpty()) {
      return Json.MAPPER.nullNode();
    }
    if (parts.size() == 1 && parts.get(0).path("type").asText().equals("text")) {
      return parts.get(0).get("text");
    }
    return parts;
  }

  private static void addImage(ArrayNode parts, JsonNode source) {
    String url = switch (source.path("type").asText()) {
      case "base64" -> "data:" + source.path("media_type").asText() + ";base64," + source.path("data").asText();
      case "url" -> source.path("url").asText();
      default -> null;
    };
    if (url != null) {
      parts.addObject().put("type", "image_url").putObject("image_url").put("url", url);
    }
  }

  private static ObjectNode toolCall(JsonNode toolUse) {
    ObjectNode call = Json.MAPPER.createObjectNode();
    call.put("id", toolUse.path("id").asText()).put("type", "function");
    JsonNode input = toolUse.get("input");
    call.putObject("function")
        .put("name", toolUse.path("name").asText())
        .put("arguments", input == null || input.isNull() ? "{}" : AnthropicMessages.write(input));
    return call;
  }

  /** A tool result as a {@code tool} message; images it holds go to {@code userParts}, as a tool message is text. */
  private static ObjectNode toolMessage(JsonNode toolResult, ArrayNode userParts) {
    JsonNode content = toolResult.path("content");
    String text;
    if (content.isArray()) {
      List<String> texts = new ArrayList<>();
      for (JsonNode block : content) {
        switch (block.path("type").asText()) {
          case "text" -> texts.add(block.path("text").asText());
          case "image" -> addImage(userParts, block.path("source"));
          default -> { }
        }
      }
      text = String.join("\n", texts);
    } else {
      text = content.isTextual() ? content.asText() : "";
    }
    if (toolResult.path("is_error").asBoolean(false)) {
      text = "Error: " + text;
    }
    return Json.MAPPER.createObjectNode().put("role", "tool")
        .put("tool_call_id", toolResult.path("tool_use_id").asText()).put("content", text);
  }

  static void addTools(ObjectNode out, JsonNode tools, JsonNode choice) {
    ArrayNode functions = Json.MAPPER.createArrayNode();
    if (tools != null && tools.isArray()) {
      for (JsonNode tool : tools) {
        if (isServerTool(tool)) {
          continue;
        }
        ObjectNode function = functions.addObject().put("type", "function").putObject("function");
        function.put("name", tool.path("name").asText());
        if (tool.path("description").isTextual()) {
          function.put("description", tool.path("description").asText());
        }
        function.set("parameters", tool.has("input_schema")
            ? tool.get("input_schema").deepCopy() : Json.MAPPER.createObjectNode().put("type", "object"));
      }
    }
    if (functions.isEmpty()) {
      return;
    }
    out.set("tools", functions);
    if (choice == null || !choice.isObject()) {
      return;
    }
    switch (choice.path("type").asText()) {
      case "auto" -> out.put("tool_choice", "auto");
      case "any" -> out.put("tool_choice", "required");
      case "none" -> out.put("tool_choice", "none");
      case "tool" -> out.putObject("tool_choice").put("type", "function")
          .putObject("function").put("name", choice.path("name").asText());
      default -> { }
    }
    if (choice.path("disable_parallel_tool_use").asBoolean(false)) {
      out.put("parallel_tool_calls", false);
    }
  }

  private static boolean isServerTool(JsonNode tool) {
    JsonNode type = tool.get("type");
    return type != null && !type.isNull() && !type.asText().equals("custom");
  }
}
