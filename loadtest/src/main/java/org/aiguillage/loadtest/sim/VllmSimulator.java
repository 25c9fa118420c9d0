package org.aiguillage.loadtest.sim;

import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.headers.Authorization;
import org.apache.pekko.http.javadsl.model.headers.HttpCredentials;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.ExceptionHandler;
import org.apache.pekko.http.javadsl.server.MethodRejection;
import org.apache.pekko.http.javadsl.server.RejectionHandler;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.aiguillage.protocol.Json;

/**
 * A simulated vLLM server: the OpenAI routes vLLM serves ({@code /v1/chat/completions}, {@code /v1/completions},
 * {@code /v1/models}), {@code /health} and {@code /metrics} with vLLM v1's names, vLLM's SSE chunks, and the
 * continuous-batching behaviour of {@link Engine}. A client that disconnects mid-stream aborts its generation.
 *
 * <p>Runs in its own ActorSystem (on Pekko's reference configuration only), so it can be embedded in a test or a
 * demo beside a dispatcher node without sharing anything with it.
 */
public final class VllmSimulator implements AutoCloseable {

  private static final ObjectMapper JSON = Json.MAPPER;
  private static final ByteString DONE = ByteString.fromString("data: [DONE]\n\n");

  private final String model;
  private final String quotedModel;
  private final SimulatorProfile profile;
  private final Optional<String> token;
  private final ActorSystem<Void> system;
  private final Materializer materializer;
  private final SimulatorMetrics metrics = new SimulatorMetrics();
  private final Engine engine;
  private final PoolingApis pooling;
  private final ResponsesApi responses;
  private final AudioApi audio;
  private final ToolCalls toolCalls;
  private final CallTimings timings = new CallTimings();
  private final AtomicLong ids = new AtomicLong();
  private volatile ServerBinding binding;
  private volatile int cutStreamsAfter;
  private volatile boolean recordingCallTimings;
  private volatile Task task = Task.ALL;

  private VllmSimulator(String model, SimulatorProfile profile, Optional<String> token) {
    this.model = model;
    this.profile = profile;
    this.token = token;
    try {
      this.quotedModel = JSON.writeValueAsString(model);
    } catch (Exception e) {
      throw new IllegalArgumentException(e);
    }
    Config config = ConfigFactory.parseString("""
        pekko.loglevel = WARNING
        pekko.stdout-loglevel = WARNING
        pekko.http.server.idle-timeout = 10 minutes
        pekko.http.server.request-timeout = infinite
        # uvicorn (vLLM's server) caps no connections: tens of thousands of open streams are the file descriptors'
        pekko.http.server.max-connections = 65536
        # uvicorn's (vLLM's server) listen backlog: a thousand users connecting at once are not dropped SYNs
        pekko.http.server.backlog = 2048
        pekko.http.server.socket-options.tcp-no-delay = on
        pekko.http.server.parsing.max-content-length = 64m
        pekko.coordinated-shutdown.run-by-jvm-shutdown-hook = off
        """).withFallback(ConfigFactory.defaultReference());
    this.system = ActorSystem.create(Behaviors.empty(), "vllm-sim", config);
    this.materializer = Materializer.matFromSystem(system);
    this.engine = new Engine(model, profile, metrics);
    this.pooling = new PoolingApis(engine, model);
    this.responses = new ResponsesApi(engine, model, materializer);
    this.audio = new AudioApi(engine, model, materializer);
    this.toolCalls = new ToolCalls(engine, materializer);
  }

  /** Starts a simulated server; port 0 picks a free one. */
  public static VllmSimulator start(String host, int port, String model, SimulatorProfile profile,
      Optional<String> token) {
    VllmSimulator sim = new VllmSimulator(model, profile, token);
    try {
      Routes routes = sim.new Routes();
      sim.binding = Http.get(sim.system).newServerAt(host, port)
          .bind(routes.route().seal(routes.rejections(), ExceptionHandler.newBuilder().build()))
          .toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      sim.close();
      throw new IllegalStateException("the simulator could not bind " + host + ":" + port, e);
    }
    return sim;
  }

  public static VllmSimulator start(String model, SimulatorProfile profile) {
    return start("127.0.0.1", 0, model, profile, Optional.empty());
  }

  public int port() {
    return binding.localAddress().getPort();
  }

  public String baseUrl() {
    return "http://127.0.0.1:" + port();
  }

  public String model() {
    return model;
  }

  /**
   * Fault injection: from now on, every streamed answer breaks off (the connection is cut, as when the engine
   * crashes) after {@code tokens} tokens; 0 turns it off.
   */
  public void cutStreamsAfter(int tokens) {
    cutStreamsAfter = tokens;
  }

  /**
   * From now on, {@code /metrics} shows only gauges and counters: no time-to-first-token, inter-token or end-to-end
   * histogram, as a server behind a metrics filter or an engine that does not measure them.
   */
  public VllmSimulator basicMetrics() {
    metrics.basic = true;
    return this;
  }

  /** From now on, serve only the APIs of {@code task}'s models, and answer 404 on the others, as vLLM does. */
  public VllmSimulator serving(Task newTask) {
    task = newTask;
    return this;
  }

  /**
   * From now on, keep when each streamed call arrived and when its first token left, for {@code GET
   * /simulator/timings} (see {@link CallTimings}); off by default, so an unread simulator keeps nothing.
   */
  public void recordCallTimings() {
    recordingCallTimings = true;
  }

  public SimulatorStats stats() {
    return new SimulatorStats(metrics.received.sum(), metrics.success.sum(), metrics.aborted.sum(), metrics.running,
        metrics.waiting, engine.peakRunning(), metrics.promptTokens.sum(), metrics.generationTokens.sum());
  }

  @Override
  public void close() {
    ServerBinding b = binding;
    if (b != null) {
      b.terminate(Duration.ofSeconds(1));
    }
    engine.shutdown();
    system.terminate();
    try {
      system.getWhenTerminated().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      // best effort: a simulator that does not stop in time is not worth failing a test run for
    }
  }

  /** vLLM's routes, and vLLM's answers to what it does not serve: 404 for an unknown path, 405 for a method. */
  private final class Routes extends AllDirectives {

    Route route() {
      return extractUri(uri -> task.serves(uri.path()) || !uri.path().startsWith("/v")
          ? everyRoute() : extractRequest(request -> {
            request.discardEntityBytes(materializer);
            return complete(json(404, "{\"detail\":\"Not Found\"}"));
          }));
    }

    private Route everyRoute() {
      return concat(
          path("health", () -> get(() -> complete(HttpResponse.create()))),
          path("metrics", () -> get(() -> complete(HttpResponse.create().withEntity(ContentTypes.TEXT_PLAIN_UTF8,
              metrics.render(model, profile))))),
          path(segment("simulator").slash("timings"), () -> get(() -> complete(recordingCallTimings
              ? HttpResponse.create().withEntity(ContentTypes.TEXT_PLAIN_UTF8, timings.drain())
              : error(404, "Call timings are not recorded: start the simulator with --call-timings.",
                  "NotFoundError")))),
          pathPrefix("v1", () -> concat(
              path("models", () -> get(() -> complete(json(200, "{\"object\":\"list\",\"data\":[{\"id\":"
                  + quotedModel + ",\"object\":\"model\",\"owned_by\":\"vllm\",\"max_model_len\":"
                  + profile.maxModelLen() + "}]}")))),
              path(segment("chat").slash("completions"), () -> post(() -> completion(true))),
              path("completions", () -> post(() -> completion(false))),
              path("responses", () -> post(() -> jsonCall(req -> responses.create(req, profile.maxModelLen(),
                  profile.defaultMaxTokens())))),
              path("embeddings", () -> post(() -> jsonCall(pooling::embeddings))),
              path("rerank", () -> post(() -> jsonCall(pooling::rerank))),
              path("score", () -> post(() -> jsonCall(pooling::score))),
              pathPrefix("audio", () -> concat(
                  path("transcriptions", () -> post(() -> authorized(request ->
                      completeWithFuture(counted(audio.serve(request.entity(), false)))))),
                  path("translations", () -> post(() -> authorized(request ->
                      completeWithFuture(counted(audio.serve(request.entity(), true)))))))))),
          path(segment("v2").slash("rerank"), () -> post(() -> jsonCall(pooling::rerank))));
    }

    /** A JSON API call for this server's model: read whole, its model checked, then {@code serve}. */
    private Route jsonCall(java.util.function.Function<JsonNode, CompletionStage<HttpResponse>> serve) {
      return authorized(request -> completeWithFuture(request.entity().toStrict(30_000, materializer)
          .thenCompose(strict -> {
            JsonNode req;
            try {
              req = JSON.readTree(strict.getData().utf8String());
            } catch (Exception e) {
              req = null;
            }
            if (req == null || !req.isObject()) {
              return CompletableFuture.completedFuture(error(400, "Invalid JSON body", "BadRequestError"));
            }
            if (!model.equals(req.path("model").asText())) {
              return CompletableFuture.completedFuture(error(404, "The model `" + req.path("model").asText()
                  + "` does not exist.", "NotFoundError"));
            }
            return counted(serve.apply(req));
          })));
    }

    /** The request, if it carries the server's token (when it has one); else vLLM's 401. */
    private Route authorized(java.util.function.Function<HttpRequest, Route> inner) {
      return extractRequest(request -> {
        if (token.isPresent() && !request.getHeader(Authorization.class)
            .map(h -> h.credentials().equals(HttpCredentials.createOAuth2BearerToken(token.get()))).orElse(false)) {
          request.discardEntityBytes(materializer);
          return complete(HttpResponse.create().withStatus(401)
              .withEntity(ContentTypes.APPLICATION_JSON, "{\"error\":\"Unauthorized\"}"));
        }
        return inner.apply(request);
      });
    }

    private Route completion(boolean chat) {
      return authorized(request -> completeWithFuture(request.entity().toStrict(30_000, materializer)
          .thenCompose(strict -> serve(chat, strict.getData().utf8String(), CallTimings.nowMicros()))));
    }

    RejectionHandler rejections() {
      return RejectionHandler.newBuilder()
          .handleAll(MethodRejection.class, rejected -> extractRequest(request -> {
            request.discardEntityBytes(materializer);
            return complete(json(405, "{\"detail\":\"Method Not Allowed\"}"));
          }))
          .handleNotFound(extractRequest(request -> {
            request.discardEntityBytes(materializer);
            return complete(json(404, "{\"detail\":\"Not Found\"}"));
          }))
          .build();
    }
  }

  /** Counts a call of the other APIs as received, as vLLM's request counters do. */
  private CompletionStage<HttpResponse> counted(CompletionStage<HttpResponse> answer) {
    metrics.received.increment();
    return answer;
  }

  private CompletionStage<HttpResponse> serve(boolean chat, String body, long receivedMicros) {
    try {
      return answer(chat, body, receivedMicros);
    } catch (RuntimeException e) {
      return CompletableFuture.completedFuture(error(500, "simulator failure: " + e, "InternalServerError"));
    }
  }

  private CompletionStage<HttpResponse> answer(boolean chat, String body, long receivedMicros) {
    metrics.received.increment();
    JsonNode req;
    try {
      req = JSON.readTree(body);
    } catch (Exception e) {
      return CompletableFuture.completedFuture(error(400, "Invalid JSON body", "BadRequestError"));
    }
    if (req == null || !req.isObject()) {
      return CompletableFuture.completedFuture(error(400, "Invalid JSON body", "BadRequestError"));
    }
    if (!model.equals(req.path("model").asText())) {
      return CompletableFuture.completedFuture(error(404, "The model `" + req.path("model").asText() + "` does not exist.", "NotFoundError"));
    }
    long n = metrics.received.sum();
    if (profile.failAfter() > 0 && n > profile.failAfter()
        || profile.errorRate() > 0 && ThreadLocalRandom.current().nextDouble() < profile.errorRate()) {
      return CompletableFuture.completedFuture(error(500, "Simulated engine failure", "InternalServerError"));
    }
    String prompt = chat ? chatPrompt(req) : req.path("prompt").asText("");
    List<String> tokens = chat ? chatTokens(req) : SimulatedText.tokens(prompt);
    int promptTokens = tokens.size();
    int maxTokens = req.has("max_completion_tokens") ? req.get("max_completion_tokens").asInt()
        : req.has("max_tokens") && !req.get("max_tokens").isNull() ? req.get("max_tokens").asInt()
        : Math.min(profile.defaultMaxTokens(), profile.maxModelLen() - promptTokens);
    if (maxTokens < 1) {
      return CompletableFuture.completedFuture(error(400, "max_tokens must be at least 1, got " + maxTokens + ".", "BadRequestError"));
    }
    if (promptTokens + maxTokens > profile.maxModelLen()) {
      return CompletableFuture.completedFuture(error(400, "This model's maximum context length is " + profile.maxModelLen()
          + " tokens. However, you requested " + (promptTokens + maxTokens) + " tokens (" + promptTokens
          + " in the messages, " + maxTokens + " in the completion). Please reduce the length of the messages or "
          + "completion.", "BadRequestError"));
    }
    boolean stream = req.path("stream").asBoolean(false);
    boolean includeUsage = req.path("stream_options").path("include_usage").asBoolean(false);
    String id = (chat ? "chatcmpl-" : "cmpl-") + Long.toHexString(System.nanoTime()) + ids.incrementAndGet();
    long created = System.currentTimeMillis() / 1000;
    long seed = SimulatedText.seed(prompt);
    long[] prefix = SimulatedText.blockHashes(tokens);
    if (chat && ToolCalls.wanted(req)) {
      return toolCalls.answer(req, id, created, quotedModel, promptTokens, stream, includeUsage);
    }
    return stream
        ? CompletableFuture.completedFuture(
            streamed(chat, id, created, promptTokens, maxTokens, seed, prefix, includeUsage, receivedMicros))
        : whole(chat, id, created, promptTokens, maxTokens, seed, prefix);
  }

  /**
   * A chat's tokens as the simulator's template makes them: each message's role, start and end markers and a line
   * break (the 4 tokens a message adds, {@link SimulatedText#countTokens}), then its words.
   */
  private static List<String> chatTokens(JsonNode req) {
    List<String> tokens = new ArrayList<>();
    for (JsonNode m : req.path("messages")) {
      tokens.add("<|start|>");
      tokens.add(m.path("role").asText(""));
      JsonNode content = m.path("content");
      if (content.isTextual()) {
        tokens.addAll(SimulatedText.tokens(content.asText()));
      } else if (content.isArray()) {
        for (JsonNode part : content) {
          tokens.addAll(SimulatedText.tokens(part.path("text").asText("")));
        }
      }
      tokens.add("<|end|>");
      tokens.add("\n");
    }
    return tokens;
  }

  private static String chatPrompt(JsonNode req) {
    StringBuilder sb = new StringBuilder();
    for (JsonNode m : req.path("messages")) {
      JsonNode content = m.path("content");
      if (content.isTextual()) {
        sb.append(content.asText()).append(' ');
      } else if (content.isArray()) {
        for (JsonNode part : content) {
          sb.append(part.path("text").asText("")).append(' ');
        }
      }
    }
    return sb.toString().strip();
  }

  private HttpResponse streamed(boolean chat, String id, long created, int promptTokens, int maxTokens, long seed,
      long[] prefix, boolean includeUsage, long receivedMicros) {
    String head = "data: {\"id\":\"" + id + "\",\"object\":\"" + (chat ? "chat.completion.chunk" : "text_completion")
        + "\",\"created\":" + created + ",\"model\":" + quotedModel + ",\"choices\":[";
    Pair<BoundedSourceQueue<ByteString>, Source<ByteString, NotUsed>> pair =
        Source.<ByteString>queue(maxTokens + 8).preMaterialize(materializer);
    BoundedSourceQueue<ByteString> out = pair.first();
    Scheduler.Request[] self = new Scheduler.Request[1];
    Engine.Sink sink = new Engine.Sink() {
      @Override
      public void token(int index, String text) {
        boolean last = index + 1 >= maxTokens;
        String finish = last ? "\"length\"" : "null";
        if (index == 0 && recordingCallTimings) {
          timings.record(id, receivedMicros, CallTimings.nowMicros());
        }
        if (chat) {
          if (index == 0) {
            out.offer(ByteString.fromString(head + "{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
                + "\"logprobs\":null,\"finish_reason\":null}]}\n\n"));
          }
          out.offer(ByteString.fromString(head + "{\"index\":0,\"delta\":{\"content\":\"" + escaped(text)
              + "\"},\"logprobs\":null,\"finish_reason\":" + finish + "}]}\n\n"));
        } else {
          out.offer(ByteString.fromString(head + "{\"index\":0,\"text\":\"" + escaped(text) + "\",\"logprobs\":null,"
              + "\"finish_reason\":" + finish + ",\"stop_reason\":null}]}\n\n"));
        }
        int cut = cutStreamsAfter;
        if (cut > 0 && index + 1 >= cut && !last) {
          // The engine dies after these tokens went out: stop generating now, cut the connection once they
          // surely reached the client (a reset discards what the client has not read yet).
          engine.abort(self[0]);
          CompletableFuture.delayedExecutor(500, TimeUnit.MILLISECONDS)
              .execute(() -> out.fail(new IllegalStateException("simulated engine crash")));
        }
      }

      @Override
      public void finished(String finishReason, int prompt, int completion) {
        if (includeUsage) {
          out.offer(ByteString.fromString(head + "],\"usage\":" + usage(prompt, completion) + "}\n\n"));
        }
        out.offer(DONE);
        out.complete();
      }
    };
    self[0] = new Scheduler.Request(promptTokens, maxTokens, seed, sink, prefix);
    return sse(engine, pair, self[0]);
  }

  /**
   * An SSE answer the engine feeds through {@code queue} as it runs {@code request}; a client that leaves aborts
   * the request, as vLLM aborts a generation whose connection closed.
   */
  static HttpResponse sse(Engine engine, Pair<BoundedSourceQueue<ByteString>, Source<ByteString, NotUsed>> queue,
      Scheduler.Request request) {
    Source<ByteString, NotUsed> events = queue.second().watchTermination((mat, done) -> {
      done.whenComplete((d, failure) -> {
        if (!request.done) {
          engine.abort(request);
        }
      });
      return mat;
    });
    engine.submit(request);
    return HttpResponse.create().withEntity(HttpEntities.createChunked(
        ContentTypes.create(MediaTypes.TEXT_EVENT_STREAM), events));
  }

  private CompletionStage<HttpResponse> whole(boolean chat, String id, long created, int promptTokens, int maxTokens,
      long seed, long[] prefix) {
    CompletableFuture<HttpResponse> answer = new CompletableFuture<>();
    StringBuilder text = new StringBuilder();
    engine.submit(new Scheduler.Request(promptTokens, maxTokens, seed, new Engine.Sink() {
      @Override
      public void token(int index, String t) {
        text.append(t);
      }

      @Override
      public void finished(String finishReason, int prompt, int completion) {
        String content = escaped(text.toString());
        String choice = chat
            ? "{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"" + content + "\",\"tool_calls\":[]},"
                + "\"logprobs\":null,\"finish_reason\":\"" + finishReason + "\",\"stop_reason\":null}"
            : "{\"index\":0,\"text\":\"" + content + "\",\"logprobs\":null,\"finish_reason\":\"" + finishReason
                + "\",\"stop_reason\":null}";
        answer.complete(json(200, "{\"id\":\"" + id + "\",\"object\":\"" + (chat ? "chat.completion" : "text_completion")
            + "\",\"created\":" + created + ",\"model\":" + quotedModel + ",\"choices\":[" + choice + "],\"usage\":"
            + usage(prompt, completion) + "}"));
      }
    }, prefix));
    // A non-streamed answer is sent whole when generation ends, as vLLM does.
    return answer;
  }

  private static String usage(int prompt, int completion) {
    return "{\"prompt_tokens\":" + prompt + ",\"total_tokens\":" + (prompt + completion) + ",\"completion_tokens\":"
        + completion + "}";
  }

  /**
   * Text as the inside of a JSON string. The answers are built from templates (a chunk is a few string appends, not
   * a tree written by Jackson: the simulator must outrun what it measures), and whatever a token holds must not
   * break them.
   */
  static String quoted(String text) {
    return "\"" + escaped(text) + "\"";
  }

  static String escaped(String text) {
    return new String(JsonStringEncoder.getInstance().quoteAsString(text));
  }

  static HttpResponse json(int status, String body) {
    return HttpResponse.create().withStatus(status).withEntity(ContentTypes.APPLICATION_JSON, body);
  }

  static HttpResponse error(int status, String message, String type) {
    try {
      return json(status, "{\"error\":{\"message\":" + JSON.writeValueAsString(message) + ",\"type\":\"" + type
          + "\",\"param\":null,\"code\":" + status + "}}");
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
