package org.aiguillage.actors.edge;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.BiPredicate;
import java.util.function.Function;
import org.aiguillage.priority.PromptPrefix;
import org.aiguillage.protocol.Json;
import org.aiguillage.protocol.RoutingMode;
import org.aiguillage.protocol.config.ModelConfig;
import org.aiguillage.protocol.config.ModelType;
import org.aiguillage.protocol.config.PriorityHandler;
import org.aiguillage.protocol.dispatch.TicketInfo;
import org.aiguillage.protocol.dispatch.UpstreamCall;
import org.aiguillage.protocol.openai.OpenAiError;

/**
 * Reads a client's request to a model (chat, completions, responses, embeddings, rerank, score; audio comes through
 * {@link AudioRequest}) and turns it into a ticket and the call a server will get.
 *
 * <p>The body passes to the server as the client wrote it, every field we do not model included; only these
 * change: {@code model} becomes the served name; the dispatcher's own fields ({@code priority}, {@code
 * routing-mode}) are removed (or, with {@code priority_handler: vllm}, {@code priority} is set in vLLM's sense);
 * chat and completion streams always ask for usage, so the dispatcher can count tokens (the agent drops that chunk
 * again when the client did not ask for it).
 */
public final class ModelRequest {

  /** The OpenAI (and vLLM) endpoints the dispatcher queues, and the model type that serves each. */
  public enum Endpoint {
    CHAT("/v1/chat/completions", ModelType.TEXT_GENERATION, "messages"),
    COMPLETIONS("/v1/completions", ModelType.TEXT_GENERATION, "prompt"),
    RESPONSES("/v1/responses", ModelType.TEXT_GENERATION, "input"),
    EMBEDDINGS("/v1/embeddings", ModelType.TEXT_EMBEDDINGS_INFERENCE, "input"),
    RERANK("/v1/rerank", ModelType.TEXT_CLASSIFICATION, "query", "documents"),
    RERANK_V2("/v2/rerank", ModelType.TEXT_CLASSIFICATION, "query", "documents"),
    SCORE("/v1/score", ModelType.TEXT_CLASSIFICATION, "text_1", "text_2"),
    TRANSCRIPTIONS("/v1/audio/transcriptions", ModelType.AUTOMATIC_SPEECH_RECOGNITION, "file"),
    TRANSLATIONS("/v1/audio/translations", ModelType.AUTOMATIC_SPEECH_RECOGNITION, "file");

    final String path;
    final ModelType type;
    final List<String> inputFields;

    Endpoint(String path, ModelType type, String... inputFields) {
      this.path = path;
      this.type = type;
      this.inputFields = List.of(inputFields);
    }

    /** The path clients call, and the agent calls on the server. */
    public String path() {
      return path;
    }

    /** Its name in metrics: the path without its version, {@code chat/completions}, {@code audio/transcriptions}. */
    public String metricName() {
      return path.substring(4);
    }

    /** The endpoint a batch's lines may call by this path ({@code /v1/batches}): any with a JSON body. */
    public static Optional<Endpoint> forBatches(String path) {
      for (Endpoint e : values()) {
        if (e.path.equals(path) && e.type != ModelType.AUTOMATIC_SPEECH_RECOGNITION) {
          return Optional.of(e);
        }
      }
      return Optional.empty();
    }

    /** Whether its answer may be an SSE stream ({@code stream: true}). */
    boolean streams() {
      return type == ModelType.TEXT_GENERATION || type == ModelType.AUTOMATIC_SPEECH_RECOGNITION;
    }
  }

  /** The outcome of reading a request. */
  public sealed interface Parsed {}

  /** A request to queue. */
  public record Accepted(ModelConfig model, TicketInfo ticket, UpstreamCall call) implements Parsed {}

  /** A request refused before queueing, with the status and error to answer. */
  public record Invalid(int status, OpenAiError error) implements Parsed {}

  public static final int BEST_PRIORITY = 5;
  private static final ObjectMapper JSON = Json.MAPPER;

  private ModelRequest() {}

  /**
   * @param models the model configuration by client-facing name
   * @param hostsModel whether an organisation hosts servers for a model (private routing needs it)
   */
  public static Parsed parse(Endpoint endpoint, byte[] body, ApiKey key, Function<String, Optional<ModelConfig>> models,
      BiPredicate<String, String> hostsModel, long nowMillis) {
    return parse(endpoint, body, key, models, hostsModel, nowMillis, "default");
  }

  /** @param datacenter the edge's datacentre, which the ticket carries */
  public static Parsed parse(Endpoint endpoint, byte[] body, ApiKey key, Function<String, Optional<ModelConfig>> models,
      BiPredicate<String, String> hostsModel, long nowMillis, String datacenter) {
    return parse(endpoint, body, key, models, hostsModel, nowMillis, datacenter, null);
  }

  /**
   * @param sessionHeader the request's {@code x-session-id} header (null when absent): the conversation it belongs
   *     to, as the body's OpenAI {@code user} field also says (the header wins)
   */
  public static Parsed parse(Endpoint endpoint, byte[] body, ApiKey key, Function<String, Optional<ModelConfig>> models,
      BiPredicate<String, String> hostsModel, long nowMillis, String datacenter, String sessionHeader) {
    JsonNode tree;
    try {
      tree = JSON.readTree(body);
    } catch (JsonProcessingException e) {
      return invalid("The request body is not valid JSON: " + e.getOriginalMessage(), null, "invalid_json");
    } catch (java.io.IOException e) {
      return invalid("The request body could not be read.", null, "invalid_json");
    }
    if (!(tree instanceof ObjectNode request)) {
      return invalid("The request body must be a JSON object.", null, "invalid_json");
    }
    JsonNode modelNode = request.get("model");
    if (modelNode == null || !modelNode.isTextual() || modelNode.asText().isBlank()) {
      return invalid("You must provide a model parameter.", "model", "missing_required_parameter");
    }
    Optional<Invalid> missing = missingInput(endpoint, request);
    if (missing.isPresent()) {
      return missing.get();
    }
    JsonNode priorityNode = request.remove("priority");
    JsonNode modeNode = request.remove("routing-mode");
    Parsed routed = route(endpoint, modelNode.asText(), priorityNode == null || priorityNode.isNull() ? null
            : priorityNode.canConvertToInt() ? priorityNode.asInt() : 0,
        modeNode == null || modeNode.isNull() ? null : modeNode.asText(),
        "flex".equals(request.path("service_tier").asText()), key, models, hostsModel);
    if (routed instanceof Invalid invalid) {
      return invalid;
    }
    Routed r = (Routed) routed;
    ModelConfig model = r.model();
    if (model.priorityHandler() == PriorityHandler.VLLM) {
      request.put("priority", BEST_PRIORITY - r.priority());
    }

    boolean stream = endpoint.streams() && request.path("stream").asBoolean(false);
    boolean clientWantsUsage = endpoint == Endpoint.RESPONSES
        || request.path("stream_options").path("include_usage").asBoolean(false);
    if (stream && (endpoint == Endpoint.CHAT || endpoint == Endpoint.COMPLETIONS)) {
      JsonNode options = request.get("stream_options");
      ObjectNode streamOptions = options instanceof ObjectNode o ? o : request.putObject("stream_options");
      streamOptions.put("include_usage", true);
    }
    request.put("model", model.servedName());

    int maxTokens = request.path("max_completion_tokens").asInt(request.path("max_tokens").asInt(
        request.path("max_output_tokens").asInt(0)));
    JsonNode previous = request.get("previous_response_id");
    JsonNode user = sessionHeader != null && !sessionHeader.isBlank() ? new TextNode(sessionHeader)
        : request.get("user");
    TicketInfo ticket = new TicketInfo("req-" + UUID.randomUUID(), model.name(), key.id(), key.organization(),
        r.priority(), r.mode(), nowMillis, nowMillis + model.queueTimeout().toMillis(), body.length / 4 + maxTokens,
        key.threshold(), datacenter,
        endpoint == Endpoint.RESPONSES && previous != null && previous.isTextual() ? previous.asText() : null,
        model.prefixAffinity() ? PromptPrefix.blocks(canonicalPrompt(endpoint, request)) : null,
        model.prefixAffinity() && user != null && user.isTextual() && !user.asText().isBlank()
            ? key.id() + ":" + user.asText() : null);
    byte[] upstreamBody;
    try {
      upstreamBody = JSON.writeValueAsBytes(request);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a parsed tree always serialises", e);
    }
    return new Accepted(model, ticket, new UpstreamCall(endpoint.path, upstreamBody, stream, clientWantsUsage));
  }

  /**
   * The prompt as a server's chat template would begin it, for {@link PromptPrefix}: the tools (templates put them
   * in the system prompt), then each message's role and content in order; a completion's prompt; a Responses call's
   * instructions and input. A conversation's next turn begins with its last one's text. Empty for the other kinds of
   * work, whose servers cache no prefix worth routing for.
   */
  static String canonicalPrompt(Endpoint endpoint, ObjectNode request) {
    StringBuilder sb = new StringBuilder();
    switch (endpoint) {
      case CHAT -> {
        JsonNode tools = request.get("tools");
        if (tools != null && !tools.isNull()) {
          sb.append(tools).append('\n');
        }
        for (JsonNode m : request.path("messages")) {
          JsonNode content = m.path("content");
          sb.append(m.path("role").asText()).append('\n')
              .append(content.isTextual() ? content.asText() : content.toString()).append('\n');
        }
      }
      case COMPLETIONS -> {
        JsonNode prompt = request.path("prompt");
        sb.append(prompt.isTextual() ? prompt.asText() : prompt.toString());
      }
      case RESPONSES -> {
        JsonNode input = request.path("input");
        sb.append(request.path("instructions").asText("")).append('\n')
            .append(input.isTextual() ? input.asText() : input.toString());
      }
      default -> {
        // embeddings, rerank, audio: no prefix to route by
      }
    }
    return sb.toString();
  }

  /**
   * A speech-to-text request whose multipart body the edge already wrote to disk, with {@code model} renamed and the
   * dispatcher's fields left out: its ticket and call.
   *
   * @param fields the form's text fields as the client sent them ({@code model}, {@code stream}, {@code priority},
   *     {@code routing-mode}, ...)
   * @param contentType the rewritten body's content type (its boundary included)
   * @param bodyBytes the rewritten body's length
   * @param audioSeconds the audio's duration as read from the file, -1 when it could not be
   */
  public static Parsed audio(Endpoint endpoint, Map<String, String> fields, ApiKey key,
      Function<String, Optional<ModelConfig>> models, BiPredicate<String, String> hostsModel, long nowMillis,
      String datacenter, String contentType, long bodyBytes, double audioSeconds) {
    String modelName = fields.get("model");
    if (modelName == null || modelName.isBlank()) {
      return invalid("You must provide a model parameter.", "model", "missing_required_parameter");
    }
    String priority = fields.get("priority");
    Integer askedPriority = null;
    if (priority != null) {
      try {
        askedPriority = Integer.parseInt(priority.strip());
      } catch (NumberFormatException e) {
        askedPriority = 0;
      }
    }
    Parsed routed = route(endpoint, modelName, askedPriority, fields.get("routing-mode"), false, key, models,
        hostsModel);
    if (routed instanceof Invalid invalid) {
      return invalid;
    }
    Routed r = (Routed) routed;
    boolean stream = Boolean.parseBoolean(fields.getOrDefault("stream", "false").strip());
    // A second of audio is about 50 tokens of the encoder's input; the text, a few tokens a second.
    int estimate = audioSeconds > 0 ? (int) Math.min(Integer.MAX_VALUE, Math.round(audioSeconds * 53)) : 1500;
    TicketInfo ticket = new TicketInfo("req-" + UUID.randomUUID(), r.model().name(), key.id(), key.organization(),
        r.priority(), r.mode(), nowMillis, nowMillis + r.model().queueTimeout().toMillis(), estimate,
        key.threshold(), datacenter);
    return new Accepted(r.model(), ticket, new UpstreamCall(endpoint.path, new byte[0], stream, false, contentType,
        true, bodyBytes, audioSeconds));
  }

  /** What every endpoint decides the same way: the model, and the ticket's priority and routing mode. */
  record Routed(ModelConfig model, int priority, RoutingMode mode) implements Parsed {}

  /**
   * @param askedPriority the body's {@code priority}, null when absent, below 1 when not a whole number from 1
   * @param askedMode the body's {@code routing-mode}, null when absent
   * @param flex whether the body asks for {@code service_tier: flex} (the lowest priority)
   */
  static Parsed route(Endpoint endpoint, String modelName, Integer askedPriority, String askedMode, boolean flex,
      ApiKey key, Function<String, Optional<ModelConfig>> models, BiPredicate<String, String> hostsModel) {
    Optional<ModelConfig> found = models.apply(modelName).filter(key::sees);
    if (found.isEmpty()) {
      return new Invalid(404, OpenAiError.invalidRequest("The model '" + modelName + "' does not exist or you do not "
          + "have access to it.", "model", "model_not_found"));
    }
    ModelConfig model = found.get();
    if (model.type() != endpoint.type) {
      return invalid("The model '" + modelName + "' is of type " + model.type().wireName() + " and does not serve "
          + endpoint.path + "; it serves " + String.join(", ", model.type().endpoints()) + ".", "model",
          "model_type_mismatch");
    }
    int priority = key.priority();
    if (askedPriority != null) {
      if (askedPriority < 1) {
        return invalid("'priority' must be a whole number from 1 (lowest) to " + BEST_PRIORITY + ".", "priority",
            "invalid_value");
      }
      priority = Math.min(priority, askedPriority);
    }
    if (flex) {
      priority = 1;
    }
    RoutingMode mode = key.defaultRoutingMode();
    if (askedMode != null) {
      Optional<RoutingMode> asked = RoutingMode.fromWireName(askedMode);
      if (asked.isEmpty()) {
        return invalid("'routing-mode' must be one of any, private-first, private-only.", "routing-mode",
            "invalid_value");
      }
      mode = asked.get();
    }
    if (mode != RoutingMode.ANY && !hostsModel.test(key.organization(), model.name())) {
      return invalid("Routing mode '" + mode.wireName() + "' needs servers of your organisation ('"
          + key.organization() + "') for model '" + model.name() + "', and it has none.", "routing-mode",
          "no_private_server");
    }
    return new Routed(model, priority, mode);
  }

  /** The endpoint's required input, checked before any model is looked up (as OpenAI's API does). */
  private static Optional<Invalid> missingInput(Endpoint endpoint, ObjectNode request) {
    if (endpoint == Endpoint.SCORE && request.has("queries") && request.has("documents")) {
      return Optional.empty(); // vLLM's newer names for text_1 and text_2
    }
    for (String field : endpoint.inputFields) {
      JsonNode input = request.get(field);
      boolean empty = input == null || input.isNull() || input.isArray() && input.isEmpty()
          || input.isTextual() && input.asText().isEmpty() && endpoint == Endpoint.EMBEDDINGS;
      if (empty || endpoint == Endpoint.CHAT && !input.isArray()
          || field.equals("documents") && !input.isArray()) {
        return Optional.of(invalid("Missing required parameter: '" + field + "'"
            + (field.equals("messages") || field.equals("documents") ? " (a non-empty array)." : "."), field,
            "missing_required_parameter"));
      }
    }
    return Optional.empty();
  }

  private static Invalid invalid(String message, String param, String code) {
    return new Invalid(400, OpenAiError.invalidRequest(message, param, code));
  }
}
