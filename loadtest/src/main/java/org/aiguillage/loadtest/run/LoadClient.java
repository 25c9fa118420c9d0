package org.aiguillage.loadtest.run;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Flow;
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

  /**
   * Its callbacks run where the connection read the bytes (its selector thread): nothing in them blocks, and a hand-off
   * to a pool for each event would cost what it measures.
   */
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10))
      .executor(Runnable::run).build();
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
    Answer answer = new Answer(runStartNanos);
    int status = 0;
    String error = "";
    try {
      status = connect(keyClass, body, timeout, answer).statusCode();
      error = answer.error;
    } catch (IOException e) {
      // A body cut after its headers keeps its status: the cut is the answer's, not a connection's.
      status = answer.status;
      error = e.getClass().getSimpleName() + ": " + e.getMessage();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      error = "interrupted";
    }
    List<Double> chunks = answer.chunks;
    if (status == 200 && chunks.isEmpty() && error.isEmpty()) {
      error = "no output";
    }
    double end = ms(System.nanoTime(), runStartNanos);
    return new RequestRecord(keyClass.label(), concurrency, ms(start, runStartNanos),
        chunks.isEmpty() ? -1 : chunks.get(0), end, chunks, answer.promptTokens,
        answer.outputTokens >= 0 ? answer.outputTokens : chunks.size(), status, error, answer.responseId,
        sentEpochMicros);
  }

  /**
   * An answer's lines as the client's connection reads them: on its selector thread, which times each chunk as it
   * arrives, where a thread per user woken for each event would add its own wake-up to every figure (and, with a
   * thousand users, take a core of the machine it measures). The user's thread wakes once, when the answer ended;
   * what this wrote is visible to it then (the response's future completes after {@link #onComplete}).
   */
  private static final class Answer implements Flow.Subscriber<String> {
    private final long runStartNanos;
    final List<Double> chunks = new ArrayList<>();
    String responseId = "";
    String error = "";
    int promptTokens;
    int outputTokens = -1;
    /** The answer's status once its headers came; 0 before. */
    int status;
    private boolean done;

    Answer(long runStartNanos) {
      this.runStartNanos = runStartNanos;
    }

    /** How its body is read: its lines here, whatever its status (an error's first line is kept). */
    HttpResponse.BodySubscriber<Void> reading(HttpResponse.ResponseInfo info) {
      status = info.statusCode();
      return HttpResponse.BodySubscribers.fromLineSubscriber(this);
    }

    @Override
    public void onSubscribe(Flow.Subscription subscription) {
      // Read to the end of the body, as SDK clients do, so that the connection is kept alive.
      subscription.request(Long.MAX_VALUE);
    }

    @Override
    public void onNext(String line) {
      if (status != 200) {
        if (error.isEmpty() && !line.isEmpty()) {
          error = line.length() > 300 ? line.substring(0, 300) : line;
        }
        return;
      }
      if (done || !line.startsWith("data:")) {
        return;
      }
      if (line.contains("[DONE]")) {
        done = true; // nothing after it but the stream's end
        return;
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

    @Override
    public void onError(Throwable failure) {
      if (error.isEmpty()) {
        error = failure.getClass().getSimpleName() + ": " + failure.getMessage();
      }
    }

    @Override
    public void onComplete() {
      // the answer's end: the response's future completes next
    }
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
  private HttpResponse<Void> connect(KeyClass keyClass, String body, Duration timeout, Answer answer)
      throws IOException, InterruptedException {
    int first = Math.floorMod(next.getAndIncrement(), uris.size());
    for (int i = 0; ; i++) {
      URI uri = uris.get((first + i) % uris.size());
      try {
        return http.send(HttpRequest.newBuilder(uri).timeout(timeout)
            .header("Authorization", "Bearer " + keyClass.key()).header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body)).build(), answer::reading);
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

  private static double ms(long nanos, long origin) {
    return (nanos - origin) / 1e6;
  }
}
