package org.aiguillage.loadtest.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.aiguillage.protocol.Json;
import org.junit.jupiter.api.Test;

/** The simulator's answers are string templates: whatever a token holds, they stay valid JSON. */
class TemplateEscapingTest {

  @Test
  void quotesBackslashesAndControlCharactersInATokenKeepTheChunkValid() throws Exception {
    String token = " say \"hi\" \\ then\nnew line\t\u0001 é";
    String chunk = "{\"delta\":{\"content\":\"" + VllmSimulator.escaped(token) + "\"}}";
    assertEquals(token, Json.MAPPER.readTree(chunk).path("delta").path("content").asText());
  }
}
