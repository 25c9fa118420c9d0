package org.aiguillage.loadtest.sim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicLong;
import org.aiguillage.protocol.Json;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * The Responses API as vLLM serves it: a text answer, whole or as the named events of OpenAI's stream ({@code
 * response.created} ... {@code response.completed}, no {@code [DONE]}). The server keeps the responses it made, so
 * {@code previous_response_id} works only on the server that answered it: any other answers 404, as vLLM does.
 */
final class ResponsesApi {

  /** How many responses a server keeps for follow-ups. */
  private static final int KEPT = 10_000;

  private final Engine engine;
  private final String model;
  private final Materializer materializer;
  private final AtomicLong ids = new AtomicLong();
  private final Map<String, String> kept = Collections.synchronizedMap(new LinkedHashMap<>(256, 0.75f, false) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
      return size() > KEPT;
    }
  });

  ResponsesApi(Engine engine, String model, Materializer materializer) {
    this.engine = engine;
    this.model = model;
    this.materializer = materializer;
  }

  /** Whether this server answered the response with this id. */
  boolean keeps(String responseId) {
    return kept.containsKey(responseId);
  }

  CompletionStage<HttpResponse> create(JsonNode req, int maxModelLen, int defaultMaxTokens) {
    String previous = req.path("previous_response_id").asText(null);
    if (previous != null && !kept.containsKey(previous)) {
      return CompletableFuture.completedFuture(VllmSimulator.error(404, "Response with id '" + previous
          + "' not found.", "NotFoundError"));
    }
    String prompt = (previous == null ? "" : kept.get(previous) + " ") + req.path("instructions").asText("") + " "
        + inputText(req.path("input"));
    int promptTokens = SimulatedText.countTokens(prompt) + 4;
    int maxTokens = req.path("max_output_tokens").asInt(Math.min(defaultMaxTokens, maxModelLen - promptTokens));
    if (maxTokens < 1 || promptTokens + maxTokens > maxModelLen) {
      return CompletableFuture.completedFuture(VllmSimulator.error(400, "This model's maximum context length is "
          + maxModelLen + " tokens.", "BadRequestError"));
    }
    String id = "resp_" + Long.toHexString(System.nanoTime()) + ids.incrementAndGet();
    String messageId = "msg_" + Long.toHexString(System.nanoTime());
    long created = System.currentTimeMillis() / 1000;
    long seed = SimulatedText.seed(prompt);
    if (req.path("stream").asBoolean(false)) {
      return CompletableFuture.completedFuture(streamed(id, messageId, created, previous, prompt, promptTokens,
          maxTokens, seed));
    }
    CompletableFuture<HttpResponse> answer = new CompletableFuture<>();
    StringBuilder text = new StringBuilder();
    engine.submit(new Scheduler.Request(promptTokens, maxTokens, seed, new Engine.Sink() {
      @Override
      public void token(int index, String t) {
        text.append(t);
      }

      @Override
      public void finished(String finishReason, int prompt, int completion) {
        kept.put(id, prompt + " " + text);
        ObjectNode response = response(id, created, previous, "completed");
        response.putArray("output").add(message(messageId, "completed", text.toString()));
        usage(response, prompt, completion);
        answer.complete(VllmSimulator.json(200, response.toString()));
      }
    }));
    return answer;
  }

  private HttpResponse streamed(String id, String messageId, long created, String previous, String prompt,
      int promptTokens, int maxTokens, long seed) {
    Pair<BoundedSourceQueue<ByteString>, Source<ByteString, NotUsed>> pair =
        Source.<ByteString>queue(maxTokens + 16).preMaterialize(materializer);
    BoundedSourceQueue<ByteString> out = pair.first();
    int[] sequence = {0};
    StringBuilder text = new StringBuilder();
    Scheduler.Request[] self = new Scheduler.Request[1];
    self[0] = new Scheduler.Request(promptTokens, maxTokens, seed, new Engine.Sink() {
      @Override
      public void token(int index, String t) {
        if (index == 0) {
          ObjectNode inProgress = response(id, created, previous, "in_progress");
          inProgress.putArray("output");
          event(out, sequence, "response.created", o -> o.set("response", inProgress));
          event(out, sequence, "response.in_progress", o -> o.set("response", inProgress));
          event(out, sequence, "response.output_item.added", o -> o.put("output_index", 0)
              .set("item", message(messageId, "in_progress", null)));
          event(out, sequence, "response.content_part.added", o -> part(o, messageId).set("part", textPart("")));
        }
        text.append(t);
        event(out, sequence, "response.output_text.delta", o -> part(o, messageId).put("delta", t)
            .putArray("logprobs"));
      }

      @Override
      public void finished(String finishReason, int prompt, int completion) {
        String all = text.toString();
        kept.put(id, prompt + " " + all);
        event(out, sequence, "response.output_text.done", o -> part(o, messageId).put("text", all)
            .putArray("logprobs"));
        event(out, sequence, "response.content_part.done", o -> part(o, messageId).set("part", textPart(all)));
        event(out, sequence, "response.output_item.done", o -> o.put("output_index", 0)
            .set("item", message(messageId, "completed", all)));
        ObjectNode done = response(id, created, previous, "completed");
        done.putArray("output").add(message(messageId, "completed", all));
        usage(done, prompt, completion);
        event(out, sequence, "response.completed", o -> o.set("response", done));
        out.complete();
      }
    });
    return VllmSimulator.sse(engine, pair, self[0]);
  }

  private static void event(BoundedSourceQueue<ByteString> out, int[] sequence, String type,
      java.util.function.Consumer<ObjectNode> fill) {
    ObjectNode event = Json.MAPPER.createObjectNode().put("type", type).put("sequence_number", sequence[0]++);
    fill.accept(event);
    out.offer(ByteString.fromString("event: " + type + "\ndata: " + event + "\n\n"));
  }

  private static ObjectNode part(ObjectNode event, String messageId) {
    return event.put("item_id", messageId).put("output_index", 0).put("content_index", 0);
  }

  private static ObjectNode textPart(String text) {
    ObjectNode part = Json.MAPPER.createObjectNode().put("type", "output_text").put("text", text);
    part.putArray("annotations");
    return part;
  }

  private static ObjectNode message(String id, String status, String text) {
    ObjectNode item = Json.MAPPER.createObjectNode().put("type", "message").put("id", id).put("status", status)
        .put("role", "assistant");
    if (text == null) {
      item.putArray("content");
    } else {
      item.putArray("content").add(textPart(text));
    }
    return item;
  }

  private ObjectNode response(String id, long created, String previous, String status) {
    ObjectNode r = Json.MAPPER.createObjectNode().put("id", id).put("object", "response").put("created_at", created)
        .put("status", status).put("model", model).putNull("error").putNull("incomplete_details")
        .putNull("instructions").put("parallel_tool_calls", true).put("temperature", 1.0).put("top_p", 1.0)
        .put("tool_choice", "auto").put("previous_response_id", previous).putNull("usage");
    r.putObject("metadata");
    r.putArray("tools");
    return r;
  }

  private static void usage(ObjectNode response, int prompt, int completion) {
    ObjectNode usage = response.putObject("usage").put("input_tokens", prompt).put("output_tokens", completion)
        .put("total_tokens", prompt + completion);
    usage.putObject("input_tokens_details").put("cached_tokens", 0);
    usage.putObject("output_tokens_details").put("reasoning_tokens", 0);
  }

  /** The input's text: a string, or messages whose content is a string or parts with text. */
  private static String inputText(JsonNode input) {
    if (input.isTextual()) {
      return input.asText();
    }
    StringBuilder sb = new StringBuilder();
    for (JsonNode item : input) {
      JsonNode content = item.path("content");
      if (content.isTextual()) {
        sb.append(content.asText()).append(' ');
      } else {
        content.forEach(part -> sb.append(part.path("text").asText("")).append(' '));
      }
    }
    return sb.toString().strip();
  }
}
