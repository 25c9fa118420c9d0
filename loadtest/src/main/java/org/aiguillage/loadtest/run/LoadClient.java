package org.aiguillage.loadtest.run;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.aiguillage.loadtest.sim.CallTimings;

/**
 * Sends one streamed chat completion to any OpenAI-compatible endpoint and times it. Reading an SSE line costs a
 * few string searches, no JSON parsing, so the load generator stays light beside what it measures.
 */
public final class LoadClient {

  private static final Pattern COMPLETION_TOKENS = Pattern.compile("\"completion_tokens\"\\s*:\\s*(\\d+)");
  private static final Pattern PROMPT_TOKENS = Pattern.compile("\"prompt_tokens\"\\s*:\\s*(\\d+)");
  private static final String[] VOCABULARY = ("the a federation of universities shares its GPU servers so that "
      + "students and researchers can ask models questions about physics chemistry history law and code while "
      + "every request waits its turn by priority").split(" ");

  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
  private final List<URI> uris;
  private final AtomicInteger next = new AtomicInteger();
  private final String model;
  private final boolean ignoreEos;

  /**
   * @param baseUrls one endpoint, or several separated by commas: requests then take them in turn, and one that
   *     refuses the connection is skipped for the next, as a load balancer with health checks would
   */
  public LoadClient(String baseUrls, String model, boolean ignoreEos) {
    List<URI> list = new ArrayList<>();
    for (String baseUrl : baseUrls.split(",")) {
      String base = baseUrl.trim().endsWith("/") ? baseUrl.trim().substring(0, baseUrl.trim().length() - 1)
          : baseUrl.trim();
      list.add(URI.create((base.endsWith("/v1") ? base : base + "/v1") + "/chat/completions"));
    }
    this.uris = List.copyOf(list);
    this.model = model;
    this.ignoreEos = ignoreEos;
  }

  /** A prompt of {@code tokens} words, the same for the same seed. */
  public static String prompt(Random random, int tokens) {
    StringBuilder sb = new StringBuilder(tokens * 7);
    for (int i = 0; i < tokens; i++) {
      sb.append(i == 0 ? "" : " ").append(VOCABULARY[random.nextInt(VOCABULARY.length)]);
    }
    return sb.toString();
  }

  String body(String prompt, int maxTokens, Map<String, String> extraFields) {
    return body(List.of(new Conversation.Message("user", prompt)), maxTokens, extraFields);
  }

  /** A streamed chat of these messages (their words need no escaping: the load generator's own vocabulary). */
  String body(List<Conversation.Message> messages, int maxTokens, Map<String, String> extraFields) {
    StringBuilder sb = new StringBuilder(256 + messages.stream().mapToInt(m -> m.content().length() + 40).sum());
    sb.append("{\"model\":\"").append(model).append("\",\"messages\":[");
    for (int i = 0; i < messages.size(); i++) {
      sb.append(i == 0 ? "" : ",").append("{\"role\":\"").append(messages.get(i).role())
          .append("\",\"content\":\"").append(messages.get(i).content()).append("\"}");
    }
    sb.append("],\"max_tokens\":").append(maxTokens)
        .append(",\"stream\":true,\"stream_options\":{\"include_usage\":true}");
    if (ignoreEos) {
      sb.append(",\"ignore_eos\":true");
    }
    extraFields.forEach((k, v) -> sb.append(",\"").append(k).append("\":")
        .append(v.matches("-?\\d+") ? v : "\"" + v + "\""));
    return sb.append('}').toString();
  }

  /** Sends the request and blocks until its answer ended; never throws. */
  public RequestRecord send(KeyClass keyClass, int concurrency, String prompt, int maxTokens, long runStartNanos,
      Duration timeout) {
    return send(keyClass, concurrency, body(prompt, maxTokens, keyClass.extraFields()), runStartNanos, timeout);
  }

  /** Sends a turn of a conversation: its history, its session as the OpenAI {@code user} field. */
  public RequestRecord send(KeyClass keyClass, int concurrency, Conversation conversation, int maxTokens,
      long runStartNanos, Duration timeout) {
    Map<String, String> fields = new java.util.LinkedHashMap<>(keyClass.extraFields());
    fields.putIfAbsent("user", conversation.session());
    return send(keyClass, concurrency, body(conversation.messages(), maxTokens, fields), runStartNanos, timeout);
  }

  private RequestRecord send(KeyClass keyClass, int concurrency, String body, long runStartNanos, Duration timeout) {
    long start = System.nanoTime();
    long sentEpochMicros = CallTimings.nowMicros();
    String responseId = "";
    List<Double> chunks = new ArrayList<>();
    int status = 0;
    int promptTokens = 0;
    int outputTokens = -1;
    String error = "";
    try {
      HttpResponse<InputStream> response = connect(keyClass, body, timeout);
      status = response.statusCode();
      try (BufferedReader reader = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
        if (status != 200) {
          error = firstLine(reader);
        } else {
          for (String line = reader.readLine(); line != null; line = reader.readLine()) {
            if (!line.startsWith("data:")) {
              continue;
            }
            if (line.contains("[DONE]")) {
              // Read to the end of the body, as SDK clients do, so that the connection is kept alive.
              while (reader.readLine() != null) {
                // nothing after [DONE] but the stream's end
              }
              break;
            }
            if (responseId.isEmpty()) {
              responseId = idOf(line);
            }
            if (carriesOutput(line)) {
              chunks.add(ms(System.nanoTime(), runStartNanos));
            }
            if (line.contains("\"usage\":{") || line.contains("\"usage\": {")) {
              outputTokens = group(COMPLETION_TOKENS, line, outputTokens);
              promptTokens = group(PROMPT_TOKENS, line, promptTokens);
            }
            if (line.contains("\"error\"")) {
              error = "stream ended with an error event";
            }
          }
        }
      }
    } catch (IOException e) {
      error = e.getClass().getSimpleName() + ": " + e.getMessage();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      error = "interrupted";
    }
    if (status == 200 && chunks.isEmpty() && error.isEmpty()) {
      error = "no output";
    }
    double end = ms(System.nanoTime(), runStartNanos);
    return new RequestRecord(keyClass.label(), concurrency, ms(start, runStartNanos),
        chunks.isEmpty() ? -1 : chunks.get(0), end, chunks, promptTokens,
        outputTokens >= 0 ? outputTokens : chunks.size(), status, error, responseId, sentEpochMicros);
  }

  /** The {@code "id"} of a chunk, or "" when the line has none. */
  static String idOf(String line) {
    int i = line.indexOf("\"id\":\"");
    if (i < 0) {
      return "";
    }
    int end = line.indexOf('"', i + 6);
    return end < 0 ? "" : line.substring(i + 6, end);
  }

  /** Sends to the next endpoint in turn; one that refuses the connection (it is down) passes to the next. */
  private HttpResponse<InputStream> connect(KeyClass keyClass, String body, Duration timeout)
      throws IOException, InterruptedException {
    int first = Math.floorMod(next.getAndIncrement(), uris.size());
    for (int i = 0; ; i++) {
      URI uri = uris.get((first + i) % uris.size());
      try {
        return http.send(HttpRequest.newBuilder(uri).timeout(timeout)
            .header("Authorization", "Bearer " + keyClass.key()).header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofInputStream());
      } catch (java.net.ConnectException e) {
        if (i + 1 >= uris.size()) {
          throw e;
        }
      }
    }
  }

  /** A chunk with a non-empty content or text delta (the role chunk carries none). */
  static boolean carriesOutput(String line) {
    int i = line.indexOf("\"content\":\"");
    int skip = 11;
    if (i < 0) {
      i = line.indexOf("\"text\":\"");
      skip = 8;
    }
    return i >= 0 && i + skip < line.length() && line.charAt(i + skip) != '"';
  }

  private static int group(Pattern p, String line, int otherwise) {
    Matcher m = p.matcher(line);
    return m.find() ? Integer.parseInt(m.group(1)) : otherwise;
  }

  private static String firstLine(BufferedReader reader) throws IOException {
    String line = reader.readLine();
    return line == null ? "" : line.length() > 300 ? line.substring(0, 300) : line;
  }

  private static double ms(long nanos, long origin) {
    return (nanos - origin) / 1e6;
  }
}
