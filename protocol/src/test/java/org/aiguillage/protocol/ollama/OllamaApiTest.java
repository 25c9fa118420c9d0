package org.aiguillage.protocol.ollama;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.aiguillage.protocol.Json;
import org.junit.jupiter.api.Test;

/** Ollama's documented requests and answers (docs/api.md), through the translation both ways. */
class OllamaApiTest {

  private static JsonNode json(String text) throws Exception {
    return Json.MAPPER.readTree(text);
  }

  private static OllamaApi.Call call(OllamaApi.Translated translated) {
    return assertInstanceOf(OllamaApi.Call.class, translated);
  }

  @Test
  void aChatWithOptionsFormatAndImagesBecomesAnOpenAiChat() throws Exception {
    OllamaApi.Call call = call(OllamaApi.chat(json("""
        {"model":"llava:latest","messages":[{"role":"system","content":"be brief"},
         {"role":"user","content":"what is in this picture?","images":["iVBORw0KGgoAAAANSUhEUg"]}],
         "format":"json","options":{"num_predict":64,"temperature":0.2,"top_k":20,"seed":42,"stop":["\\n\\n"],
         "repeat_penalty":1.1,"num_ctx":8192},"keep_alive":"5m"}""")));

    JsonNode body = call.body();
    assertEquals("/v1/chat/completions", call.path());
    assertEquals("llava", call.model(), "the :latest tag is Ollama's default, not part of the name");
    assertTrue(call.stream(), "Ollama streams unless told not to");
    assertTrue(body.at("/stream_options/include_usage").asBoolean());
    assertEquals("be brief", body.at("/messages/0/content").asText());
    assertEquals("what is in this picture?", body.at("/messages/1/content/0/text").asText());
    assertEquals("data:image/png;base64,iVBORw0KGgoAAAANSUhEUg", body.at("/messages/1/content/1/image_url/url")
        .asText());
    assertEquals(64, body.get("max_tokens").asInt());
    assertEquals(0.2, body.get("temperature").asDouble());
    assertEquals(20, body.get("top_k").asInt());
    assertEquals(1.1, body.get("repetition_penalty").asDouble());
    assertEquals("\n\n", body.at("/stop/0").asText());
    assertEquals("json_object", body.at("/response_format/type").asText());
    assertFalse(body.has("num_ctx") || body.has("keep_alive") || body.has("options"));
  }

  @Test
  void aJsonSchemaFormatBecomesAStructuredOutput() throws Exception {
    OllamaApi.Call call = call(OllamaApi.chat(json("""
        {"model":"m","stream":false,"messages":[{"role":"user","content":"x"}],
         "format":{"type":"object","properties":{"age":{"type":"integer"}},"required":["age"]}}""")));
    assertFalse(call.stream());
    assertFalse(call.body().has("stream_options"));
    assertEquals("json_schema", call.body().at("/response_format/type").asText());
    assertEquals("integer", call.body().at("/response_format/json_schema/schema/properties/age/type").asText());
  }

  @Test
  void toolCallsAndTheirResultsGetIdsThatMatch() throws Exception {
    OllamaApi.Call call = call(OllamaApi.chat(json("""
        {"model":"m","messages":[{"role":"user","content":"weather in Paris and Lyon?"},
         {"role":"assistant","content":"","tool_calls":[
           {"function":{"name":"get_weather","arguments":{"city":"Paris"}}},
           {"function":{"name":"get_weather","arguments":{"city":"Lyon"}}}]},
         {"role":"tool","tool_name":"get_weather","content":"22"},
         {"role":"tool","tool_name":"get_weather","content":"19"}],
         "tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]}""")));
    JsonNode messages = call.body().get("messages");

    assertEquals("{\"city\":\"Paris\"}", messages.at("/1/tool_calls/0/function/arguments").asText());
    assertEquals(messages.at("/1/tool_calls/0/id").asText(), messages.at("/2/tool_call_id").asText());
    assertEquals(messages.at("/1/tool_calls/1/id").asText(), messages.at("/3/tool_call_id").asText());
    assertEquals("get_weather", call.body().at("/tools/0/function/name").asText());
  }

  @Test
  void generateIsAChatUnlessRawOrWithASuffix() throws Exception {
    OllamaApi.Call chat = call(OllamaApi.generate(json(
        "{\"model\":\"m\",\"prompt\":\"Why is the sky blue?\",\"system\":\"be a poet\",\"stream\":false}")));
    assertEquals("/v1/chat/completions", chat.path());
    assertEquals("be a poet", chat.body().at("/messages/0/content").asText());
    assertEquals("Why is the sky blue?", chat.body().at("/messages/1/content").asText());

    OllamaApi.Call fim = call(OllamaApi.generate(json(
        "{\"model\":\"codellama:code\",\"prompt\":\"def compute_gcd(a, b):\",\"suffix\":\"    return result\","
            + "\"options\":{\"temperature\":0}}")));
    assertEquals("/v1/completions", fim.path());
    assertEquals("def compute_gcd(a, b):", fim.body().get("prompt").asText());
    assertEquals("    return result", fim.body().get("suffix").asText());
    assertEquals("codellama:code", fim.model());

    assertEquals("/v1/completions", call(OllamaApi.generate(json("{\"model\":\"m\",\"prompt\":\"[INST] hi\","
        + "\"raw\":true}"))).path());
  }

  @Test
  void missingModelOrInputIsRefused() throws Exception {
    assertInstanceOf(OllamaApi.Invalid.class, OllamaApi.chat(json("{\"messages\":[]}")));
    assertInstanceOf(OllamaApi.Invalid.class, OllamaApi.embed(json("{\"model\":\"e\"}")));
    assertEquals("/v1/embeddings", call(OllamaApi.embed(json("{\"model\":\"e\",\"prompt\":\"x\"}"))).path());
  }

  @Test
  void wholeAnswersInOllamasShapes() throws Exception {
    JsonNode completion = json("""
        {"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant",
         "content":"","tool_calls":[{"id":"c1","type":"function","function":{"name":"get_weather",
         "arguments":"{\\"city\\":\\"Paris\\"}"}}]},"finish_reason":"tool_calls"}],
         "usage":{"prompt_tokens":26,"completion_tokens":12,"total_tokens":38}}""");
    JsonNode chat = OllamaApi.fromChatCompletion(completion, "m", false, 1_000_000);

    assertTrue(chat.get("done").asBoolean());
    assertEquals("Paris", chat.at("/message/tool_calls/0/function/arguments/city").asText());
    assertEquals(26, chat.get("prompt_eval_count").asInt());
    assertEquals(12, chat.get("eval_count").asInt());
    assertEquals(1_000_000, chat.get("total_duration").asLong());

    JsonNode generate = OllamaApi.fromChatCompletion(json("{\"choices\":[{\"text\":\"blue\","
        + "\"finish_reason\":\"length\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}"), "m", true, 5);
    assertEquals("blue", generate.get("response").asText());
    assertEquals("length", generate.get("done_reason").asText());

    JsonNode embeddings = json("{\"object\":\"list\",\"data\":[{\"embedding\":[0.1,0.2]},{\"embedding\":[0.3,0.4]}],"
        + "\"usage\":{\"prompt_tokens\":8}}");
    assertEquals(0.4, OllamaApi.fromEmbeddings(embeddings, "e", false, 7).at("/embeddings/1/1").asDouble());
    assertEquals(8, OllamaApi.fromEmbeddings(embeddings, "e", false, 7).get("prompt_eval_count").asInt());
    assertEquals(0.2, OllamaApi.fromEmbeddings(embeddings, "e", true, 7).at("/embedding/1").asDouble());
  }

  // ---- streams

  private static List<JsonNode> lines(OllamaStream stream, String... events) throws Exception {
    List<JsonNode> out = new ArrayList<>();
    for (String e : events) {
      for (String line : stream.next(e)) {
        assertTrue(line.endsWith("\n") && line.indexOf('\n') == line.length() - 1, "one object a line: " + line);
        out.add(json(line));
      }
    }
    return out;
  }

  @Test
  void aChatStreamIsOneObjectPerChunkThenTheLastWithCountsAndDurations() throws Exception {
    AtomicLong clock = new AtomicLong(1_000);
    OllamaStream stream = new OllamaStream("m", false, () -> clock.addAndGet(1_000_000));
    List<JsonNode> out = lines(stream,
        "{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}",
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"The\"},\"finish_reason\":null}]}",
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\" sky\"},\"finish_reason\":\"stop\"}]}",
        "{\"choices\":[],\"usage\":{\"prompt_tokens\":26,\"completion_tokens\":2,\"total_tokens\":28}}",
        "[DONE]");

    assertEquals(3, out.size());
    assertEquals("The", out.get(0).at("/message/content").asText());
    assertFalse(out.get(0).get("done").asBoolean());
    JsonNode last = out.get(2);
    assertTrue(last.get("done").asBoolean());
    assertEquals("stop", last.get("done_reason").asText());
    assertEquals(26, last.get("prompt_eval_count").asInt());
    assertEquals(2, last.get("eval_count").asInt());
    assertTrue(last.get("total_duration").asLong() >= last.get("eval_duration").asLong());
    assertTrue(stream.next("[DONE]").isEmpty() && stream.end(true).isEmpty(), "one end only");
  }

  @Test
  void aToolCallSplitOverChunksArrivesWhole() throws Exception {
    OllamaStream stream = new OllamaStream("m", false, System::nanoTime);
    List<JsonNode> out = lines(stream,
        "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c1\",\"type\":\"function\","
            + "\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}",
        "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"ci\"}}]},"
            + "\"finish_reason\":null}]}",
        "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"ty\\\": \\\"Paris\\\"}\"}}]},"
            + "\"finish_reason\":null}]}",
        "{\"choices\":[{\"delta\":{},\"finish_reason\":\"tool_calls\"}]}",
        "[DONE]");

    assertEquals(2, out.size());
    assertEquals("get_weather", out.get(0).at("/message/tool_calls/0/function/name").asText());
    assertEquals("Paris", out.get(0).at("/message/tool_calls/0/function/arguments/city").asText());
    assertTrue(out.get(1).get("done").asBoolean());
  }

  @Test
  void aStreamCutInTheMiddleEndsWithOllamasErrorLine() throws Exception {
    OllamaStream generate = new OllamaStream("m", true, System::nanoTime);
    List<JsonNode> out = lines(generate, "{\"choices\":[{\"text\":\"Once\",\"finish_reason\":null}]}");
    assertEquals("Once", out.get(0).get("response").asText());

    List<String> end = generate.end(false);
    assertEquals(1, end.size());
    assertTrue(json(end.get(0)).has("error"));

    OllamaStream broken = new OllamaStream("m", false, System::nanoTime);
    List<JsonNode> inBand = lines(broken, "{\"error\":{\"message\":\"The server failed while answering\","
        + "\"type\":\"server_error\"}}", "[DONE]");
    assertEquals(1, inBand.size(), "the dispatcher's in-band error, and nothing after it");
    assertEquals("The server failed while answering", inBand.get(0).get("error").asText());
  }
}
