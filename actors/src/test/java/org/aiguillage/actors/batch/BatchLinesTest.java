package org.aiguillage.actors.batch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.aiguillage.protocol.Json;
import org.aiguillage.protocol.batch.BatchObject.LineError;
import org.junit.jupiter.api.Test;

class BatchLinesTest {

  private static final String CHAT = "/v1/chat/completions";

  private static String line(String customId, String url, String body) {
    return "{\"custom_id\":\"" + customId + "\",\"method\":\"POST\",\"url\":\"" + url + "\",\"body\":" + body + "}";
  }

  private static Object read(String text) {
    return BatchLines.read(4, text, CHAT, model -> model.equals("chat-model"));
  }

  @Test
  void aLineIsARequestWithItsStreamRemoved() {
    BatchLines.Request r = (BatchLines.Request) read(line("x", CHAT,
        "{\"model\":\"chat-model\",\"stream\":true,\"stream_options\":{\"include_usage\":true},\"messages\":[]}"));

    assertEquals(4, r.line());
    assertEquals("x", r.customId());
    assertEquals("{\"model\":\"chat-model\",\"messages\":[]}", new String(r.body(), StandardCharsets.UTF_8));
  }

  @Test
  void eachWayALineCanBeWrongHasItsCodeAndParameter() {
    assertEquals("invalid_json_line", ((LineError) read("{not json")).code());
    assertEquals("invalid_json_line", ((LineError) read("[1, 2]")).code());
    assertEquals("custom_id", ((LineError) read(line("", CHAT, "{\"model\":\"chat-model\"}"))).param());
    assertEquals("invalid_url", ((LineError) read(line("x", "/v1/embeddings", "{\"model\":\"chat-model\"}"))).code());
    assertEquals("body", ((LineError) read("{\"custom_id\":\"x\",\"method\":\"POST\",\"url\":\"" + CHAT + "\"}"))
        .param());
    assertEquals("body.model", ((LineError) read(line("x", CHAT, "{}"))).param());
    LineError other = (LineError) read(line("x", CHAT, "{\"model\":\"secret-model\"}"));
    assertEquals("model_not_found", other.code());
    assertEquals(4, other.line());
    assertNull(read("   "), "a blank line is no request");
  }

  @Test
  void validationCountsTheRequestsAndNamesEveryLineAtFaultOnce() {
    BatchLines.Validation v = new BatchLines.Validation(CHAT, model -> true, 10);
    v.accept(1, line("a", CHAT, "{\"model\":\"m\"}"));
    v.accept(2, "");
    v.accept(3, line("a", CHAT, "{\"model\":\"m\"}"));
    v.accept(4, "oops");

    assertEquals(3, v.requests());
    assertEquals(List.of(3, 4), v.errors().stream().map(LineError::line).toList());
    assertEquals(List.of("duplicate_custom_id", "invalid_json_line"), v.errors().stream().map(LineError::code)
        .toList());
  }

  @Test
  void anEmptyFileOrOneWithTooManyRequestsFailsAsAWhole() {
    BatchLines.Validation empty = new BatchLines.Validation(CHAT, model -> true, 10);
    empty.accept(1, "");
    assertEquals("empty_file", empty.errors().get(0).code());

    BatchLines.Validation tooMany = new BatchLines.Validation(CHAT, model -> true, 2);
    for (int i = 1; i <= 3; i++) {
      tooMany.accept(i, line("id-" + i, CHAT, "{\"model\":\"m\"}"));
    }
    assertEquals("too_many_requests", tooMany.errors().get(0).code());
    assertNull(tooMany.errors().get(0).line());

    BatchLines.Validation fine = new BatchLines.Validation(CHAT, model -> true, 2);
    fine.accept(1, line("only", CHAT, "{\"model\":\"m\"}"));
    assertTrue(fine.errors().isEmpty());
  }

  @Test
  void aResultLineHasOpenAisShapeAndARefusalNamesItsError() throws Exception {
    JsonNode ok = Json.MAPPER.readTree(BatchLines.resultLine("c1", 200, "batch_1-1",
        "{\"choices\":[]}".getBytes(StandardCharsets.UTF_8)));
    assertEquals("c1", ok.get("custom_id").asText());
    assertTrue(ok.get("id").asText().startsWith("batch_req_"));
    assertEquals(200, ok.at("/response/status_code").asInt());
    assertEquals("batch_1-1", ok.at("/response/request_id").asText());
    assertTrue(ok.at("/response/body/choices").isArray());
    assertTrue(ok.get("error").isNull());

    JsonNode refused = Json.MAPPER.readTree(BatchLines.resultLine("c2", 400, "batch_1-2",
        "{\"error\":{\"message\":\"no such model\",\"code\":\"model_not_found\"}}".getBytes(StandardCharsets.UTF_8)));
    assertEquals("model_not_found", refused.at("/error/code").asText());
    assertEquals("no such model", refused.at("/error/message").asText());

    JsonNode expired = Json.MAPPER.readTree(BatchLines.unrunLine("c3", "batch_expired", "too late"));
    assertTrue(expired.get("response").isNull());
    assertFalse(expired.at("/error/code").asText().isEmpty());
  }
}
