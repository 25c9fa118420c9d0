package org.aiguillage.agents;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.aiguillage.loadtest.sim.SimulatedText;
import org.aiguillage.loadtest.sim.SimulatorProfile;
import org.aiguillage.loadtest.sim.VllmSimulator;
import org.aiguillage.protocol.RoutingMode;
import org.aiguillage.protocol.accounting.UsageRecord;
import org.aiguillage.protocol.config.ModelConfig;
import org.aiguillage.protocol.config.ServerConfig;
import org.aiguillage.protocol.dispatch.AgentCommand;
import org.aiguillage.protocol.dispatch.DispatchTicket;
import org.aiguillage.protocol.dispatch.QueueCommand;
import org.aiguillage.protocol.dispatch.RequestCommand;
import org.aiguillage.protocol.dispatch.TicketInfo;
import org.aiguillage.protocol.dispatch.UpstreamCall;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.japi.function.Function;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GpuAgentTest {

  private static final String MODEL = "m";
  // An answer handed over and never run gives its server back after the stream ref's subscription timeout.
  private final ActorTestKit testKit = ActorTestKit.create(com.typesafe.config.ConfigFactory.parseString(
      "pekko.stream.materializer.stream-ref.subscription-timeout = 1s").withFallback(
      com.typesafe.config.ConfigFactory.load()));
  private VllmSimulator server;
  private VllmSimulator failingServer;
  private VllmSimulator stallingServer;
  /** Answers 200 and an event stream: under /empty it ends at once, under /broken it breaks after the headers. */
  private ServerBinding brokenServer;
  private int ticketCounter;

  @BeforeAll
  void start() {
    server = VllmSimulator.start(MODEL, SimulatorProfile.fast());
    failingServer = VllmSimulator.start(MODEL, SimulatorProfile.fast().withFaults(1.0, 0, 0));
    stallingServer = VllmSimulator.start(MODEL, SimulatorProfile.fast().withFaults(0, 0, 30_000));
    ContentType eventStream = ContentTypes.parse("text/event-stream");
    Function<HttpRequest, CompletionStage<HttpResponse>> handler = request -> {
      request.discardEntityBytes(testKit.system());
      // The break comes once the headers are out, as when the engine crashes during the prefill.
      Source<ByteString, NotUsed> events = request.getUri().path().startsWith("/empty") ? Source.empty()
          : Source.completionStage(CompletableFuture.<ByteString>supplyAsync(() -> {
            throw new IllegalStateException("the engine crashed");
          }, CompletableFuture.delayedExecutor(200, TimeUnit.MILLISECONDS)));
      return CompletableFuture.completedFuture(HttpResponse.create()
          .withEntity(HttpEntities.createChunked(eventStream, events)));
    };
    brokenServer = Http.get(testKit.system()).newServerAt("127.0.0.1", 0).bind(handler).toCompletableFuture().join();
  }

  @AfterAll
  void stop() {
    brokenServer.unbind().toCompletableFuture().join();
    testKit.shutdownTestKit();
    server.close();
    failingServer.close();
    stallingServer.close();
  }

  private ActorRef<AgentCommand> agent(String url, int maxParallel, TestProbe<QueueCommand> queue) {
    return agent(url, maxParallel, queue, usage -> {});
  }

  private ActorRef<AgentCommand> agent(String url, int maxParallel, TestProbe<QueueCommand> queue,
      java.util.function.Consumer<UsageRecord> usage) {
    return agent(url, "vllm", maxParallel, queue, usage);
  }

  private ActorRef<AgentCommand> agent(String url, String type, int maxParallel, TestProbe<QueueCommand> queue,
      java.util.function.Consumer<UsageRecord> usage) {
    ModelConfig model = new ModelConfig(MODEL, MODEL, null, List.of(), null, null, null);
    ServerSpec spec = ServerSpec.of(model, new ServerConfig(url, null, "univ-a", maxParallel, type, null));
    AgentSettings settings = new AgentSettings(Duration.ofMillis(100), Duration.ofSeconds(1), 0.95, 1 << 20,
        Duration.ofMillis(200), Duration.ofMillis(500), Duration.ofMillis(500));
    ActorRef<AgentCommand> agent = testKit.spawn(GpuAgent.create(spec, queue.ref(), settings, usage));
    // An agent takes work once its server's metrics have answered.
    queue.fishForMessage(Duration.ofSeconds(5), m ->
        m instanceof QueueCommand.Demand d && !d.snapshot().state().wireName().equals("unhealthy")
            ? FishingOutcomes.complete() : FishingOutcomes.continueAndIgnore());
    return agent;
  }

  private DispatchTicket ticket(TestProbe<RequestCommand> requester, boolean stream, int maxTokens) {
    String id = "t" + ++ticketCounter;
    String body = "{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":\"prompt " + id
        + "\"}],\"max_tokens\":" + maxTokens + ",\"stream\":" + stream
        + (stream ? ",\"stream_options\":{\"include_usage\":true}" : "") + "}";
    long now = System.currentTimeMillis();
    return new DispatchTicket(new TicketInfo(id, MODEL, "key-1", "univ-a", 3, RoutingMode.ANY, now, now + 60_000, 10, 100),
        new UpstreamCall("/v1/chat/completions", body.getBytes(StandardCharsets.UTF_8), stream, false),
        requester.ref());
  }

  private static <T extends QueueCommand> T fish(TestProbe<QueueCommand> queue, Class<T> type) {
    List<QueueCommand> seen = queue.fishForMessage(Duration.ofSeconds(5),
        m -> type.isInstance(m) ? FishingOutcomes.complete() : FishingOutcomes.continueAndIgnore());
    return type.cast(seen.get(seen.size() - 1));
  }

  @Test
  void asksForNoWorkWhileTheServerQueuesRequestsOfItsOwnAndAgainOnceItDoesNot() throws Exception {
    // One sequence at a time, and other clients of the server keep it busy: two of their requests wait in it.
    try (VllmSimulator busy = VllmSimulator.start(MODEL, SimulatorProfile.fast().withMaxNumSeqs(1).withItl(10, 10))) {
      java.net.http.HttpClient direct = java.net.http.HttpClient.newHttpClient();
      List<java.util.concurrent.CompletableFuture<?>> others = new java.util.ArrayList<>();
      for (int i = 0; i < 3; i++) {
        others.add(direct.sendAsync(java.net.http.HttpRequest.newBuilder(java.net.URI.create(busy.baseUrl()
                + "/v1/chat/completions")).header("Content-Type", "application/json")
            .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"model\":\"" + MODEL + "\",\"messages\":"
                + "[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":100}")).build(),
            java.net.http.HttpResponse.BodyHandlers.discarding()));
      }
      TestProbe<QueueCommand> queue = testKit.createTestProbe();
      agent(busy.baseUrl(), 8, queue);

      List<QueueCommand> seen = queue.fishForMessage(Duration.ofSeconds(5), m ->
          m instanceof QueueCommand.Demand d && d.snapshot().state().wireName().equals("backlog")
              ? FishingOutcomes.complete() : FishingOutcomes.continueAndIgnore());
      QueueCommand.Demand backlogged = (QueueCommand.Demand) seen.get(seen.size() - 1);
      assertEquals(0, backlogged.freeSlots());
      assertTrue(backlogged.snapshot().waiting() > 0);

      for (var other : others) {
        other.get(30, java.util.concurrent.TimeUnit.SECONDS);
      }
      List<QueueCommand> later = queue.fishForMessage(Duration.ofSeconds(5), m ->
          m instanceof QueueCommand.Demand d && d.freeSlots() == 8
              ? FishingOutcomes.complete() : FishingOutcomes.continueAndIgnore());
      assertEquals("ready", ((QueueCommand.Demand) later.get(later.size() - 1)).snapshot().state().wireName());
    }
  }

  @Test
  void learnsTheStepCurveOfAServerWithoutLatencyHistogramsFromItsOwnStreams() throws Exception {
    // Steps of 5 ms alone, 5 + 295 x (n - 1) / 127 ms with n running (31 ms at 12): steep enough to tell from a
    // busy test machine's noise. Its /metrics has gauges and counters only.
    try (VllmSimulator plain = VllmSimulator.start(MODEL, SimulatorProfile.fast().withItl(5, 300)).basicMetrics()) {
      TestProbe<QueueCommand> queue = testKit.createTestProbe();
      TestProbe<RequestCommand> requester = testKit.createTestProbe();
      ActorRef<AgentCommand> agent = agent(plain.baseUrl(), 16, queue);
      Materializer materializer = Materializer.matFromSystem(testKit.system());

      // Calls of 40 tokens, one alone then twelve at once, until a demand carries a curve that grows.
      Optional<QueueCommand.Demand> learnt = Optional.empty();
      for (int round = 0; round < 12 && learnt.isEmpty(); round++) {
        int together = round % 2 == 0 ? 1 : 12;
        for (int i = 0; i < together; i++) {
          agent.tell(new AgentCommand.Assign(ticket(requester, true, 40), queue.ref()));
        }
        for (int i = 0; i < together; i++) {
          List<RequestCommand> fished = requester.fishForMessage(Duration.ofSeconds(5), m ->
              m instanceof RequestCommand.Streaming ? FishingOutcomes.complete()
                  : FishingOutcomes.continueAndIgnore());
          ((RequestCommand.Streaming) fished.get(fished.size() - 1)).events().getSource()
              .runWith(Sink.ignore(), materializer);
        }
        List<QueueCommand> demands = queue.fishForMessage(Duration.ofSeconds(5), m ->
            m instanceof QueueCommand.Demand d && d.freeSlots() == 16
                ? FishingOutcomes.complete() : FishingOutcomes.continueAndIgnore());
        learnt = demands.stream().filter(QueueCommand.Demand.class::isInstance).map(QueueCommand.Demand.class::cast)
            .filter(d -> d.snapshot().knowsItsSteps() && d.snapshot().stepMillisPerCall() > 0).findFirst();
      }

      assertTrue(learnt.isPresent(), "no step curve learnt from the agent's own streams");
      assertTrue(learnt.get().snapshot().stepMillisPerCall() > 0, "steps grow with the batch: " + learnt.get());
    }
  }

  @Test
  void aServerThatStopsAnsweringItsMetricsGetsNoWork() {
    VllmSimulator dying = VllmSimulator.start(MODEL, SimulatorProfile.fast());
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    agent(dying.baseUrl(), 4, queue);
    fish(queue, QueueCommand.Demand.class);

    dying.close();

    List<QueueCommand> seen = queue.fishForMessage(Duration.ofSeconds(5), m ->
        m instanceof QueueCommand.Demand d && d.snapshot().state().wireName().equals("unhealthy")
            ? FishingOutcomes.complete() : FishingOutcomes.continueAndIgnore());
    assertEquals(0, ((QueueCommand.Demand) seen.get(seen.size() - 1)).freeSlots());
  }

  @Test
  void demandsWorkForAllItsSlotsWhenItStarts() {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    agent(server.baseUrl(), 8, queue);

    QueueCommand.Demand demand = fish(queue, QueueCommand.Demand.class);

    assertEquals(8, demand.freeSlots());
    assertEquals(0, demand.assignsSeen());
    assertEquals("univ-a", demand.organization());
  }

  @Test
  void acceptsAnAssignmentAndHandsTheStreamOverWithoutTheUsageChunkTheClientDidNotAskFor() throws Exception {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    TestProbe<RequestCommand> requester = testKit.createTestProbe();
    ActorRef<AgentCommand> agent = agent(server.baseUrl(), 4, queue);
    DispatchTicket ticket = ticket(requester, true, 6);

    agent.tell(new AgentCommand.Assign(ticket, queue.ref()));

    assertEquals(ticket.id(), fish(queue, QueueCommand.AssignAccepted.class).ticketId());
    requester.expectMessageClass(RequestCommand.Started.class);
    RequestCommand.Streaming streaming = requester.expectMessageClass(RequestCommand.Streaming.class);
    // The server's bytes pass through in the chunks they were read in: the events are what the elements hold.
    String body = streaming.events().getSource()
        .runWith(Sink.fold(ByteString.emptyByteString(), ByteString::concat),
            Materializer.matFromSystem(testKit.system()))
        .toCompletableFuture().get(5, TimeUnit.SECONDS).utf8String();
    List<String> events = List.of(body.split("(?<=\n\n)"));
    assertEquals("data: [DONE]\n\n", events.get(events.size() - 1));
    assertEquals(1 + 6 + 1, events.size(), "role chunk, 6 tokens, [DONE]: no usage chunk");
    assertTrue(events.get(1).contains(SimulatedText.answer("prompt " + ticket.id(), 1)));
    QueueCommand.Demand after = fish(queue, QueueCommand.Demand.class);
    assertEquals(1, after.assignsSeen());
  }

  @Test
  void anAnswerHandedOverButNeverRunFreesItsServerAndAbortsTheGeneration() {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    TestProbe<RequestCommand> requester = testKit.createTestProbe();
    List<UsageRecord> usage = new CopyOnWriteArrayList<>();
    ActorRef<AgentCommand> agent = agent(server.baseUrl(), 1, queue, usage::add);
    long abortedBefore = server.stats().aborted();

    agent.tell(new AgentCommand.Assign(ticket(requester, true, 5000), queue.ref()));
    fish(queue, QueueCommand.AssignAccepted.class);
    requester.expectMessageClass(RequestCommand.Started.class);
    // The client left between the hand-over and its response: nobody runs the stream.
    requester.expectMessageClass(RequestCommand.Streaming.class);

    queue.fishForMessage(Duration.ofSeconds(5), m -> m instanceof QueueCommand.Demand d && d.freeSlots() == 1
        ? FishingOutcomes.complete() : FishingOutcomes.continueAndIgnore());
    assertEquals(List.of(499), usage.stream().map(UsageRecord::status).toList(),
        "the call is accounted as its client leaving");
    testKit.createTestProbe().awaitAssert(() -> {
      assertEquals(abortedBefore + 1, server.stats().aborted(), "the server's generation was aborted");
      return null;
    });
  }

  @Test
  void handsAWholeAnswerOverWhenTheClientDidNotStream() {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    TestProbe<RequestCommand> requester = testKit.createTestProbe();
    ActorRef<AgentCommand> agent = agent(server.baseUrl(), 4, queue);

    agent.tell(new AgentCommand.Assign(ticket(requester, false, 3), queue.ref()));

    requester.expectMessageClass(RequestCommand.Started.class);
    RequestCommand.Whole whole = requester.expectMessageClass(RequestCommand.Whole.class);
    assertEquals(200, whole.status());
    assertTrue(new String(whole.body(), StandardCharsets.UTF_8).contains("\"completion_tokens\":3"));
  }

  @Test
  void refusesAnAssignmentItHasNoRoomFor() {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    TestProbe<RequestCommand> requester = testKit.createTestProbe();
    ActorRef<AgentCommand> agent = agent(server.baseUrl(), 1, queue);

    agent.tell(new AgentCommand.Assign(ticket(requester, true, 200), queue.ref()));
    DispatchTicket second = ticket(requester, true, 5);
    agent.tell(new AgentCommand.Assign(second, queue.ref()));

    assertEquals(second.id(), fish(queue, QueueCommand.AssignRefused.class).ticketId());
  }

  @Test
  void aServerErrorBeforeTheFirstByteIsARetryableFailureAndTakesTheServerOut() {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    TestProbe<RequestCommand> requester = testKit.createTestProbe();
    ActorRef<AgentCommand> agent = agent(failingServer.baseUrl(), 4, queue);

    agent.tell(new AgentCommand.Assign(ticket(requester, true, 5), queue.ref()));

    requester.expectMessageClass(RequestCommand.Started.class);
    RequestCommand.UpstreamFailed failed = requester.expectMessageClass(RequestCommand.UpstreamFailed.class);
    assertTrue(failed.retryable());
    fish(queue, QueueCommand.DemandWithdrawn.class);
  }

  @Test
  void aServerThatRefusesConnectionsGetsNoWorkAndAnAssignmentIsRefused() {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    TestProbe<RequestCommand> requester = testKit.createTestProbe();
    ModelConfig model = new ModelConfig(MODEL, MODEL, null, List.of(), null, null, null);
    ActorRef<AgentCommand> agent = testKit.spawn(GpuAgent.create(ServerSpec.of(model,
        new ServerConfig("http://127.0.0.1:1", null, "univ-a", 4, "vllm", null)), queue.ref(),
        AgentSettings.defaults()));

    QueueCommand.Demand demand = fish(queue, QueueCommand.Demand.class);
    assertEquals(0, demand.freeSlots());
    assertEquals("unhealthy", demand.snapshot().state().wireName());
    DispatchTicket ticket = ticket(requester, false, 5);
    agent.tell(new AgentCommand.Assign(ticket, queue.ref()));

    assertEquals(ticket.id(), fish(queue, QueueCommand.AssignRefused.class).ticketId());
    requester.expectNoMessage(Duration.ofMillis(200));
  }

  @Test
  void itsDemandCarriesTheLoadItScrapedFromTheServer() {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    agent(server.baseUrl(), 4, queue);

    List<QueueCommand> seen = queue.fishForMessage(Duration.ofSeconds(5), m ->
        m instanceof QueueCommand.Demand d && d.snapshot().kvCacheUsage() >= 0
            ? FishingOutcomes.complete() : FishingOutcomes.continueAndIgnore());

    QueueCommand.Demand demand = (QueueCommand.Demand) seen.get(seen.size() - 1);
    assertTrue(demand.snapshot().running() >= 0, "running read from vllm:num_requests_running");
    assertEquals(Optional.of(4), Optional.of(demand.snapshot().maxParallel()));
  }

  @Test
  void aServerThatStallsBeforeItsFirstEventIsARetryableFailureAndTakenOut() {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    TestProbe<RequestCommand> requester = testKit.createTestProbe();
    ActorRef<AgentCommand> agent = agent(stallingServer.baseUrl(), 4, queue);

    agent.tell(new AgentCommand.Assign(ticket(requester, true, 5), queue.ref()));

    requester.expectMessageClass(RequestCommand.Started.class);
    RequestCommand.UpstreamFailed failed = requester.expectMessageClass(RequestCommand.UpstreamFailed.class,
        Duration.ofSeconds(5));
    assertTrue(failed.retryable());
    assertTrue(failed.reason().contains("stalled"), failed.reason());
    fish(queue, QueueCommand.DemandWithdrawn.class);
  }

  @Test
  void aClientLeavingBeforeTheFirstTokenDoesNotTakeTheServerOut() {
    // Headers at once, the first token after 30 s: as vLLM answers a long prompt it is still prefilling.
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    TestProbe<RequestCommand> requester = testKit.createTestProbe();
    List<UsageRecord> usage = new CopyOnWriteArrayList<>();
    ActorRef<AgentCommand> agent = agent(stallingServer.baseUrl(), 4, queue, usage::add);
    long received = stallingServer.stats().received();
    DispatchTicket ticket = ticket(requester, true, 5);
    agent.tell(new AgentCommand.Assign(ticket, queue.ref()));
    requester.expectMessageClass(RequestCommand.Started.class);
    testKit.createTestProbe().awaitAssert(() -> {
      assertEquals(received + 1, stallingServer.stats().received());
      return null;
    });
    requester.expectNoMessage(Duration.ofMillis(100)); // the server's headers reach the agent

    // The client closed its tab: its request actor cancels the call.
    agent.tell(new AgentCommand.CancelCall(ticket.id()));

    queue.fishForMessage(Duration.ofSeconds(3), m -> {
      if (m instanceof QueueCommand.DemandWithdrawn) {
        throw new AssertionError("the server was taken out because a client left");
      }
      return m instanceof QueueCommand.Demand d && d.freeSlots() == 4
          ? FishingOutcomes.complete() : FishingOutcomes.continueAndIgnore();
    });
    requester.expectNoMessage(Duration.ofMillis(200));
    assertEquals(List.of(499), usage.stream().map(UsageRecord::status).toList(), "accounted as cancelled");
  }

  @Test
  void aServerWhoseStreamEndsBeforeItsFirstEventIsARetryableFailureAndTakenOut() {
    assertFailsRetryablyBeforeTheFirstEvent("/empty");
  }

  @Test
  void aServerWhoseStreamBreaksBeforeItsFirstEventIsARetryableFailureAndTakenOut() {
    assertFailsRetryablyBeforeTheFirstEvent("/broken");
  }

  private void assertFailsRetryablyBeforeTheFirstEvent(String path) {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    TestProbe<RequestCommand> requester = testKit.createTestProbe();
    String url = "http://127.0.0.1:" + brokenServer.localAddress().getPort() + path;
    ActorRef<AgentCommand> agent = agent(url, "openai", 4, queue, usage -> {});

    agent.tell(new AgentCommand.Assign(ticket(requester, true, 5), queue.ref()));

    requester.expectMessageClass(RequestCommand.Started.class);
    RequestCommand.UpstreamFailed failed = requester.expectMessageClass(RequestCommand.UpstreamFailed.class);
    assertTrue(failed.retryable());
    assertTrue(failed.reason().contains("before its first event"), failed.reason());
    fish(queue, QueueCommand.DemandWithdrawn.class);
    requester.expectNoMessage(Duration.ofMillis(200));
  }
}
