package org.aiguillage.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.aiguillage.actors.RequestActor.Outcome;
import org.aiguillage.protocol.RoutingMode;
import org.aiguillage.protocol.dispatch.AgentCommand;
import org.aiguillage.protocol.dispatch.QueueCommand;
import org.aiguillage.protocol.dispatch.RequestCommand;
import org.aiguillage.protocol.dispatch.TicketInfo;
import org.aiguillage.protocol.dispatch.UpstreamCall;
import org.aiguillage.protocol.openai.OpenAiError;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.StreamRefs;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RequestActorTest {

  private final ActorTestKit testKit = ActorTestKit.create();
  private final Materializer materializer = Materializer.matFromSystem(testKit.system());
  private final RequestActor.Settings settings =
      new RequestActor.Settings(Duration.ofMillis(100), 2, Duration.ofSeconds(2));

  @AfterAll
  void stop() {
    testKit.shutdownTestKit();
  }

  private record Started(ActorRef<RequestCommand> actor, QueueCommand.Enqueue enqueue) {}

  private Started start(TestProbe<QueueCommand> queue, CompletableFuture<Outcome> reply,
      CompletableFuture<Done> clientGone) {
    long now = System.currentTimeMillis();
    TicketInfo info = new TicketInfo("t-" + System.nanoTime(), "m", "key-1", "univ-a", 3, RoutingMode.ANY, now,
        now + 60_000, 10, 100);
    ActorRef<RequestCommand> actor = testKit.spawn(RequestActor.create(info,
        new UpstreamCall("/v1/chat/completions", new byte[0], true, false), queue.ref(), reply, clientGone,
        settings));
    return new Started(actor, queue.expectMessageClass(QueueCommand.Enqueue.class));
  }

  /** The next message of {@code type}, skipping the lease's re-assertions. */
  private static <T extends QueueCommand> T next(TestProbe<QueueCommand> queue, Class<T> type) {
    List<QueueCommand> seen = queue.fishForMessage(Duration.ofSeconds(3),
        m -> type.isInstance(m) ? FishingOutcomes.complete() : FishingOutcomes.continueAndIgnore());
    return type.cast(seen.get(seen.size() - 1));
  }

  @Test
  void reassertsItsTicketWhileItWaits() {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    Started s = start(queue, new CompletableFuture<>(), new CompletableFuture<>());

    QueueCommand.Reassert first = queue.expectMessageClass(QueueCommand.Reassert.class);
    queue.expectMessageClass(QueueCommand.Reassert.class);

    assertEquals(s.enqueue().ticket(), first.ticket());
  }

  @Test
  void answersWithTheStreamTheAgentHandsOver() throws Exception {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    TestProbe<AgentCommand> agent = testKit.createTestProbe();
    CompletableFuture<Outcome> reply = new CompletableFuture<>();
    Started s = start(queue, reply, new CompletableFuture<>());
    String id = s.enqueue().ticket().id();

    s.actor().tell(new RequestCommand.Started(id, "s1", agent.ref()));
    s.actor().tell(new RequestCommand.Streaming(id, "s1", 200, Source.single(ByteString.fromString("data: x\n\n"))
        .runWith(StreamRefs.sourceRef(), materializer)));

    Outcome.Stream stream = assertInstanceOf(Outcome.Stream.class, reply.get(3, TimeUnit.SECONDS));
    List<ByteString> events = stream.events().runWith(Sink.seq(), materializer).toCompletableFuture()
        .get(3, TimeUnit.SECONDS);
    assertEquals("data: x\n\n", events.get(0).utf8String());
  }

  @Test
  void aFailureBeforeTheFirstByteIsRetriedThenReportedAs502() throws Exception {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    TestProbe<AgentCommand> agent = testKit.createTestProbe();
    CompletableFuture<Outcome> reply = new CompletableFuture<>();
    Started s = start(queue, reply, new CompletableFuture<>());
    String id = s.enqueue().ticket().id();

    s.actor().tell(new RequestCommand.Started(id, "s1", agent.ref()));
    s.actor().tell(new RequestCommand.UpstreamFailed(id, "s1", true, "server answered 500"));
    QueueCommand.Enqueue again = next(queue, QueueCommand.Enqueue.class);
    assertEquals(s.enqueue().ticket().info().arrivalMillis(), again.ticket().info().arrivalMillis(),
        "the retried ticket keeps its place");
    s.actor().tell(new RequestCommand.Started(id, "s2", agent.ref()));
    s.actor().tell(new RequestCommand.UpstreamFailed(id, "s2", true, "server answered 500"));

    Outcome.Failure failure = assertInstanceOf(Outcome.Failure.class, reply.get(3, TimeUnit.SECONDS));
    assertEquals(502, failure.status());
    assertTrue(failure.error().message().contains("server answered 500"));
  }

  @Test
  void aRejectionFromTheQueueIsPassedOnAsIs() throws Exception {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    CompletableFuture<Outcome> reply = new CompletableFuture<>();
    Started s = start(queue, reply, new CompletableFuture<>());

    s.actor().tell(new RequestCommand.Rejected(s.enqueue().ticket().id(), 429,
        OpenAiError.rateLimited("too many", "queue_threshold"), 1));

    Outcome.Failure failure = assertInstanceOf(Outcome.Failure.class, reply.get(3, TimeUnit.SECONDS));
    assertEquals(429, failure.status());
    assertEquals(1, failure.retryAfterSeconds());
  }

  @Test
  void aClientThatLeavesWhileQueuedWithdrawsItsTicket() {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    CompletableFuture<Done> clientGone = new CompletableFuture<>();
    Started s = start(queue, new CompletableFuture<>(), clientGone);

    clientGone.complete(Done.getInstance());

    assertEquals(s.enqueue().ticket().id(), next(queue, QueueCommand.Withdraw.class).ticketId());
  }

  @Test
  void aClientThatLeavesBeforeTheAnswerStartsCancelsTheServerCall() {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    TestProbe<AgentCommand> agent = testKit.createTestProbe();
    CompletableFuture<Done> clientGone = new CompletableFuture<>();
    Started s = start(queue, new CompletableFuture<>(), clientGone);
    String id = s.enqueue().ticket().id();
    s.actor().tell(new RequestCommand.Started(id, "s1", agent.ref()));

    clientGone.complete(Done.getInstance());

    assertEquals(id, agent.expectMessageClass(AgentCommand.CancelCall.class).ticketId());
  }

  @Test
  void anAgentThatStopsBeforeAnsweringSendsTheTicketBackToTheQueue() {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    TestProbe<AgentCommand> agent = testKit.createTestProbe();
    Started s = start(queue, new CompletableFuture<>(), new CompletableFuture<>());
    s.actor().tell(new RequestCommand.Started(s.enqueue().ticket().id(), "s1", agent.ref()));

    agent.stop();

    next(queue, QueueCommand.Enqueue.class);
  }
}
