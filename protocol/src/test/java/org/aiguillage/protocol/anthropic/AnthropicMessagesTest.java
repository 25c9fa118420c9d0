package org.aiguillage.protocol.anthropic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.aiguillage.protocol.Json;
import org.junit.jupiter.api.Test;

class AnthropicMessagesTest {

  private static JsonNode json(String text) {
    try {
      return Json.MAPPER.readTree(text.replace('\'', '"'));
    } catch (Exception e) {
      throw new IllegalArgumentException(text, e);
    }
  }

  /** Equal as JSON text, whatever the width of the numbers in either tree. */
  private static void assertJson(JsonNode expected, JsonNode actual) {
    try {
      assertEquals(expected, Json.MAPPER.readTree(actual.toString()));
    } catch (Exception e) {
      throw new AssertionError(actual.toString(), e);
    }
  }

  private static ObjectNode chat(String messagesRequest) {
    AnthropicMessages.Translated translated = AnthropicMessages.toOpenAi(json(messagesRequest));
    return assertInstanceOf(AnthropicMessages.Request.class, translated).openAiChat();
  }

  private static String invalid(String messagesRequest) {
    return assertInstanceOf(AnthropicMessages.Invalid.class, AnthropicMessages.toOpenAi(json(messagesRequest)))
        .message();
  }

  private static final String HELLO = "'messages':[{'role':'user','content':'Hello, world'}]";

  @Test
  void theDocumentedBasicRequestBecomesAChatCompletionRequest() {
    AnthropicMessages.Translated translated = AnthropicMessages.toOpenAi(json(
        "{'model':'claude-sonnet-4-5','max_tokens':1024," + HELLO + "}"));
    AnthropicMessages.Request request = assertInstanceOf(AnthropicMessages.Request.class, translated);
    assertEquals("claude-sonnet-4-5", request.model());
    assertFalse(request.stream());
    assertJson(json("{'model':'claude-sonnet-4-5','messages':[{'role':'user','content':'Hello, world'}],"
        + "'max_tokens':1024}"), request.openAiChat());
  }

  @Test
  void aSystemPromptIsTheFirstMessageWhetherStringOrBlocks() {
    assertEquals(json("{'role':'system','content':'You are a seasoned data scientist.'}"),
        chat("{'model':'m','max_tokens':8,'system':'You are a seasoned data scientist.'," + HELLO + "}")
            .get("messages").get(0));
    ObjectNode fromBlocks = chat("{'model':'m','max_tokens':8,'system':[{'type':'text','text':'Be brief.'},"
        + "{'type':'text','text':'Answer in French.','cache_control':{'type':'ephemeral'}}]," + HELLO + "}");
    assertEquals(json("{'role':'system','content':'Be brief.\\nAnswer in French.'}"),
        fromBlocks.get("messages").get(0));
    assertEquals("user", fromBlocks.get("messages").get(1).get("role").asText());
  }

  @Test
  void textAndABase64ImageBecomeContentParts() {
    ObjectNode out = chat("{'model':'m','max_tokens':8,'messages':[{'role':'user','content':["
        + "{'type':'image','source':{'type':'base64','media_type':'image/jpeg','data':'/9j/4AAQSkZJRg=='}},"
        + "{'type':'image','source':{'type':'url','url':'https://example.com/ant.jpg'}},"
        + "{'type':'text','text':'Describe these images.'}]}]}");
    assertEquals(json("[{'role':'user','content':["
        + "{'type':'image_url','image_url':{'url':'data:image/jpeg;base64,/9j/4AAQSkZJRg=='}},"
        + "{'type':'image_url','image_url':{'url':'https://example.com/ant.jpg'}},"
        + "{'type':'text','text':'Describe these images.'}]}]"), out.get("messages"));
  }

  @Test
  void oneTextBlockIsAPlainStringAndSeveralAreParts() {
    assertEquals("Hi", chat("{'model':'m','max_tokens':8,'messages':[{'role':'user','content':["
        + "{'type':'text','text':'Hi'}]}]}").get("messages").get(0).get("content").asText());
    assertEquals(json("[{'type':'text','text':'Hi'},{'type':'text','text':'there'}]"),
        chat("{'model':'m','max_tokens':8,'messages':[{'role':'user','content':[{'type':'text','text':'Hi'},"
            + "{'type':'text','text':'there'}]}]}").get("messages").get(0).get("content"));
  }

  @Test
  void aToolUseAndItsResultBecomeToolCallsThenAToolMessage() {
    ObjectNode out = chat("{'model':'m','max_tokens':1024,'messages':["
        + "{'role':'user','content':'What is the weather like in San Francisco?'},"
        + "{'role':'assistant','content':[{'type':'thinking','thinking':'hmm','signature':'EqQB'},"
        + "{'type':'text','text':'I will check the weather.'},"
        + "{'type':'tool_use','id':'toolu_01A09q90qw90lq917835lq9','name':'get_weather',"
        + "'input':{'location':'San Francisco, CA','unit':'celsius'}}]},"
        + "{'role':'user','content':[{'type':'tool_result','tool_use_id':'toolu_01A09q90qw90lq917835lq9',"
        + "'content':'15 degrees'},{'type':'text','text':'And tomorrow?'}]}]}");
    JsonNode messages = out.get("messages");
    assertEquals(4, messages.size());
    JsonNode assistant = messages.get(1);
    assertEquals("assistant", assistant.get("role").asText());
    assertEquals("I will check the weather.", assistant.get("content").asText());
    JsonNode call = assistant.get("tool_calls").get(0);
    assertEquals("toolu_01A09q90qw90lq917835lq9", call.get("id").asText());
    assertEquals("function", call.get("type").asText());
    assertEquals("get_weather", call.get("function").get("name").asText());
    assertEquals(json("{'location':'San Francisco, CA','unit':'celsius'}"),
        json(call.get("function").get("arguments").asText()));
    assertEquals(json("{'role':'tool','tool_call_id':'toolu_01A09q90qw90lq917835lq9','content':'15 degrees'}"),
        messages.get(2));
    assertEquals(json("{'role':'user','content':'And tomorrow?'}"), messages.get(3));
  }

  @Test
  void anAssistantTurnOfToolUseAloneHasNoContent() {
    JsonNode assistant = chat("{'model':'m','max_tokens':8,'messages':[{'role':'user','content':'Hi'},"
        + "{'role':'assistant','content':[{'type':'tool_use','id':'t1','name':'now','input':{}}]}]}")
        .get("messages").get(1);
    assertTrue(assistant.get("content").isNull());
    assertEquals("{}", assistant.get("tool_calls").get(0).get("function").get("arguments").asText());
  }

  @Test
  void toolResultsComeBeforeTheUserTextAndErrorsAreMarked() {
    JsonNode messages = chat("{'model':'m','max_tokens':8,'messages':[{'role':'user','content':["
        + "{'type':'text','text':'Here you go.'},"
        + "{'type':'tool_result','tool_use_id':'t1','content':[{'type':'text','text':'line 1'},"
        + "{'type':'text','text':'line 2'}]},"
        + "{'type':'tool_result','tool_use_id':'t2','content':'ConnectionError: unreachable','is_error':true}]}]}")
        .get("messages");
    assertEquals(json("[{'role':'tool','tool_call_id':'t1','content':'line 1\\nline 2'},"
        + "{'role':'tool','tool_call_id':'t2','content':'Error: ConnectionError: unreachable'},"
        + "{'role':'user','content':'Here you go.'}]"), messages);
  }

  @Test
  void toolsBecomeFunctionsAndServerToolsAreDropped() {
    ObjectNode out = chat("{'model':'m','max_tokens':8," + HELLO + ",'tools':["
        + "{'name':'get_weather','description':'Get the current weather in a given location',"
        + "'input_schema':{'type':'object','properties':{'location':{'type':'string'}},'required':['location']}},"
        + "{'type':'custom','name':'get_time','input_schema':{'type':'object','properties':{}}},"
        + "{'type':'web_search_20250305','name':'web_search','max_uses':5}]}");
    assertEquals(json("[{'type':'function','function':{'name':'get_weather',"
        + "'description':'Get the current weather in a given location',"
        + "'parameters':{'type':'object','properties':{'location':{'type':'string'}},'required':['location']}}},"
        + "{'type':'function','function':{'name':'get_time','parameters':{'type':'object','properties':{}}}}]"),
        out.get("tools"));
    assertFalse(out.has("tool_choice"));
  }

  @Test
  void eachToolChoiceHasItsOpenAiCounterpart() {
    String tools = ",'tools':[{'name':'get_weather','input_schema':{'type':'object'}}],'tool_choice':";
    assertEquals(json("'auto'"), chat("{'model':'m','max_tokens':8," + HELLO + tools + "{'type':'auto'}}")
        .get("tool_choice"));
    assertEquals(json("'required'"), chat("{'model':'m','max_tokens':8," + HELLO + tools + "{'type':'any'}}")
        .get("tool_choice"));
    assertEquals(json("'none'"), chat("{'model':'m','max_tokens':8," + HELLO + tools + "{'type':'none'}}")
        .get("tool_choice"));
    ObjectNode named = chat("{'model':'m','max_tokens':8," + HELLO + tools
        + "{'type':'tool','name':'get_weather','disable_parallel_tool_use':true}}");
    assertEquals(json("{'type':'function','function':{'name':'get_weather'}}"), named.get("tool_choice"));
    assertFalse(named.get("parallel_tool_calls").asBoolean());
    assertFalse(chat("{'model':'m','max_tokens':8," + HELLO + tools + "{'type':'auto'}}")
        .has("parallel_tool_calls"));
  }

  @Test
  void samplingStopSequencesAndTheEndUserPassThrough() {
    ObjectNode out = chat("{'model':'m','max_tokens':8," + HELLO + ",'stop_sequences':['\\n\\nHuman:','END'],"
        + "'temperature':0.2,'top_p':0.9,'top_k':40,'metadata':{'user_id':'13803d75-b4b5-4c3e-b2a2-6f21399b021b'}}");
    assertEquals(json("['\\n\\nHuman:','END']"), out.get("stop"));
    assertEquals(0.2, out.get("temperature").asDouble());
    assertEquals(0.9, out.get("top_p").asDouble());
    assertEquals(40, out.get("top_k").asInt());
    assertEquals("13803d75-b4b5-4c3e-b2a2-6f21399b021b", out.get("user").asText());
    assertFalse(out.has("stream"));
  }

  @Test
  void aStreamAsksForTheUsageChunk() {
    AnthropicMessages.Request request = assertInstanceOf(AnthropicMessages.Request.class,
        AnthropicMessages.toOpenAi(json("{'model':'m','max_tokens':8," + HELLO + ",'stream':true}")));
    assertTrue(request.stream());
    assertTrue(request.openAiChat().get("stream").asBoolean());
    assertEquals(json("{'include_usage':true}"), request.openAiChat().get("stream_options"));
  }

  @Test
  void fieldsWithoutACounterpartAreIgnored() {
    ObjectNode out = chat("{'model':'m','max_tokens':8," + HELLO + ",'thinking':{'type':'enabled',"
        + "'budget_tokens':4000},'service_tier':'auto','container':'c1','mcp_servers':[],'some_future_field':1}");
    assertJson(json("{'model':'m','messages':[{'role':'user','content':'Hello, world'}],'max_tokens':8}"), out);
  }

  @Test
  void aRequestAnthropicWouldRefuseIsInvalid() {
    assertEquals("max_tokens: Field required", invalid("{'model':'m'," + HELLO + "}"));
    assertEquals("max_tokens: Input should be greater than or equal to 1",
        invalid("{'model':'m','max_tokens':0," + HELLO + "}"));
    assertEquals("max_tokens: Input should be a valid integer",
        invalid("{'model':'m','max_tokens':'many'," + HELLO + "}"));
    assertEquals("model: Field required", invalid("{'max_tokens':8," + HELLO + "}"));
    assertEquals("messages: Field required", invalid("{'model':'m','max_tokens':8}"));
    assertEquals("messages: at least one message is required",
        invalid("{'model':'m','max_tokens':8,'messages':[]}"));
    assertEquals("messages.0.role: Input should be 'user' or 'assistant'",
        invalid("{'model':'m','max_tokens':8,'messages':[{'role':'system','content':'x'}]}"));
  }

  private static JsonNode completion(String message, String finishReason, String extra) {
    return json("{'id':'chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT','object':'chat.completion','created':1741569952,"
        + "'model':'Qwen/Qwen3-8B','choices':[{'index':0,'message':" + message + ",'logprobs':null,"
        + "'finish_reason':'" + finishReason + "'" + extra + "}],"
        + "'usage':{'prompt_tokens':19,'completion_tokens':10,'total_tokens':29}}");
  }

  @Test
  void aTextCompletionIsAMessage() {
    ObjectNode message = AnthropicMessages.fromOpenAi(
        completion("{'role':'assistant','content':'Hello! How can I assist you today?','refusal':null}", "stop", ""),
        "claude-sonnet-4-5");
    assertJson(json("{'id':'msg_chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT','type':'message','role':'assistant',"
        + "'model':'claude-sonnet-4-5','content':[{'type':'text','text':'Hello! How can I assist you today?'}],"
        + "'stop_reason':'end_turn','stop_sequence':null,'usage':{'input_tokens':19,'output_tokens':10}}"), message);
  }

  @Test
  void toolCallsAreToolUsesWithTheirArgumentsParsed() {
    ObjectNode message = AnthropicMessages.fromOpenAi(completion("{'role':'assistant','content':null,"
        + "'tool_calls':[{'id':'call_abc123','type':'function','function':{'name':'get_current_weather',"
        + "'arguments':'{\\'location\\': \\'Boston, MA\\'}'}},"
        + "{'id':'call_def456','type':'function','function':{'name':'broken','arguments':'{\\'loc'}}]}",
        "tool_calls", ""), "m");
    assertEquals(json("[{'type':'tool_use','id':'call_abc123','name':'get_current_weather',"
        + "'input':{'location':'Boston, MA'}},{'type':'tool_use','id':'call_def456','name':'broken','input':{}}]"),
        message.get("content"));
    assertEquals("tool_use", message.get("stop_reason").asText());
  }

  @Test
  void eachFinishReasonHasItsStopReason() {
    String text = "{'role':'assistant','content':'Hi'}";
    assertEquals("end_turn", AnthropicMessages.fromOpenAi(completion(text, "stop", ""), "m")
        .get("stop_reason").asText());
    assertEquals("max_tokens", AnthropicMessages.fromOpenAi(completion(text, "length", ""), "m")
        .get("stop_reason").asText());
    assertEquals("end_turn", AnthropicMessages.fromOpenAi(completion(text, "content_filter", ""), "m")
        .get("stop_reason").asText());
    ObjectNode stopped = AnthropicMessages.fromOpenAi(completion(text, "stop", ",'stop_reason':'END'"), "m");
    assertEquals("stop_sequence", stopped.get("stop_reason").asText());
    assertEquals("END", stopped.get("stop_sequence").asText());
    ObjectNode eos = AnthropicMessages.fromOpenAi(completion(text, "stop", ",'stop_reason':151645"), "m");
    assertEquals("end_turn", eos.get("stop_reason").asText());
    assertTrue(eos.get("stop_sequence").isNull());
  }

  @Test
  void anEmptyAnswerHasNoContentBlocks() {
    ObjectNode message = AnthropicMessages.fromOpenAi(completion("{'role':'assistant','content':''}", "length", ""),
        "m");
    assertTrue(message.get("content").isEmpty());
    assertEquals(10, message.get("usage").get("output_tokens").asLong());
  }

  @Test
  void tokensAreEstimatedAtFourCharactersEach() {
    assertEquals(1, AnthropicMessages.countTokens(json("{'model':'m','messages':[{'role':'user','content':'Hi'}]}")));
    assertEquals(5, AnthropicMessages.countTokens(json("{'model':'m','system':'12345678',"
        + "'messages':[{'role':'user','content':[{'type':'text','text':'12345678'}]},"
        + "{'role':'user','content':[{'type':'tool_result','tool_use_id':'t','content':'1234'}]}]}")));
    long withTools = AnthropicMessages.countTokens(json("{'model':'m'," + HELLO
        + ",'tools':[{'name':'get_weather','description':'Get the current weather',"
        + "'input_schema':{'type':'object'}}]}"));
    assertTrue(withTools > AnthropicMessages.countTokens(json("{'model':'m'," + HELLO + "}")));
  }

  @Test
  void errorsHaveAnthropicsEnvelopeTypesAndStatuses() {
    assertEquals(json("{'type':'error','error':{'type':'overloaded_error','message':'Overloaded'}}"),
        AnthropicMessages.error("overloaded_error", "Overloaded"));
    assertEquals("invalid_request_error", AnthropicMessages.errorType(400));
    assertEquals("authentication_error", AnthropicMessages.errorType(401));
    assertEquals("permission_error", AnthropicMessages.errorType(403));
    assertEquals("not_found_error", AnthropicMessages.errorType(404));
    assertEquals("invalid_request_error", AnthropicMessages.errorType(408));
    assertEquals("request_too_large", AnthropicMessages.errorType(413));
    assertEquals("rate_limit_error", AnthropicMessages.errorType(429));
    assertEquals("api_error", AnthropicMessages.errorType(500));
    assertEquals("api_error", AnthropicMessages.errorType(502));
    assertEquals("overloaded_error", AnthropicMessages.errorType(503));
    assertEquals("overloaded_error", AnthropicMessages.errorType(529));
    assertEquals("api_error", AnthropicMessages.errorType(418));
    assertEquals(529, AnthropicMessages.status(503));
    assertEquals(429, AnthropicMessages.status(429));
    assertEquals(500, AnthropicMessages.status(500));
  }
}
