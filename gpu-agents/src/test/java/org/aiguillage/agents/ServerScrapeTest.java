package org.aiguillage.agents;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.japi.function.Function;
import org.apache.pekko.stream.Materializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ServerScrapeTest {

  private static final String METRICS = """
      vllm:num_requests_running{model_name="m"} 3.0
      vllm:num_requests_waiting{model_name="m"} 1.0
      vllm:kv_cache_usage_perc{model_name="m"} 0.25
      """;

  private final ActorTestKit testKit = ActorTestKit.create();
  private ServerBinding server;
  private String url;

  @BeforeAll
  void start() {
    // /metrics answers, /starting answers 503 as a vLLM loading its weights, /stuck answers after 5 s.
    Function<HttpRequest, CompletionStage<HttpResponse>> handler = request -> {
      request.discardEntityBytes(testKit.system());
      return switch (request.getUri().path()) {
        case "/metrics" -> CompletableFuture.completedFuture(HttpResponse.create().withEntity(METRICS));
        case "/starting" -> CompletableFuture.completedFuture(HttpResponse.create()
            .withStatus(StatusCodes.SERVICE_UNAVAILABLE).withEntity("loading"));
        default -> CompletableFuture.supplyAsync(() -> HttpResponse.create().withEntity(METRICS),
            CompletableFuture.delayedExecutor(5, TimeUnit.SECONDS));
      };
    };
    server = Http.get(testKit.system()).newServerAt("127.0.0.1", 0).bind(handler).toCompletableFuture().join();
    url = "http://127.0.0.1:" + server.localAddress().getPort();
  }

  @AfterAll
  void stop() {
    server.unbind().toCompletableFuture().join();
    testKit.shutdownTestKit();
  }

  private ServerScrape scrape() {
    return new ServerScrape(Http.get(testKit.system()), Materializer.matFromSystem(testKit.system()),
        Duration.ofMillis(500));
  }

  private static ServerLoad outcome(CompletionStage<ServerLoad> load) throws Exception {
    return load.toCompletableFuture().get(5, TimeUnit.SECONDS);
  }

  @Test
  void readsTheServersLoadFromItsMetrics() throws Exception {
    ServerLoad load = outcome(scrape().start(HttpRequest.GET(url + "/metrics")).orElseThrow());

    assertEquals(new ServerLoad(3, 1, 0.25), load);
  }

  @Test
  void aStatusOtherThan200IsAFailure() {
    CompletionStage<ServerLoad> load = scrape().start(HttpRequest.GET(url + "/starting")).orElseThrow();

    ExecutionException failure = assertThrows(ExecutionException.class, () -> outcome(load));
    assertTrue(failure.getCause().getMessage().contains("503"), failure.getCause().getMessage());
  }

  @Test
  void aServerThatDoesNotAnswerInTimeIsAFailure() {
    CompletionStage<ServerLoad> load = scrape().start(HttpRequest.GET(url + "/stuck")).orElseThrow();

    ExecutionException failure = assertThrows(ExecutionException.class, () -> outcome(load));
    assertInstanceOf(TimeoutException.class, failure.getCause());
  }

  @Test
  void startsNoSecondScrapeUntilTheFirstHasEnded() throws Exception {
    ServerScrape scrape = scrape();
    CompletionStage<ServerLoad> first = scrape.start(HttpRequest.GET(url + "/metrics")).orElseThrow();

    assertTrue(scrape.start(HttpRequest.GET(url + "/metrics")).isEmpty());
    outcome(first);
    assertTrue(scrape.start(HttpRequest.GET(url + "/metrics")).isEmpty(), "ended is the agent's to say");
    scrape.ended();
    assertEquals(new ServerLoad(3, 1, 0.25), outcome(scrape.start(HttpRequest.GET(url + "/metrics")).orElseThrow()));
  }
}
