package org.aiguillage.loadtest.sim;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.aiguillage.protocol.Json;
import org.aiguillage.protocol.audio.WavHeader;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.Multipart;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * Speech to text as vLLM serves Whisper: {@code /v1/audio/transcriptions} and {@code /v1/audio/translations}, a
 * multipart form with the file. The audio's duration (from a WAV header, else from its size at 16 kB/s) sets the
 * work: an encoder prefill of 50 tokens a second, then about 3 text tokens a second of speech. Answers in each
 * {@code response_format} (json with its usage in seconds, verbose_json, text, srt, vtt), or streamed ({@code
 * stream=true}) as vLLM's {@code transcription.chunk} events.
 */
final class AudioApi {

  private final Engine engine;
  private final String model;
  private final Materializer materializer;

  AudioApi(Engine engine, String model, Materializer materializer) {
    this.engine = engine;
    this.model = model;
    this.materializer = materializer;
  }

  CompletionStage<HttpResponse> serve(HttpEntity entity, boolean translate) {
    return Unmarshaller.entityToMultipartFormData().unmarshal(entity, materializer)
        .thenCompose(form -> form.toStrict(30_000, materializer))
        .thenCompose(form -> {
          Map<String, String> fields = new HashMap<>();
          ByteString[] file = {null};
          for (Multipart.FormData.BodyPart.Strict part : form.getStrictParts()) {
            if (part.getFilename().isPresent()) {
              file[0] = part.getEntity().getData();
            } else {
              fields.put(part.getName(), part.getEntity().getData().utf8String());
            }
          }
          return answer(fields, file[0], translate);
        })
        .exceptionally(failure -> VllmSimulator.error(400, "Invalid multipart form: " + failure.getMessage(),
            "BadRequestError"));
  }

  private CompletionStage<HttpResponse> answer(Map<String, String> fields, ByteString file, boolean translate) {
    if (file == null) {
      return CompletableFuture.completedFuture(VllmSimulator.error(400, "'file' is required.", "BadRequestError"));
    }
    if (!model.equals(fields.get("model"))) {
      return CompletableFuture.completedFuture(VllmSimulator.error(404, "The model `" + fields.get("model")
          + "` does not exist.", "NotFoundError"));
    }
    byte[] prefix = file.slice(0, Math.min(file.size(), WavHeader.PREFIX_BYTES)).toArray();
    double wav = WavHeader.seconds(prefix, file.size());
    double seconds = wav >= 0 ? wav : file.size() / 16_000.0;
    int promptTokens = (int) Math.max(1, Math.ceil(seconds * 50));
    int textTokens = (int) Math.max(1, Math.ceil(seconds * 3));
    String format = fields.getOrDefault("response_format", "json");
    long seed = SimulatedText.seed(fields.getOrDefault("prompt", "") + file.size());
    String id = (translate ? "trsl-" : "trsc-") + Long.toHexString(System.nanoTime());
    if (Boolean.parseBoolean(fields.getOrDefault("stream", "false"))) {
      return CompletableFuture.completedFuture(streamed(id, promptTokens, textTokens, seed,
          Boolean.parseBoolean(fields.getOrDefault("stream_include_usage", "false"))));
    }
    CompletableFuture<HttpResponse> done = new CompletableFuture<>();
    StringBuilder text = new StringBuilder();
    engine.submit(new Scheduler.Request(promptTokens, textTokens, seed, new Engine.Sink() {
      @Override
      public void token(int index, String t) {
        text.append(t);
      }

      @Override
      public void finished(String finishReason, int prompt, int completion) {
        done.complete(formatted(format, text.toString(), seconds, translate));
      }
    }));
    return done;
  }

  private static HttpResponse formatted(String format, String text, double seconds, boolean translate) {
    String end = timestamp(seconds, ",");
    return switch (format) {
      case "text" -> HttpResponse.create().withEntity(ContentTypes.TEXT_PLAIN_UTF8, text + "\n");
      case "srt" -> HttpResponse.create().withEntity(ContentTypes.TEXT_PLAIN_UTF8,
          "1\n00:00:00,000 --> " + end + "\n" + text + "\n\n");
      case "vtt" -> HttpResponse.create().withEntity(ContentTypes.TEXT_PLAIN_UTF8,
          "WEBVTT\n\n00:00:00.000 --> " + timestamp(seconds, ".") + "\n" + text + "\n\n");
      case "verbose_json" -> {
        ObjectNode answer = Json.MAPPER.createObjectNode().put("task", translate ? "translate" : "transcribe")
            .put("language", translate ? "english" : "en").put("duration", seconds).put("text", text);
        answer.putArray("segments").addObject().put("id", 0).put("seek", 0).put("start", 0.0).put("end", seconds)
            .put("text", text).put("temperature", 0.0).put("avg_logprob", -0.2).put("compression_ratio", 1.2)
            .put("no_speech_prob", 0.01).putArray("tokens");
        yield VllmSimulator.json(200, answer.toString());
      }
      default -> {
        ObjectNode answer = Json.MAPPER.createObjectNode().put("text", text);
        answer.putObject("usage").put("type", "duration").put("seconds", Math.ceil(seconds));
        yield VllmSimulator.json(200, answer.toString());
      }
    };
  }

  private HttpResponse streamed(String id, int promptTokens, int textTokens, long seed, boolean includeUsage) {
    Pair<BoundedSourceQueue<ByteString>, Source<ByteString, NotUsed>> pair =
        Source.<ByteString>queue(textTokens + 8).preMaterialize(materializer);
    BoundedSourceQueue<ByteString> out = pair.first();
    String head = "data: {\"id\":\"" + id + "\",\"object\":\"transcription.chunk\",\"created\":"
        + System.currentTimeMillis() / 1000 + ",\"model\":" + VllmSimulator.quoted(model) + ",\"choices\":[";
    Scheduler.Request[] self = new Scheduler.Request[1];
    self[0] = new Scheduler.Request(promptTokens, textTokens, seed, new Engine.Sink() {
      @Override
      public void token(int index, String t) {
        boolean last = index + 1 >= textTokens;
        out.offer(ByteString.fromString(head + "{\"delta\":{\"content\":\"" + VllmSimulator.escaped(t)
            + "\"},\"finish_reason\":" + (last ? "\"stop\"" : "null") + ",\"stop_reason\":null}]}\n\n"));
      }

      @Override
      public void finished(String finishReason, int prompt, int completion) {
        if (includeUsage) {
          out.offer(ByteString.fromString(head + "],\"usage\":{\"prompt_tokens\":" + prompt
              + ",\"completion_tokens\":" + completion + ",\"total_tokens\":" + (prompt + completion) + "}}\n\n"));
        }
        out.offer(ByteString.fromString("data: [DONE]\n\n"));
        out.complete();
      }
    });
    return VllmSimulator.sse(engine, pair, self[0]);
  }

  private static String timestamp(double seconds, String separator) {
    long millis = Math.round(seconds * 1000);
    return String.format("%02d:%02d:%02d%s%03d", millis / 3_600_000, millis / 60_000 % 60, millis / 1000 % 60,
        separator, millis % 1000);
  }
}
