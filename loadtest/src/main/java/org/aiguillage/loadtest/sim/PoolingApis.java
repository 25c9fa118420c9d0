package org.aiguillage.loadtest.sim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.aiguillage.protocol.Json;
import org.apache.pekko.http.javadsl.model.HttpResponse;

/**
 * vLLM's pooling APIs as the simulator serves them: embeddings (a fixed dimension, deterministic per input, unit
 * length), rerank (Jina/Cohere's shape, at {@code /v1/rerank} and {@code /v2/rerank}) and score. Each is one prefill
 * of its inputs' tokens through the engine, so it takes a slot and a step like vLLM's.
 */
final class PoolingApis {

  /** bge-m3's dimension. */
  static final int DIMENSION = 1024;

  private final Engine engine;
  private final String model;

  PoolingApis(Engine engine, String model) {
    this.engine = engine;
    this.model = model;
  }

  CompletionStage<HttpResponse> embeddings(JsonNode req) {
    List<String> inputs = new ArrayList<>();
    JsonNode input = req.path("input");
    if (input.isTextual()) {
      inputs.add(input.asText());
    } else if (input.isArray() && !input.isEmpty() && input.get(0).isNumber()) {
      inputs.add(input.toString()); // one input of token ids
    } else if (input.isArray()) {
      input.forEach(i -> inputs.add(i.isTextual() ? i.asText() : i.toString()));
    }
    if (inputs.isEmpty()) {
      return bad("'input' must be a string, an array of strings or of token ids.");
    }
    int dimension = req.path("dimensions").asInt(DIMENSION);
    boolean base64 = "base64".equals(req.path("encoding_format").asText());
    int tokens = inputs.stream().mapToInt(i -> Math.max(1, SimulatedText.countTokens(i))).sum();
    return afterPrefill(tokens, () -> {
      ObjectNode answer = head("embd-", "list");
      ArrayNode data = answer.putArray("data");
      for (int i = 0; i < inputs.size(); i++) {
        float[] vector = embedding(inputs.get(i), dimension);
        ObjectNode item = data.addObject().put("index", i).put("object", "embedding");
        if (base64) {
          ByteBuffer bytes = ByteBuffer.allocate(vector.length * 4).order(ByteOrder.LITTLE_ENDIAN);
          for (float v : vector) {
            bytes.putFloat(v);
          }
          item.put("embedding", Base64.getEncoder().encodeToString(bytes.array()));
        } else {
          ArrayNode values = item.putArray("embedding");
          for (float v : vector) {
            values.add(v);
          }
        }
      }
      answer.putObject("usage").put("prompt_tokens", tokens).put("total_tokens", tokens)
          .put("completion_tokens", 0).putNull("prompt_tokens_details");
      return answer;
    });
  }

  /** {@code /v1/rerank} and {@code /v2/rerank}: the documents by relevance to the query, the best first. */
  CompletionStage<HttpResponse> rerank(JsonNode req) {
    String query = req.path("query").asText("");
    List<String> documents = texts(req.path("documents"));
    if (query.isEmpty() || documents.isEmpty()) {
      return bad("'query' and a non-empty 'documents' are required.");
    }
    int topN = req.path("top_n").asInt(documents.size());
    int tokens = documents.stream().mapToInt(d -> SimulatedText.countTokens(query) + SimulatedText.countTokens(d))
        .sum();
    return afterPrefill(tokens, () -> {
      List<Integer> order = new ArrayList<>();
      for (int i = 0; i < documents.size(); i++) {
        order.add(i);
      }
      order.sort(Comparator.comparingDouble((Integer i) -> -relevance(query, documents.get(i))));
      ObjectNode answer = Json.MAPPER.createObjectNode().put("id", "rerank-" + Long.toHexString(System.nanoTime()))
          .put("model", model);
      answer.putObject("usage").put("total_tokens", tokens);
      ArrayNode results = answer.putArray("results");
      for (int i : order.subList(0, Math.max(0, Math.min(topN, order.size())))) {
        ObjectNode r = results.addObject().put("index", i);
        r.putObject("document").put("text", documents.get(i));
        r.put("relevance_score", relevance(query, documents.get(i)));
      }
      return answer;
    });
  }

  /** {@code /v1/score}: {@code text_1} against each {@code text_2} (or {@code queries} and {@code documents}). */
  CompletionStage<HttpResponse> score(JsonNode req) {
    List<String> first = texts(req.has("queries") ? req.path("queries") : req.path("text_1"));
    List<String> second = texts(req.has("documents") ? req.path("documents") : req.path("text_2"));
    if (first.isEmpty() || second.isEmpty() || first.size() != 1 && first.size() != second.size()) {
      return bad("'text_1' must be one text or as many as 'text_2'.");
    }
    int tokens = 0;
    for (int i = 0; i < second.size(); i++) {
      tokens += SimulatedText.countTokens(first.get(first.size() == 1 ? 0 : i))
          + SimulatedText.countTokens(second.get(i));
    }
    int total = tokens;
    return afterPrefill(tokens, () -> {
      ObjectNode answer = head("score-", "list");
      ArrayNode data = answer.putArray("data");
      for (int i = 0; i < second.size(); i++) {
        data.addObject().put("index", i).put("object", "score")
            .put("score", relevance(first.get(first.size() == 1 ? 0 : i), second.get(i)));
      }
      answer.putObject("usage").put("prompt_tokens", total).put("total_tokens", total).put("completion_tokens", 0);
      return answer;
    });
  }

  /** A unit vector from the text's hash: the same text, the same vector. */
  static float[] embedding(String text, int dimension) {
    Random random = new Random(text.hashCode() * 31L + text.length());
    float[] v = new float[dimension];
    double norm = 0;
    for (int i = 0; i < dimension; i++) {
      v[i] = (float) random.nextGaussian();
      norm += v[i] * v[i];
    }
    float scale = (float) (1 / Math.sqrt(norm));
    for (int i = 0; i < dimension; i++) {
      v[i] *= scale;
    }
    return v;
  }

  /** The share of the query's words the document holds, with a little of the document's hash to break ties. */
  static double relevance(String query, String document) {
    Set<String> words = new HashSet<>(List.of(query.toLowerCase().split("\\W+")));
    words.remove("");
    Set<String> found = new HashSet<>(List.of(document.toLowerCase().split("\\W+")));
    long shared = words.stream().filter(found::contains).count();
    double tie = Math.floorMod(document.hashCode(), 1000) / 100_000.0;
    return Math.min(1, (words.isEmpty() ? 0 : shared / (double) words.size()) * 0.98 + tie);
  }

  private static List<String> texts(JsonNode node) {
    List<String> texts = new ArrayList<>();
    if (node.isTextual()) {
      texts.add(node.asText());
    } else if (node.isArray()) {
      node.forEach(d -> texts.add(d.isTextual() ? d.asText() : d.path("text").asText(d.toString())));
    }
    return texts;
  }

  private ObjectNode head(String idPrefix, String object) {
    return Json.MAPPER.createObjectNode().put("id", idPrefix + Long.toHexString(System.nanoTime()))
        .put("object", object).put("created", System.currentTimeMillis() / 1000).put("model", model);
  }

  /** The answer once the engine has run the inputs' prefill, as vLLM answers a pooling request. */
  private CompletionStage<HttpResponse> afterPrefill(int tokens, java.util.function.Supplier<ObjectNode> answer) {
    CompletableFuture<HttpResponse> done = new CompletableFuture<>();
    engine.submit(new Scheduler.Request(Math.max(1, tokens), 1, tokens, new Engine.Sink() {
      @Override
      public void token(int index, String text) {}

      @Override
      public void finished(String finishReason, int promptTokens, int completionTokens) {
        try {
          done.complete(VllmSimulator.json(200, Json.MAPPER.writeValueAsString(answer.get())));
        } catch (Exception e) {
          done.complete(VllmSimulator.error(500, "simulator failure: " + e, "InternalServerError"));
        }
      }
    }));
    return done;
  }

  private static CompletionStage<HttpResponse> bad(String message) {
    return CompletableFuture.completedFuture(VllmSimulator.error(400, message, "BadRequestError"));
  }
}
