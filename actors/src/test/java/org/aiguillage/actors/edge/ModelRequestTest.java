package org.aiguillage.actors.edge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import org.aiguillage.protocol.RoutingMode;
import org.aiguillage.protocol.config.Lifecycle;
import org.aiguillage.protocol.config.ModelConfig;
import org.aiguillage.protocol.config.ModelType;
import org.aiguillage.protocol.config.PriorityHandler;
import org.aiguillage.protocol.config.ServerConfig;
import org.junit.jupiter.api.Test;

class ModelRequestTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final ApiKey KEY = new ApiKey("key-1", "lab", "univ-a", 3, 100, RoutingMode.ANY);

  private static ModelConfig model(String priorityHandler) {
    return new ModelConfig("chat", "org/served", null,
        List.of(new ServerConfig("http://h:1", null, "univ-a", 4, null, null)), null,
        PriorityHandler.fromWireName(priorityHandler), null);
  }

  private static ModelRequest.Parsed parse(String body, String priorityHandler) {
    return ModelRequest.parse(ModelRequest.Endpoint.CHAT, body.getBytes(StandardCharsets.UTF_8), KEY,
        name -> name.equals("chat") ? Optional.of(model(priorityHandler)) : Optional.empty(),
        (org, model) -> org.equals("univ-a"), 1_000);
  }

  private static ModelRequest.Accepted accept(String body) {
    return assertInstanceOf(ModelRequest.Accepted.class, parse(body, "dispatcher"));
  }

  private static JsonNode upstream(ModelRequest.Accepted accepted) throws Exception {
    return JSON.readTree(accepted.call().body());
  }

  @Test
  void aConversationsTicketsCarryTheBlocksOfTheirPromptTheNextTurnBeginningWithTheLast() {
    String system = "{\"role\":\"system\",\"content\":\"" + "Answer as the federation's tutor. ".repeat(40)
        + "\"}";
    ModelRequest.Accepted first = accept("{\"model\":\"chat\",\"user\":\"alice\",\"messages\":[" + system
        + ",{\"role\":\"user\",\"content\":\"What is a GPU?\"}]}");
    ModelRequest.Accepted next = accept("{\"model\":\"chat\",\"user\":\"alice\",\"messages\":[" + system
        + ",{\"role\":\"user\",\"content\":\"What is a GPU?\"},{\"role\":\"assistant\",\"content\":\"A "
        + "processor for graphics and matrix work.\"},{\"role\":\"user\",\"content\":\"And a TPU?\"}]}");

    long[] firstBlocks = first.ticket().prefix();
    long[] nextBlocks = next.ticket().prefix();
    assertTrue(firstBlocks.length >= 5, "a 1,360-byte system prompt: " + firstBlocks.length + " blocks");
    assertArrayEquals(firstBlocks, java.util.Arrays.copyOf(nextBlocks, firstBlocks.length),
        "the first turn's blocks begin the next one's");
    assertEquals("key-1:alice", first.ticket().session(), "the client's user, within its key");
    assertEquals(null, accept("{\"model\":\"chat\",\"messages\":[" + system + "]}").ticket().session());
    ModelRequest.Parsed withHeader = ModelRequest.parse(ModelRequest.Endpoint.CHAT,
        ("{\"model\":\"chat\",\"user\":\"alice\",\"messages\":[" + system + "]}").getBytes(StandardCharsets.UTF_8),
        KEY, name -> Optional.of(model("dispatcher")), (org, model) -> true, 1_000, "dc1", "conv-42");
    assertEquals("key-1:conv-42", assertInstanceOf(ModelRequest.Accepted.class, withHeader).ticket().session(),
        "x-session-id names the conversation before the user field");
  }

  @Test
  void onlyTheModelIsRewrittenAndEveryOtherFieldPassesThrough() throws Exception {
    ModelRequest.Accepted accepted = accept("""
        {"model":"chat","messages":[{"role":"user","content":"hi"}],"temperature":0.3,
         "tools":[{"type":"function","function":{"name":"f"}}],"response_format":{"type":"json_object"},
         "logprobs":true,"some_future_field":{"x":[1,2]}}""");

    JsonNode body = upstream(accepted);
    assertEquals("org/served", body.get("model").asText());
    assertEquals(0.3, body.get("temperature").asDouble());
    assertEquals("f", body.at("/tools/0/function/name").asText());
    assertEquals("json_object", body.at("/response_format/type").asText());
    assertTrue(body.get("logprobs").asBoolean());
    assertEquals(2, body.at("/some_future_field/x/1").asInt());
    assertEquals("/v1/chat/completions", accepted.call().path());
  }

  @Test
  void aRequestMayLowerItsPriorityButNeverRaiseIt() throws Exception {
    ModelRequest.Accepted lowered = accept("{\"model\":\"chat\",\"messages\":[{}],\"priority\":1}");
    ModelRequest.Accepted raised = accept("{\"model\":\"chat\",\"messages\":[{}],\"priority\":5}");
    ModelRequest.Accepted flex = accept("{\"model\":\"chat\",\"messages\":[{}],\"service_tier\":\"flex\"}");

    assertEquals(1, lowered.ticket().priority());
    assertEquals(3, raised.ticket().priority());
    assertEquals(1, flex.ticket().priority());
    assertFalse(upstream(lowered).has("priority"), "priority is the dispatcher's field");
  }

  @Test
  void withTheVllmPriorityHandlerTheServerGetsVllmsPriorityWhereLowerGoesFirst() throws Exception {
    ModelRequest.Accepted accepted = assertInstanceOf(ModelRequest.Accepted.class,
        parse("{\"model\":\"chat\",\"messages\":[{}],\"priority\":2}", "vllm"));

    assertEquals(5 - 2, upstream(accepted).get("priority").asInt());
  }

  @Test
  void streamsAlwaysAskTheServerForUsageAndRememberWhetherTheClientDid() throws Exception {
    ModelRequest.Accepted silent = accept("{\"model\":\"chat\",\"messages\":[{}],\"stream\":true}");
    ModelRequest.Accepted asking = accept("{\"model\":\"chat\",\"messages\":[{}],\"stream\":true,"
        + "\"stream_options\":{\"include_usage\":true}}");

    assertTrue(upstream(silent).at("/stream_options/include_usage").asBoolean());
    assertFalse(silent.call().clientWantsUsage());
    assertTrue(asking.call().clientWantsUsage());
    assertTrue(silent.call().stream());
  }

  @Test
  void theRoutingModeIsTakenFromTheBodyAndRemovedFromIt() throws Exception {
    ModelRequest.Accepted accepted =
        accept("{\"model\":\"chat\",\"messages\":[{}],\"routing-mode\":\"private-only\"}");

    assertEquals(RoutingMode.PRIVATE_ONLY, accepted.ticket().routingMode());
    assertFalse(upstream(accepted).has("routing-mode"));
  }

  @Test
  void privateRoutingNeedsServersOfTheKeysOrganisation() {
    ApiKey guest = new ApiKey("key-2", "guest", "univ-z", 3, 100, RoutingMode.ANY);
    ModelRequest.Parsed parsed = ModelRequest.parse(ModelRequest.Endpoint.CHAT,
        "{\"model\":\"chat\",\"messages\":[{}],\"routing-mode\":\"private-first\"}".getBytes(StandardCharsets.UTF_8),
        guest, name -> Optional.of(model("dispatcher")), (org, model) -> org.equals("univ-a"), 0);

    ModelRequest.Invalid invalid = assertInstanceOf(ModelRequest.Invalid.class, parsed);
    assertEquals(400, invalid.status());
    assertEquals("routing-mode", invalid.error().error().param());
  }

  @Test
  void theTicketCarriesKeyOrganisationArrivalAndTheModelsDeadline() {
    ModelRequest.Accepted accepted = accept("{\"model\":\"chat\",\"messages\":[{}]}");

    assertEquals("key-1", accepted.ticket().keyId());
    assertEquals("univ-a", accepted.ticket().organization());
    assertEquals(1_000, accepted.ticket().arrivalMillis());
    assertEquals(1_000 + ModelConfig.DEFAULT_QUEUE_TIMEOUT.toMillis(), accepted.ticket().deadlineMillis());
  }

  @Test
  void badInputIsRefusedWithTheFieldItConcerns() {
    assertInvalid("not json", 400, null);
    assertInvalid("[1,2]", 400, null);
    assertInvalid("{\"messages\":[{}]}", 400, "model");
    assertInvalid("{\"model\":\"chat\"}", 400, "messages");
    assertInvalid("{\"model\":\"chat\",\"messages\":[]}", 400, "messages");
    assertInvalid("{\"model\":\"nope\",\"messages\":[{}]}", 404, "model");
    assertInvalid("{\"model\":\"chat\",\"messages\":[{}],\"priority\":\"high\"}", 400, "priority");
    assertInvalid("{\"model\":\"chat\",\"messages\":[{}],\"routing-mode\":\"mine\"}", 400, "routing-mode");
  }

  private static void assertInvalid(String body, int status, String param) {
    ModelRequest.Invalid invalid = assertInstanceOf(ModelRequest.Invalid.class, parse(body, "dispatcher"));
    assertEquals(status, invalid.status());
    assertEquals(param, invalid.error().error().param());
  }

  @Test
  void aModelInStagingIsOnlyForKeysThatNameIt() {
    ModelConfig staging = model("dispatcher").withLifecycleAndAliases(Lifecycle.STAGING, List.of());
    String body = "{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    ApiKey tester = new ApiKey("key-3", "tester", "univ-a", 3, 100, RoutingMode.ANY, List.of("chat"));

    ModelRequest.Parsed forAll = ModelRequest.parse(ModelRequest.Endpoint.CHAT,
        body.getBytes(StandardCharsets.UTF_8), KEY, name -> Optional.of(staging), (o, m) -> true, 1_000);
    ModelRequest.Parsed forTester = ModelRequest.parse(ModelRequest.Endpoint.CHAT,
        body.getBytes(StandardCharsets.UTF_8), tester, name -> Optional.of(staging), (o, m) -> true, 1_000);

    assertEquals(404, assertInstanceOf(ModelRequest.Invalid.class, forAll).status());
    assertInstanceOf(ModelRequest.Accepted.class, forTester);
  }

  private static ModelRequest.Parsed parseAt(ModelRequest.Endpoint endpoint, String body, ModelConfig m) {
    return ModelRequest.parse(endpoint, body.getBytes(StandardCharsets.UTF_8), KEY,
        name -> name.equals(m.name()) ? Optional.of(m) : Optional.empty(), (o, x) -> true, 1_000);
  }

  @Test
  void anEndpointItsModelsTypeDoesNotServeIsRefusedNamingTheType() {
    ModelConfig embeddings = model("dispatcher").withType(ModelType.TEXT_EMBEDDINGS_INFERENCE);

    ModelRequest.Invalid chat = assertInstanceOf(ModelRequest.Invalid.class, parseAt(
        ModelRequest.Endpoint.CHAT, "{\"model\":\"chat\",\"messages\":[{}]}", embeddings));
    assertEquals(400, chat.status());
    assertEquals("model_type_mismatch", chat.error().error().code());
    assertTrue(chat.error().error().message().contains("text-embeddings-inference"));
    assertTrue(chat.error().error().message().contains("/v1/embeddings"));

    assertInstanceOf(ModelRequest.Accepted.class, parseAt(ModelRequest.Endpoint.EMBEDDINGS,
        "{\"model\":\"chat\",\"input\":[\"a\",\"b\"]}", embeddings));
  }

  @Test
  void eachEndpointChecksItsOwnInputs() {
    ModelConfig reranker = model("dispatcher").withType(ModelType.TEXT_CLASSIFICATION);
    ModelConfig embeddings = model("dispatcher").withType(ModelType.TEXT_EMBEDDINGS_INFERENCE);
    assertInvalidAt(ModelRequest.Endpoint.EMBEDDINGS, "{\"model\":\"chat\"}", embeddings, "input");
    assertInvalidAt(ModelRequest.Endpoint.EMBEDDINGS, "{\"model\":\"chat\",\"input\":\"\"}", embeddings,
        "input");
    assertInvalidAt(ModelRequest.Endpoint.RERANK, "{\"model\":\"chat\",\"query\":\"q\"}", reranker,
        "documents");
    assertInvalidAt(ModelRequest.Endpoint.RERANK_V2,
        "{\"model\":\"chat\",\"query\":\"q\",\"documents\":\"one\"}", reranker, "documents");
    assertInvalidAt(ModelRequest.Endpoint.SCORE, "{\"model\":\"chat\",\"text_1\":\"q\"}", reranker,
        "text_2");
    assertInstanceOf(ModelRequest.Accepted.class, parseAt(ModelRequest.Endpoint.SCORE,
        "{\"model\":\"chat\",\"queries\":\"q\",\"documents\":[\"d\"]}", reranker));
    assertInvalidAt(ModelRequest.Endpoint.RESPONSES, "{\"model\":\"chat\"}", model("dispatcher"), "input");
  }

  private static void assertInvalidAt(ModelRequest.Endpoint endpoint, String body, ModelConfig m, String param) {
    ModelRequest.Invalid invalid = assertInstanceOf(ModelRequest.Invalid.class, parseAt(endpoint, body, m));
    assertEquals(400, invalid.status());
    assertEquals(param, invalid.error().error().param());
  }

  @Test
  void aResponsesFollowUpCarriesItsPreviousResponseIdAndOnlyChatAndCompletionStreamsGetStreamOptions()
      throws Exception {
    ModelRequest.Accepted followUp = assertInstanceOf(ModelRequest.Accepted.class, parseAt(
        ModelRequest.Endpoint.RESPONSES, "{\"model\":\"chat\",\"input\":\"and?\",\"stream\":true,"
            + "\"previous_response_id\":\"resp_1\",\"max_output_tokens\":50}", model("dispatcher")));

    assertEquals("resp_1", followUp.ticket().previousResponseId());
    assertTrue(followUp.call().stream());
    assertTrue(followUp.call().isResponses());
    assertFalse(upstream(followUp).has("stream_options"), "the Responses API has no stream_options to add");
    assertTrue(followUp.ticket().estimatedTokens() >= 50);

    ModelRequest.Accepted embeddings = assertInstanceOf(ModelRequest.Accepted.class, parseAt(
        ModelRequest.Endpoint.EMBEDDINGS, "{\"model\":\"chat\",\"input\":\"x\",\"stream\":true}",
        model("dispatcher").withType(ModelType.TEXT_EMBEDDINGS_INFERENCE)));
    assertFalse(embeddings.call().stream(), "embeddings never stream");
    assertEquals(null, embeddings.ticket().previousResponseId());
  }

  @Test
  void aSpeechToTextFormIsQueuedWithItsFieldsAndTheBodyLeftAtTheEdge() {
    ModelConfig whisper = model("dispatcher").withType(ModelType.AUTOMATIC_SPEECH_RECOGNITION);
    ModelRequest.Accepted accepted = assertInstanceOf(ModelRequest.Accepted.class,
        ModelRequest.audio(ModelRequest.Endpoint.TRANSCRIPTIONS, java.util.Map.of("model", "chat",
            "stream", "true", "priority", "1"), KEY, name -> Optional.of(whisper), (o, m) -> true, 1_000, "dc",
            "multipart/form-data; boundary=b", 1234, 12.5));

    assertTrue(accepted.call().bodyAtEdge());
    assertTrue(accepted.call().stream());
    assertEquals(1234, accepted.call().bodyBytes());
    assertEquals(12.5, accepted.call().audioSeconds());
    assertEquals(1, accepted.ticket().priority());
    assertEquals("/v1/audio/transcriptions", accepted.call().path());

    ModelRequest.Invalid onChat = assertInstanceOf(ModelRequest.Invalid.class,
        ModelRequest.audio(ModelRequest.Endpoint.TRANSLATIONS, java.util.Map.of("model", "chat"), KEY,
            name -> Optional.of(model("dispatcher")), (o, m) -> true, 1_000, "dc", "multipart/form-data", 1, -1));
    assertEquals("model_type_mismatch", onChat.error().error().code());
  }
}
