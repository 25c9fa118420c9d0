package org.aiguillage.node;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import org.aiguillage.protocol.Json;
import org.aiguillage.protocol.openai.OpenAiError;

/**
 * A server's error answer, in the OpenAI envelope whatever shape it came in: vLLM answers {@code {"error":{...}}}
 * today and {@code {"object":"error","message":...}} in older versions; other servers answer plain text.
 */
final class ServerErrors {

  private static final ObjectMapper JSON = Json.MAPPER;

  private ServerErrors() {}

  static byte[] toEnvelope(int status, byte[] body) {
    try {
      JsonNode tree = JSON.readTree(body);
      if (tree != null && tree.path("error").isObject()) {
        return body;
      }
      if (tree != null && tree.path("message").isTextual()) {
        return JSON.writeValueAsBytes(OpenAiError.of(tree.get("message").asText(), typeFor(status),
            tree.path("param").isTextual() ? tree.get("param").asText() : null, null));
      }
      if (tree != null && tree.path("error").isTextual()) {
        return JSON.writeValueAsBytes(OpenAiError.of(tree.get("error").asText(), typeFor(status), null, null));
      }
    } catch (Exception notJson) {
      // fall through: wrap the text
    }
    try {
      String text = new String(body, StandardCharsets.UTF_8).strip();
      return JSON.writeValueAsBytes(OpenAiError.of(text.isEmpty() ? "The server answered " + status + "." : text,
          typeFor(status), null, null));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static String typeFor(int status) {
    return status >= 500 ? "server_error" : "invalid_request_error";
  }
}
