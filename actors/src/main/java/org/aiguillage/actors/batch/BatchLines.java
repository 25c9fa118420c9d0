package org.aiguillage.actors.batch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.function.Predicate;
import org.aiguillage.protocol.Json;
import org.aiguillage.protocol.batch.BatchObject.LineError;

/**
 * The lines of a batch's input file, as OpenAI's Batch API defines them: one JSON object per line, {@code custom_id},
 * {@code method} POST, {@code url} the batch's endpoint, {@code body} the request. Reading, validating, and the output
 * and error lines a result becomes. Plain Java.
 */
public final class BatchLines {

  /** The most validation errors a failed batch lists (the first ones, by line). */
  static final int MAX_ERRORS = 100;

  /** A request of the file, ready to send: its {@code stream} removed (a batch's answers are whole). */
  public record Request(int line, String customId, String model, byte[] body) {}

  private BatchLines() {}

  /**
   * The request on line {@code line} (from 1), or why it is not one. Blank lines are not requests (null).
   *
   * @param mayUse whether the batch's key may use a model, by the name the line gives
   */
  static Object read(int line, String text, String endpoint, Predicate<String> mayUse) {
    if (text.isBlank()) {
      return null;
    }
    JsonNode node;
    try {
      node = Json.MAPPER.readTree(text);
    } catch (java.io.IOException e) {
      return error("invalid_json_line", "Line " + line + " is not valid JSON.", null, line);
    }
    if (!(node instanceof ObjectNode o)) {
      return error("invalid_json_line", "Line " + line + " is not a JSON object.", null, line);
    }
    JsonNode customId = o.get("custom_id");
    if (customId == null || !customId.isTextual() || customId.asText().isEmpty()) {
      return error("missing_required_parameter", "Line " + line + " has no 'custom_id' (a string).", "custom_id",
          line);
    }
    if (!"POST".equalsIgnoreCase(o.path("method").asText())) {
      return error("invalid_method", "Line " + line + ": 'method' must be POST.", "method", line);
    }
    if (!endpoint.equals(o.path("url").asText())) {
      return error("invalid_url", "Line " + line + ": 'url' must be the batch's endpoint, " + endpoint + ".", "url",
          line);
    }
    if (!(o.get("body") instanceof ObjectNode body)) {
      return error("missing_required_parameter", "Line " + line + " has no 'body' (a JSON object).", "body", line);
    }
    JsonNode model = body.get("model");
    if (model == null || !model.isTextual() || model.asText().isBlank()) {
      return error("missing_required_parameter", "Line " + line + " has no 'body.model'.", "body.model", line);
    }
    if (!mayUse.test(model.asText())) {
      return error("model_not_found", "Line " + line + ": the model '" + model.asText()
          + "' does not exist or this key may not use it.", "body.model", line);
    }
    body.remove("stream");
    body.remove("stream_options");
    return new Request(line, customId.asText(), model.asText(), Json.bytes(body));
  }

  private static LineError error(String code, String message, String param, int line) {
    return new LineError(code, message, param, line);
  }

  /** Reads a whole file line by line, as validation does: how many requests, and the errors. */
  static final class Validation {
    private final String endpoint;
    private final Predicate<String> mayUse;
    private final int maxLines;
    private final Set<String> customIds = new HashSet<>();
    private final List<LineError> errors = new ArrayList<>();
    private long requests;
    private boolean failed;

    Validation(String endpoint, Predicate<String> mayUse, int maxLines) {
      this.endpoint = endpoint;
      this.mayUse = mayUse;
      this.maxLines = maxLines;
    }

    void accept(int line, String text) {
      Object read = read(line, text, endpoint, mayUse);
      if (read == null) {
        return;
      }
      requests++;
      if (read instanceof LineError e) {
        add(e);
      } else if (!customIds.add(((Request) read).customId())) {
        add(error("duplicate_custom_id", "Line " + line + ": the custom_id '" + ((Request) read).customId()
            + "' is used by an earlier line.", "custom_id", line));
      }
    }

    private void add(LineError e) {
      failed = true;
      if (errors.size() < MAX_ERRORS) {
        errors.add(e);
      }
    }

    long requests() {
      return requests;
    }

    /** The errors that fail the batch; empty when it may run. */
    List<LineError> errors() {
      List<LineError> all = new ArrayList<>(errors);
      if (requests == 0) {
        all.add(error("empty_file", "The input file has no request.", "input_file_id", null));
      } else if (requests > maxLines) {
        all.add(error("too_many_requests", "The input file has " + requests + " requests; a batch may have at most "
            + maxLines + ".", "input_file_id", null));
      }
      return failed || all.size() > errors.size() ? all : List.of();
    }

    private static LineError error(String code, String message, String param, Integer line) {
      return new LineError(code, message, param, line);
    }
  }

  /**
   * A result as its file's line: {@code {"id", "custom_id", "response": {"status_code", "request_id", "body"},
   * "error"}}; an answer that is not a success also names its error (code and message, from the body's envelope).
   */
  static String resultLine(String customId, int status, String requestId, byte[] body) {
    ObjectNode out = Json.MAPPER.createObjectNode();
    out.put("id", "batch_req_" + UUID.randomUUID().toString().replace("-", ""));
    out.put("custom_id", customId);
    ObjectNode response = out.putObject("response");
    response.put("status_code", status);
    response.put("request_id", requestId);
    JsonNode parsed;
    try {
      parsed = Json.MAPPER.readTree(body);
    } catch (java.io.IOException e) {
      parsed = null;
    }
    if (parsed != null && !parsed.isMissingNode()) {
      response.set("body", parsed);
    } else {
      response.put("body", new String(body, StandardCharsets.UTF_8));
    }
    if (status / 100 == 2) {
      out.putNull("error");
    } else {
      ObjectNode error = out.putObject("error");
      JsonNode envelope = parsed == null ? null : parsed.path("error");
      error.put("code", envelope != null && envelope.path("code").isTextual() ? envelope.path("code").asText()
          : "http_" + status);
      error.put("message", envelope != null && envelope.path("message").isTextual()
          ? envelope.path("message").asText() : "The request failed with status " + status + ".");
    }
    return new String(Json.bytes(out), StandardCharsets.UTF_8);
  }

  /** A line that never ran: its batch expired (or the line could not be read again), in the error file. */
  static String unrunLine(String customId, String code, String message) {
    ObjectNode out = Json.MAPPER.createObjectNode();
    out.put("id", "batch_req_" + UUID.randomUUID().toString().replace("-", ""));
    out.put("custom_id", customId);
    out.putNull("response");
    ObjectNode error = out.putObject("error");
    error.put("code", code);
    error.put("message", message);
    return new String(Json.bytes(out), StandardCharsets.UTF_8);
  }
}
