package org.aiguillage.protocol.anthropic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.aiguillage.protocol.Json;
import org.junit.jupiter.api.Test;

class AnthropicStreamTest {

  private static final String HEAD = "{'id':'chatcmpl-123','object':'chat.completion.chunk','created':1694268190,"
      + "'model':'Qwen/Qwen3-8B','system_fingerprint':'fp_44709d6fcb',";

  private static String chunk(String delta, String finishReason) {
    return (HEAD + "'choices':[{'index':0,'delta':" + delta + ",'logprobs':null,'finish_reason':"
        + (finishReason == null ? "null" : "'" + finishReason + "'") + "}]}").replace('\'', '"');
  }

  private static String toolDelta(int index, String id, String name, String arguments) {
    String head = id == null ? "{'index':" + index
        : "{'index':" + index + ",'id':'" + id + "','type':'function'";
    String function = name == null ? "{'arguments':'" + arguments + "'}"
        : "{'name':'" + name + "','arguments':'" + arguments + "'}";
    return "{'tool_calls':[" + head + ",'function':" + function + "}]}";
  }

  private static String usageChunk(int prompt, int completion) {
    return (HEAD + "'choices':[],'usage':{'prompt_tokens':" + prompt + ",'completion_tokens':" + completion
        + ",'total_tokens':" + (prompt + completion) + "}}").replace('\'', '"');
  }

  /** Every event the stream gives for {@code data}, in order. */
  private static List<String> feed(AnthropicStream stream, String... data) {
    List<String> events = new ArrayList<>();
    for (String d : data) {
      events.addAll(stream.next(d));
    }
    return events;
  }

  private static String type(String event) {
    assertTrue(event.startsWith("event: ") && event.endsWith("\n\n"), event);
    return event.substring("event: ".length(), event.indexOf('\n'));
  }

  private static JsonNode data(String event) {
    String line = event.substring(event.indexOf("\ndata: ") + "\ndata: ".length(), event.length() - 2);
    try {
      JsonNode data = Json.MAPPER.readTree(line);
      assertEquals(type(event), data.get("type").asText());
      return data;
    } catch (Exception e) {
      throw new AssertionError(event, e);
    }
  }

  private static List<String> types(List<String> events) {
    return events.stream().map(AnthropicStreamTest::type).collect(Collectors.toList());
  }

  private static JsonNode json(String text) {
    try {
      return Json.MAPPER.readTree(text.replace('\'', '"'));
    } catch (Exception e) {
      throw new IllegalArgumentException(text, e);
    }
  }

  @Test
  void aTextStreamIsTheDocumentedEventSequence() {
    AnthropicStream stream = new AnthropicStream("claude-sonnet-4-5", "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY");
    List<String> first = stream.next(chunk("{'role':'assistant','content':''}", null));
    assertEquals(List.of("message_start", "ping"), types(first));
    assertEquals(json("{'type':'message_start','message':{'id':'msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY',"
        + "'type':'message','role':'assistant','model':'claude-sonnet-4-5','content':[],'stop_reason':null,"
        + "'stop_sequence':null,'usage':{'input_tokens':0,'output_tokens':0}}}"), data(first.get(0)));
    assertEquals("event: ping\ndata: {\"type\":\"ping\"}\n\n", first.get(1));
    List<String> rest = feed(stream, chunk("{'content':'Hello'}", null), chunk("{'content':'!'}", null),
        chunk("{}", "stop"), usageChunk(25, 15), "[DONE]");
    assertEquals(List.of("content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
        "message_delta", "message_stop"), types(rest));
    assertEquals(json("{'type':'content_block_start','index':0,'content_block':{'type':'text','text':''}}"),
        data(rest.get(0)));
    assertEquals(json("{'type':'content_block_delta','index':0,'delta':{'type':'text_delta','text':'Hello'}}"),
        data(rest.get(1)));
    assertEquals(json("{'type':'content_block_delta','index':0,'delta':{'type':'text_delta','text':'!'}}"),
        data(rest.get(2)));
    assertEquals(json("{'type':'content_block_stop','index':0}"), data(rest.get(3)));
    assertEquals(json("{'type':'message_delta','delta':{'stop_reason':'end_turn','stop_sequence':null},"
        + "'usage':{'output_tokens':15,'input_tokens':25}}"), data(rest.get(4)));
    assertEquals("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n", rest.get(5));
    assertEquals(List.of(), stream.next("[DONE]"));
    assertEquals(List.of(), stream.end(true));
    assertEquals(List.of(), stream.end(false));
  }

  @Test
  void toolArgumentsSplitOverChunksArriveAsPartialJson() {
    AnthropicStream stream = new AnthropicStream("m", "msg_1");
    List<String> events = feed(stream, chunk("{'role':'assistant','content':null}", null),
        chunk(toolDelta(0, "call_DdmO9pD3xa9XTPNJ32zg2hcA", "get_weather", ""), null),
        chunk(toolDelta(0, null, null, "{\\'loc"), null),
        chunk(toolDelta(0, null, null, "ation\\': \\'San Fr"), null),
        chunk(toolDelta(0, null, null, "ancisco, CA\\'}"), null),
        chunk("{}", "tool_calls"), usageChunk(472, 89), "[DONE]");
    assertEquals(List.of("message_start", "ping", "content_block_start", "content_block_delta",
        "content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop"),
        types(events));
    assertEquals(json("{'type':'content_block_start','index':0,'content_block':{'type':'tool_use',"
        + "'id':'call_DdmO9pD3xa9XTPNJ32zg2hcA','name':'get_weather','input':{}}}"), data(events.get(2)));
    StringBuilder partial = new StringBuilder();
    for (String event : events.subList(3, 6)) {
      JsonNode delta = data(event).get("delta");
      assertEquals("input_json_delta", delta.get("type").asText());
      assertEquals(0, data(event).get("index").asInt());
      partial.append(delta.get("partial_json").asText());
    }
    assertEquals("{\"location\": \"San Francisco, CA\"}", partial.toString());
    JsonNode messageDelta = data(events.get(7));
    assertEquals("tool_use", messageDelta.get("delta").get("stop_reason").asText());
    assertEquals(89, messageDelta.get("usage").get("output_tokens").asLong());
    assertEquals(472, messageDelta.get("usage").get("input_tokens").asLong());
  }

  @Test
  void textThenToolCallsAreBlocksInTurn() {
    AnthropicStream stream = new AnthropicStream("m", "msg_1");
    List<String> events = feed(stream, chunk("{'role':'assistant','content':'Okay, let me check.'}", null),
        chunk(toolDelta(0, "call_1", "get_weather", "{\\'location\\': \\'Paris\\'}"), null),
        chunk(toolDelta(1, "call_2", "get_time", ""), null),
        chunk(toolDelta(1, null, null, "{}"), null),
        chunk("{}", "tool_calls"), "[DONE]");
    assertEquals(List.of("message_start", "ping",
        "content_block_start", "content_block_delta", "content_block_stop",
        "content_block_start", "content_block_delta", "content_block_stop",
        "content_block_start", "content_block_delta", "content_block_stop",
        "message_delta", "message_stop"), types(events));
    assertEquals("text", data(events.get(2)).get("content_block").get("type").asText());
    assertEquals(0, data(events.get(4)).get("index").asInt());
    JsonNode firstTool = data(events.get(5));
    assertEquals(1, firstTool.get("index").asInt());
    assertEquals("call_1", firstTool.get("content_block").get("id").asText());
    assertEquals("{\"location\": \"Paris\"}", data(events.get(6)).get("delta").get("partial_json").asText());
    assertEquals(1, data(events.get(7)).get("index").asInt());
    JsonNode secondTool = data(events.get(8));
    assertEquals(2, secondTool.get("index").asInt());
    assertEquals("get_time", secondTool.get("content_block").get("name").asText());
    assertEquals(2, data(events.get(10)).get("index").asInt());
    JsonNode messageDelta = data(events.get(11));
    assertEquals("tool_use", messageDelta.get("delta").get("stop_reason").asText());
    assertEquals(0, messageDelta.get("usage").get("output_tokens").asLong());
  }

  @Test
  void aStreamCutMidBlockClosesItAndEndsWithAnError() {
    AnthropicStream stream = new AnthropicStream("m", "msg_1");
    feed(stream, chunk("{'role':'assistant','content':''}", null), chunk("{'content':'Once upon'}", null));
    List<String> end = stream.end(false);
    assertEquals(List.of("content_block_stop", "error"), types(end));
    assertEquals(0, data(end.get(0)).get("index").asInt());
    JsonNode error = data(end.get(1));
    assertEquals("api_error", error.get("error").get("type").asText());
    assertTrue(!error.get("error").get("message").asText().isEmpty());
    assertEquals(List.of(), stream.next("[DONE]"));
    assertEquals(List.of(), stream.end(false));
  }

  @Test
  void theDispatchersErrorChunkEndsTheStreamWithAnError() {
    AnthropicStream stream = new AnthropicStream("m", "msg_1");
    feed(stream, chunk("{'role':'assistant','content':''}", null),
        chunk(toolDelta(0, "call_1", "get_weather", "{\\'loc"), null));
    List<String> events = feed(stream, "{\"error\":{\"message\":\"The server failed while answering; the answer is "
        + "incomplete.\",\"type\":\"server_error\",\"param\":null,\"code\":\"upstream_failed\"}}", "[DONE]");
    assertEquals(List.of("content_block_stop", "error"), types(events));
    assertEquals(json("{'type':'error','error':{'type':'api_error',"
        + "'message':'The server failed while answering; the answer is incomplete.'}}"), data(events.get(1)));
    assertEquals(List.of(), stream.end(true));
  }

  @Test
  void anErrorBeforeAnyChunkIsTheErrorAlone() {
    AnthropicStream stream = new AnthropicStream("m", "msg_1");
    List<String> events = stream.next("{\"error\":{\"message\":\"Overloaded\",\"type\":\"overloaded_error\"}}");
    assertEquals(List.of("error"), types(events));
    assertEquals("overloaded_error", data(events.get(0)).get("error").get("type").asText());
  }

  @Test
  void theStopStringVllmReportsIsTheStopSequence() {
    AnthropicStream stream = new AnthropicStream("m", "msg_1");
    String stopped = (HEAD + "'choices':[{'index':0,'delta':{},'finish_reason':'stop','stop_reason':'END'}]}")
        .replace('\'', '"');
    List<String> events = feed(stream, chunk("{'content':'a b c'}", null), stopped, "[DONE]");
    JsonNode delta = data(events.get(events.size() - 2)).get("delta");
    assertEquals("stop_sequence", delta.get("stop_reason").asText());
    assertEquals("END", delta.get("stop_sequence").asText());
  }

  @Test
  void lengthIsMaxTokensAndAnEmptyStreamIsStillWhole() {
    AnthropicStream cut = new AnthropicStream("m", "msg_1");
    List<String> events = feed(cut, chunk("{'content':'a'}", "length"), "[DONE]");
    assertEquals("max_tokens", data(events.get(events.size() - 2)).get("delta").get("stop_reason").asText());
    AnthropicStream empty = new AnthropicStream("m", "msg_2");
    assertEquals(List.of("message_start", "ping", "message_delta", "message_stop"), types(empty.end(true)));
  }
}
