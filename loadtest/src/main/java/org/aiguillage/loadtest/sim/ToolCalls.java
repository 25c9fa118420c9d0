package org.aiguillage.loadtest.sim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Iterator;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.aiguillage.protocol.Json;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * Tool calls as vLLM answers them with a tool parser: a chat that offers {@code tools} and whose last message is not
 * a tool's result is answered by a call of the first tool (the one {@code tool_choice} names, if it does), its one
 * argument (the first property of its parameters, else {@code input}) holding the user's last words; streamed, the
 * call's name comes first and its arguments in three pieces cut anywhere. After a tool's result, the chat answers
 * with text as usual.
 */
final class ToolCalls {

  private final Engine engine;
  private final Materializer materializer;

  ToolCalls(Engine engine, Materializer materializer) {
    this.engine = engine;
    this.materializer = materializer;
  }

  /** Whether this chat is answered with a tool call. */
  static boolean wanted(JsonNode req) {
    JsonNode tools = req.path("tools");
    JsonNode messages = req.path("messages");
    return tools.isArray() && !tools.isEmpty() && !"none".equals(req.path("tool_choice").asText())
        && messages.size() > 0 && !"tool".equals(messages.get(messages.size() - 1).path("role").asText());
  }

  CompletionStage<HttpResponse> answer(JsonNode req, String id, long created, String quotedModel, int promptTokens,
      boolean stream, boolean includeUsage) {
    JsonNode tool = chosen(req);
    String name = tool.path("function").path("name").asText();
    Iterator<String> properties = tool.path("function").path("parameters").path("properties").fieldNames();
    ObjectNode arguments = Json.MAPPER.createObjectNode()
        .put(properties.hasNext() ? properties.next() : "input", lastUserText(req.path("messages")));
    String json = arguments.toString();
    String callId = "chatcmpl-tool-" + Long.toHexString(System.nanoTime());
    String head = "data: {\"id\":\"" + id + "\",\"object\":\"chat.completion.chunk\",\"created\":" + created
        + ",\"model\":" + quotedModel + ",\"choices\":[";
    if (!stream) {
      CompletableFuture<HttpResponse> answer = new CompletableFuture<>();
      engine.submit(new Scheduler.Request(promptTokens, 3, json.hashCode(), new Engine.Sink() {
        @Override
        public void token(int index, String text) {}

        @Override
        public void finished(String finishReason, int prompt, int completion) {
          answer.complete(VllmSimulator.json(200, "{\"id\":\"" + id + "\",\"object\":\"chat.completion\","
              + "\"created\":" + created + ",\"model\":" + quotedModel + ",\"choices\":[{\"index\":0,\"message\":"
              + "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"" + callId + "\",\"type\":"
              + "\"function\",\"function\":{\"name\":" + VllmSimulator.quoted(name) + ",\"arguments\":"
              + VllmSimulator.quoted(json) + "}}]},\"logprobs\":null,\"finish_reason\":\"tool_calls\","
              + "\"stop_reason\":null}],\"usage\":{\"prompt_tokens\":" + prompt + ",\"total_tokens\":"
              + (prompt + completion) + ",\"completion_tokens\":" + completion + "}}"));
        }
      }));
      return answer;
    }
    Pair<BoundedSourceQueue<ByteString>, Source<ByteString, NotUsed>> pair =
        Source.<ByteString>queue(16).preMaterialize(materializer);
    BoundedSourceQueue<ByteString> out = pair.first();
    int third = Math.max(1, json.length() / 3);
    String[] pieces = {json.substring(0, third), json.substring(third, 2 * third), json.substring(2 * third)};
    Scheduler.Request request = new Scheduler.Request(promptTokens, 4, json.hashCode(), new Engine.Sink() {
      @Override
      public void token(int index, String text) {
        String delta = index == 0
            ? "{\"role\":\"assistant\",\"tool_calls\":[{\"index\":0,\"id\":\"" + callId + "\",\"type\":\"function\","
                + "\"function\":{\"name\":" + VllmSimulator.quoted(name) + ",\"arguments\":\"\"}}]}"
            : "{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":" + VllmSimulator.quoted(pieces[index - 1])
                + "}}]}";
        out.offer(ByteString.fromString(head + "{\"index\":0,\"delta\":" + delta + ",\"logprobs\":null,"
            + "\"finish_reason\":" + (index == 3 ? "\"tool_calls\"" : "null") + "}]}\n\n"));
      }

      @Override
      public void finished(String finishReason, int prompt, int completion) {
        if (includeUsage) {
          out.offer(ByteString.fromString(head + "],\"usage\":{\"prompt_tokens\":" + prompt + ",\"total_tokens\":"
              + (prompt + completion) + ",\"completion_tokens\":" + completion + "}}\n\n"));
        }
        out.offer(ByteString.fromString("data: [DONE]\n\n"));
        out.complete();
      }
    });
    return CompletableFuture.completedFuture(VllmSimulator.sse(engine, pair, request));
  }

  private static JsonNode chosen(JsonNode req) {
    String named = req.path("tool_choice").path("function").path("name").asText("");
    for (JsonNode tool : req.path("tools")) {
      if (tool.path("function").path("name").asText().equals(named)) {
        return tool;
      }
    }
    return req.path("tools").get(0);
  }

  private static String lastUserText(JsonNode messages) {
    for (int i = messages.size() - 1; i >= 0; i--) {
      JsonNode m = messages.get(i);
      if ("user".equals(m.path("role").asText())) {
        JsonNode content = m.path("content");
        if (content.isTextual()) {
          return content.asText();
        }
        StringBuilder sb = new StringBuilder();
        content.forEach(part -> sb.append(part.path("text").asText("")));
        return sb.toString();
      }
    }
    return "";
  }
}
