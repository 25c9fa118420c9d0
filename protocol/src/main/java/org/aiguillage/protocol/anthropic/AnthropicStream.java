package org.aiguillage.protocol.anthropic;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.aiguillage.protocol.Json;

/**
 * One OpenAI chat completion stream re-told as an Anthropic Messages stream: {@code message_start} and a
 * {@code ping}, then each content block (text, or a tool use whose input comes as partial JSON) opened, filled and
 * stopped, then {@code message_delta} with the stop reason and usage, and {@code message_stop}. A stream that
 * breaks ends, as Anthropic's do, with an {@code error} event. Fed one SSE data payload at a time; not thread-safe.
 */
public final class AnthropicStream {

  private enum Block { NONE, TEXT, TOOL }

  private static final Set<String> ANTHROPIC_ERROR_TYPES = Set.of("invalid_request_error", "authentication_error",
      "permission_error", "not_found_error", "request_too_large", "rate_limit_error", "api_error",
      "overloaded_error", "timeout_error");

  private final String requestedModel;
  private final String messageId;
  private boolean started;
  private boolean over;
  private Block open = Block.NONE;
  private int blocks;
  private int openToolCall = -1;
  private final Set<Integer> closedToolCalls = new HashSet<>();
  private boolean toolCalls;
  private String finishReason;
  private JsonNode matchedStop;
  private long inputTokens;
  private long outputTokens;

  /**
   * @param requestedModel the model name the client asked for (echoed in message_start)
   * @param messageId the id of the message ("msg_" + something unique; the caller makes it)
   */
  public AnthropicStream(String requestedModel, String messageId) {
    this.requestedModel = requestedModel;
    this.messageId = messageId;
  }

  /**
   * The next OpenAI SSE event's data (the JSON text after "data: ", or "[DONE]") as zero or more Anthropic SSE
   * events, each the full text {@code "event: <type>\ndata: <json>\n\n"}. Data that is not JSON is skipped.
   */
  public List<String> next(String openAiData) {
    List<String> events = new ArrayList<>();
    if (over || openAiData == null) {
      return events;
    }
    String data = openAiData.strip();
    if (data.equals("[DONE]")) {
      finish(events);
      return events;
    }
    JsonNode chunk;
    try {
      chunk = Json.MAPPER.readTree(data);
    } catch (JsonProcessingException e) {
      return events;
    }
    if (chunk == null || !chunk.isObject()) {
      return events;
    }
    JsonNode error = chunk.get("error");
    if (error != null && !error.isNull()) {
      fail(events, errorType(error.path("type").asText("")),
          error.path("message").asText("the model server's stream failed"));
      return events;
    }
    start(events);
    JsonNode usage = chunk.get("usage");
    if (usage != null && usage.isObject()) {
      inputTokens = usage.path("prompt_tokens").asLong(inputTokens);
      outputTokens = usage.path("completion_tokens").asLong(outputTokens);
    }
    JsonNode choice = chunk.path("choices").path(0);
    if (choice.isMissingNode()) {
      return events;
    }
    JsonNode delta = choice.path("delta");
    String text = delta.path("content").asText("");
    if (!text.isEmpty()) {
      text(events, text);
    }
    for (JsonNode call : delta.path("tool_calls")) {
      toolCall(events, call);
    }
    String finish = choice.path("finish_reason").asText(null);
    if (finish != null) {
      finishReason = finish;
      matchedStop = choice.get("stop_reason");
    }
    return events;
  }

  /**
   * The stream is over: the events still owed. {@code complete} false means the server's stream was cut or broke:
   * what is open is closed and an {@code error} event ends it. A stream that ended whole without "[DONE]" ends as
   * if it had come. After "[DONE]" or an error, nothing more.
   */
  public List<String> end(boolean complete) {
    List<String> events = new ArrayList<>();
    if (over) {
      return events;
    }
    if (complete) {
      finish(events);
    } else {
      fail(events, "api_error", "the model server's stream ended before the message was complete");
    }
    return events;
  }

  private void start(List<String> events) {
    if (started) {
      return;
    }
    started = true;
    ObjectNode message = Json.MAPPER.createObjectNode()
        .put("id", messageId).put("type", "message").put("role", "assistant").put("model", requestedModel);
    message.putArray("content");
    message.putNull("stop_reason");
    message.putNull("stop_sequence");
    message.putObject("usage").put("input_tokens", 0).put("output_tokens", 0);
    ObjectNode messageStart = event("message_start");
    messageStart.set("message", message);
    events.add(sse(messageStart));
    events.add(sse(event("ping")));
  }

  private void text(List<String> events, String text) {
    if (open != Block.TEXT) {
      closeBlock(events);
      ObjectNode blockStart = event("content_block_start").put("index", blocks);
      blockStart.putObject("content_block").put("type", "text").put("text", "");
      events.add(sse(blockStart));
      open = Block.TEXT;
    }
    ObjectNode blockDelta = event("content_block_delta").put("index", blocks);
    blockDelta.putObject("delta").put("type", "text_delta").put("text", text);
    events.add(sse(blockDelta));
  }

  /**
   * One tool call delta: the first of a call (a new index) opens its tool_use block, with its id and name; every
   * arguments piece is an input_json_delta. A delta for a call already closed cannot be told any more and is dropped.
   */
  private void toolCall(List<String> events, JsonNode call) {
    int index = call.path("index").asInt(openToolCall < 0 ? 0 : openToolCall);
    if (open != Block.TOOL || index != openToolCall) {
      if (closedToolCalls.contains(index)) {
        return;
      }
      closeBlock(events);
      String id = call.path("id").asText("");
      ObjectNode blockStart = event("content_block_start").put("index", blocks);
      blockStart.putObject("content_block").put("type", "tool_use")
          .put("id", id.isEmpty() ? "toolu_" + UUID.randomUUID().toString().replace("-", "") : id)
          .put("name", call.path("function").path("name").asText(""))
          .putObject("input");
      events.add(sse(blockStart));
      open = Block.TOOL;
      openToolCall = index;
      toolCalls = true;
    }
    String arguments = call.path("function").path("arguments").asText("");
    if (!arguments.isEmpty()) {
      ObjectNode blockDelta = event("content_block_delta").put("index", blocks);
      blockDelta.putObject("delta").put("type", "input_json_delta").put("partial_json", arguments);
      events.add(sse(blockDelta));
    }
  }

  private void closeBlock(List<String> events) {
    if (open == Block.NONE) {
      return;
    }
    events.add(sse(event("content_block_stop").put("index", blocks)));
    if (open == Block.TOOL) {
      closedToolCalls.add(openToolCall);
      openToolCall = -1;
    }
    open = Block.NONE;
    blocks++;
  }

  private void finish(List<String> events) {
    start(events);
    closeBlock(events);
    AnthropicMessages.StopReason stop = AnthropicMessages.stopReason(finishReason, matchedStop, toolCalls);
    ObjectNode messageDelta = event("message_delta");
    messageDelta.putObject("delta").put("stop_reason", stop.reason()).put("stop_sequence", stop.sequence());
    messageDelta.putObject("usage").put("output_tokens", outputTokens).put("input_tokens", inputTokens);
    events.add(sse(messageDelta));
    events.add(sse(event("message_stop")));
    over = true;
  }

  private void fail(List<String> events, String type, String message) {
    closeBlock(events);
    events.add(sse(AnthropicMessages.error(type, message)));
    over = true;
  }

  private static String errorType(String openAiType) {
    return ANTHROPIC_ERROR_TYPES.contains(openAiType) ? openAiType : "api_error";
  }

  private static ObjectNode event(String type) {
    return Json.MAPPER.createObjectNode().put("type", type);
  }

  private static String sse(ObjectNode event) {
    return "event: " + event.get("type").asText() + "\ndata: " + AnthropicMessages.write(event) + "\n\n";
  }
}
