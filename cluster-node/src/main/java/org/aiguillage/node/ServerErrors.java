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
    } catch (Exception notJson) {
      // wrapped below
    }
    return Json.bytes(toError(status, body));
  }

  /** The error a server's answer says, whatever its shape. */
  static OpenAiError toError(int status, byte[] body) {
    try {
      JsonNode tree = JSON.readTree(body);
      if (tree != null && tree.path("error").isObject()) {
        JsonNode e = tree.get("error");
        return OpenAiError.of(e.path("message").asText("The server answered " + status + "."),
            e.path("type").asText(typeFor(status)), e.path("param").isTextual() ? e.get("param").asText() : null,
            e.path("code").isValueNode() && !e.path("code").isNull() ? e.get("code").asText() : null);
      }
      if (tree != null && tree.path("message").isTextual()) {
        return OpenAiError.of(tree.get("message").asText(), typeFor(status),
            tree.path("param").isTextual() ? tree.get("param").asText() : null, null);
      }
      if (tree != null && tree.path("error").isTextual()) {
        return OpenAiError.of(tree.get("error").asText(), typeFor(status), null, null);
      }
      if (tree != null && tree.path("detail").isTextual()) {
        return OpenAiError.of(tree.get("detail").asText(), typeFor(status), null, null);
      }
    } catch (Exception notJson) {
      // fall through: wrap the text
    }
    String text = new String(body, StandardCharsets.UTF_8).strip();
    return OpenAiError.of(text.isEmpty() ? "The server answered " + status + "." : text, typeFor(status), null,
        null);
  }

  private static String typeFor(int status) {
    return status >= 500 ? "server_error" : "invalid_request_error";
  }
}
