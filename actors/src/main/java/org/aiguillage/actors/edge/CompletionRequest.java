package org.aiguillage.actors.edge;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Optional;
import java.util.UUID;
import java.util.function.BiPredicate;
import java.util.function.Function;
import org.aiguillage.protocol.Json;
import org.aiguillage.protocol.RoutingMode;
import org.aiguillage.protocol.config.ModelConfig;
import org.aiguillage.protocol.config.PriorityHandler;
import org.aiguillage.protocol.dispatch.TicketInfo;
import org.aiguillage.protocol.dispatch.UpstreamCall;
import org.aiguillage.protocol.openai.OpenAiError;

/**
 * Reads a client's completion request and turns it into a ticket and the call a server will get.
 *
 * <p>The body passes to the server as the client wrote it, every field we do not model included; only these
 * change: {@code model} becomes the served name; the dispatcher's own fields ({@code priority}, {@code
 * routing-mode}) are removed (or, with {@code priority_handler: vllm}, {@code priority} is set in vLLM's sense);
 * streams always ask for usage, so the dispatcher can count tokens (the agent drops that chunk again when the
 * client did not ask for it).
 */
public final class CompletionRequest {

  /** The two OpenAI endpoints the dispatcher queues. */
  public enum Endpoint {
    CHAT("/v1/chat/completions", "messages"),
    COMPLETIONS("/v1/completions", "prompt");

    final String path;
    final String inputField;

    Endpoint(String path, String inputField) {
      this.path = path;
      this.inputField = inputField;
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

  private CompletionRequest() {}

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
    JsonNode input = request.get(endpoint.inputField);
    if (input == null || input.isNull()
        || endpoint == Endpoint.CHAT && (!input.isArray() || input.isEmpty())) {
      return invalid("Missing required parameter: '" + endpoint.inputField + "'.", endpoint.inputField,
          "missing_required_parameter");
    }
    String modelName = modelNode.asText();
    Optional<ModelConfig> found = models.apply(modelName).filter(key::sees);
    if (found.isEmpty()) {
      return new Invalid(404, OpenAiError.invalidRequest("The model '" + modelName + "' does not exist or you do not "
          + "have access to it.", "model", "model_not_found"));
    }
    ModelConfig model = found.get();

    int priority = key.priority();
    JsonNode priorityNode = request.remove("priority");
    if (priorityNode != null && !priorityNode.isNull()) {
      if (!priorityNode.canConvertToInt() || priorityNode.asInt() < 1) {
        return invalid("'priority' must be a whole number from 1 (lowest) to " + BEST_PRIORITY + ".", "priority",
            "invalid_value");
      }
      priority = Math.min(priority, priorityNode.asInt());
    }
    if ("flex".equals(request.path("service_tier").asText())) {
      priority = 1;
    }
    RoutingMode mode = key.defaultRoutingMode();
    JsonNode modeNode = request.remove("routing-mode");
    if (modeNode != null && !modeNode.isNull()) {
      Optional<RoutingMode> asked = RoutingMode.fromWireName(modeNode.asText());
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
    if (model.priorityHandler() == PriorityHandler.VLLM) {
      request.put("priority", BEST_PRIORITY - priority);
    }

    boolean stream = request.path("stream").asBoolean(false);
    boolean clientWantsUsage = request.path("stream_options").path("include_usage").asBoolean(false);
    if (stream) {
      JsonNode options = request.get("stream_options");
      ObjectNode streamOptions = options instanceof ObjectNode o ? o : request.putObject("stream_options");
      streamOptions.put("include_usage", true);
    }
    request.put("model", model.servedName());

    int maxTokens = request.path("max_completion_tokens").asInt(request.path("max_tokens").asInt(0));
    TicketInfo ticket = new TicketInfo("req-" + UUID.randomUUID(), model.name(), key.id(), key.organization(),
        priority, mode, nowMillis, nowMillis + model.queueTimeout().toMillis(), body.length / 4 + maxTokens,
        key.threshold(), datacenter);
    byte[] upstreamBody;
    try {
      upstreamBody = JSON.writeValueAsBytes(request);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a parsed tree always serialises", e);
    }
    return new Accepted(model, ticket, new UpstreamCall(endpoint.path, upstreamBody, stream, clientWantsUsage));
  }

  private static Invalid invalid(String message, String param, String code) {
    return new Invalid(400, OpenAiError.invalidRequest(message, param, code));
  }
}
