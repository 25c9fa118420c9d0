package org.aiguillage.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import org.aiguillage.priority.QueuePolicy;
import org.aiguillage.protocol.RoutingMode;
import org.aiguillage.protocol.config.RoutingStrategy;
import org.aiguillage.protocol.dispatch.AgentCommand;
import org.aiguillage.protocol.dispatch.DispatchTicket;
import org.aiguillage.protocol.dispatch.LoadSnapshot;
import org.aiguillage.protocol.dispatch.QueueCommand;
import org.aiguillage.protocol.dispatch.RequestCommand;
import org.aiguillage.protocol.dispatch.ServerState;
import org.aiguillage.protocol.dispatch.TicketInfo;
import org.aiguillage.protocol.dispatch.UpstreamCall;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ManualTime;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The queue as an actor, on the test kit's manual time: its timers fire, and its clock moves, only when a test says
 * so ({@link #passes}), and "nothing reached the agent" is checked once the queue has handled every message before
 * ({@link #nothingReaches}), without waiting.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ModelQueueTest {

  private final ActorTestKit testKit = ActorTestKit.create(ManualTime.config());
  private final ManualTime time = ManualTime.get(testKit.system());
  /** The queues' clock, moved with the test kit's scheduler. */
  private static final ManualClock CLOCK = new ManualClock();
  private int sequence;

  private static final class ManualClock extends Clock {
    private volatile long millis = 1_700_000_000_000L;

    @Override
    public long millis() {
      return millis;
    }

    @Override
    public Instant instant() {
      return Instant.ofEpochMilli(millis);
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }
  }

  /** {@code d} passes for the queue: its clock moves, its timers fire, and it has handled them. */
  private void passes(ActorRef<QueueCommand> queue, Duration d) {
    settled(queue);
    CLOCK.millis += d.toMillis();
    time.timePasses(d);
    settled(queue);
  }

  /** Returns once the queue has handled every message sent to it before. */
  private void settled(ActorRef<QueueCommand> queue) {
    TestProbe<QueueCommand.Fleet> fleet = testKit.createTestProbe();
    queue.tell(new QueueCommand.GetFleet(fleet.ref()));
    fleet.expectMessageClass(QueueCommand.Fleet.class);
  }

  /** Nothing reached the probes from the messages the queue was sent so far. */
  private void nothingReaches(ActorRef<QueueCommand> queue, TestProbe<?>... probes) {
    settled(queue);
    for (TestProbe<?> probe : probes) {
      probe.expectNoMessage(Duration.ZERO);
    }
  }

  @AfterAll
  void stop() {
    testKit.shutdownTestKit();
  }

  private ActorRef<QueueCommand> queue(String strategy) {
    return queue(new QueueSettings(RoutingStrategy.fromWireName(strategy), QueuePolicy.NO_AGEING,
        Duration.ofSeconds(5), Duration.ofSeconds(3),
        Duration.ofSeconds(5)));
  }

  private ActorRef<QueueCommand> queue(QueueSettings settings) {
    return testKit.spawn(ModelQueue.create("m", name -> settings, CLOCK));
  }

  private DispatchTicket ticket(TestProbe<RequestCommand> requester, String org, int priority, long arrival,
      long deadline) {
    String id = "t" + ++sequence;
    return new DispatchTicket(new TicketInfo(id, "m", "key-" + org, org, priority, RoutingMode.ANY, arrival,
        deadline, 10, 3), new UpstreamCall("/v1/chat/completions", new byte[0], true, false), requester.ref());
  }

  private DispatchTicket ticket(TestProbe<RequestCommand> requester) {
    long now = CLOCK.millis();
    return ticket(requester, "univ-a", 3, now, now + 60_000);
  }

  private static QueueCommand.Demand demand(String serverId, TestProbe<AgentCommand> agent, String org, int free,
      long seen, int inFlight, int maxParallel) {
    return new QueueCommand.Demand(serverId, agent.ref(), org, "dc1", free, seen,
        new LoadSnapshot(inFlight, maxParallel, -1, -1, -1, 0, CLOCK.millis()));
  }

  @Test
  void aTicketWaitsForDemandThenGoesToTheAgentThatHasRoom() {
    ActorRef<QueueCommand> queue = queue("least-busy");
    TestProbe<AgentCommand> agent = testKit.createTestProbe();
    TestProbe<RequestCommand> requester = testKit.createTestProbe();
    DispatchTicket ticket = ticket(requester);

    queue.tell(new QueueCommand.Enqueue(ticket));
    nothingReaches(queue, agent);
    queue.tell(demand("s1", agent, "univ-a", 1, 0, 0, 4));

    assertEquals(ticket, agent.expectMessageClass(AgentCommand.Assign.class).ticket());
  }

  @Test
  void anAgentNeverGetsMoreThanItAskedForCountingAssignmentsStillOnTheirWay() {
    ActorRef<QueueCommand> queue = queue("least-busy");
    TestProbe<AgentCommand> agent = testKit.createTestProbe();
    TestProbe<RequestCommand> requester = testKit.createTestProbe();
    queue.tell(demand("s1", agent, "univ-a", 2, 0, 0, 2));

    for (int i = 0; i < 3; i++) {
      queue.tell(new QueueCommand.Enqueue(ticket(requester, "org-" + i, 3, 0, Long.MAX_VALUE)));
    }
    agent.expectMessageClass(AgentCommand.Assign.class);
    agent.expectMessageClass(AgentCommand.Assign.class);
    nothingReaches(queue, agent);
    // A demand counted before the two assignments arrived says nothing new: still no room.
    queue.tell(demand("s1", agent, "univ-a", 2, 0, 0, 2));
    nothingReaches(queue, agent);
    // One call ended after both were seen: one slot.
    queue.tell(demand("s1", agent, "univ-a", 1, 2, 1, 2));

    agent.expectMessageClass(AgentCommand.Assign.class);
  }

  @Test
  void betweenEqualServersTheOneInTheEdgesDatacentreServes() {
    ActorRef<QueueCommand> queue = queue("least-busy");
    TestProbe<AgentCommand> inDc1 = testKit.createTestProbe();
    TestProbe<AgentCommand> inDc2 = testKit.createTestProbe();
    TestProbe<RequestCommand> requester = testKit.createTestProbe();
    // "a-..." sorts first: without the datacentre rule it would win the tie.
    queue.tell(new QueueCommand.Demand("a-server", inDc1.ref(), "univ-a", "dc1", 4, 0,
        new LoadSnapshot(0, 4, -1, -1, -1, 0, CLOCK.millis())));
    queue.tell(new QueueCommand.Demand("b-server", inDc2.ref(), "univ-a", "dc2", 4, 0,
        new LoadSnapshot(0, 4, -1, -1, -1, 0, CLOCK.millis())));
    long now = CLOCK.millis();
    DispatchTicket fromDc2 = new DispatchTicket(new TicketInfo("t-dc2", "m", "key-a", "univ-a", 3, RoutingMode.ANY,
        now, now + 60_000, 10, 3, "dc2"), new UpstreamCall("/v1/chat/completions", new byte[0], true, false),
        requester.ref());

    queue.tell(new QueueCommand.Enqueue(fromDc2));

    assertEquals(fromDc2, inDc2.expectMessageClass(AgentCommand.Assign.class).ticket());
    nothingReaches(queue, inDc1);
  }

  @Test
  void leastBusyPrefersTheServerWithTheMostRoomForItsSizeNotTheFewestCalls() {
    ActorRef<QueueCommand> queue = queue("least-busy");
    TestProbe<AgentCommand> big = testKit.createTestProbe();
    TestProbe<AgentCommand> small = testKit.createTestProbe();
    TestProbe<RequestCommand> requester = testKit.createTestProbe();
    queue.tell(demand("big", big, "univ-a", 90, 0, 10, 100)); // 10% busy
    queue.tell(demand("small", small, "univ-b", 6, 0, 4, 10)); // 40% busy

    queue.tell(new QueueCommand.Enqueue(ticket(requester)));

    big.expectMessageClass(AgentCommand.Assign.class);
    nothingReaches(queue, small);
  }

  /** A ready agent's demand whose snapshot carries what it learnt from its server's metrics. */
  private static QueueCommand.Demand demandWithMetrics(String serverId, TestProbe<AgentCommand> agent, int inFlight,
      int maxParallel, int otherCalls, int batchLimit) {
    return demandWithSteps(serverId, agent, inFlight, maxParallel, otherCalls, batchLimit, -1, -1, 0);
  }

  /** The same, with the step curve its agent learnt ({@code base + perCall x running} ms) and its calls still prefilling. */
  private static QueueCommand.Demand demandWithSteps(String serverId, TestProbe<AgentCommand> agent, int inFlight,
      int maxParallel, int otherCalls, int batchLimit, double base, double perCall, int awaitingFirstToken) {
    return new QueueCommand.Demand(serverId, agent.ref(), "univ-a", "dc1", maxParallel - inFlight, 0,
        new LoadSnapshot(inFlight, maxParallel, inFlight + otherCalls, 0, 0.3, 0, CLOCK.millis(),
            ServerState.READY, otherCalls, batchLimit, base, perCall, awaitingFirstToken));
  }

  @Test
  void leastBusyGivesTheFastServerMoreThanItsShareWhileItsStepsStayShorter() {
    ActorRef<QueueCommand> queue = queue("least-busy");
    TestProbe<AgentCommand> fast = testKit.createTestProbe();
    TestProbe<AgentCommand> slow = testKit.createTestProbe();
    // Fuller for its size (50 of 64 against 10 of 16), but its next step is shorter: 8 + 0.3 x 51 = 23.3 ms against
    // 20 + 0.32 x 11 = 23.5 ms.
    queue.tell(demandWithSteps("a-fast", fast, 50, 64, 0, -1, 8, 0.3, 0));
    queue.tell(demandWithSteps("b-slow", slow, 10, 16, 0, -1, 20, 0.32, 0));

    queue.tell(new QueueCommand.Enqueue(ticket(testKit.createTestProbe())));

    fast.expectMessageClass(AgentCommand.Assign.class);
    nothingReaches(queue, slow);
  }

  @Test
  void leastBusySpreadsRequestsThatArriveTogetherRatherThanPrefillingThemOnOneServer() {
    ActorRef<QueueCommand> queue = queue("least-busy");
    TestProbe<AgentCommand> a = testKit.createTestProbe();
    TestProbe<AgentCommand> b = testKit.createTestProbe();
    queue.tell(demandWithSteps("a", a, 10, 64, 0, -1, 8, 0.3, 0));
    queue.tell(demandWithSteps("b", b, 11, 64, 0, -1, 8, 0.3, 0));

    queue.tell(new QueueCommand.Enqueue(ticket(testKit.createTestProbe())));
    queue.tell(new QueueCommand.Enqueue(ticket(testKit.createTestProbe())));

    // The first makes a's calls 11 like b's, but it still waits for its first token there: the second goes to b.
    a.expectMessageClass(AgentCommand.Assign.class);
    b.expectMessageClass(AgentCommand.Assign.class);
    nothingReaches(queue, a);
  }

  @Test
  void leastBusyCountsItsOwnRecentAssignmentsAsPrefillingBeforeTheAgentSaysSo() {
    ActorRef<QueueCommand> queue = queue("least-busy");
    TestProbe<AgentCommand> a = testKit.createTestProbe();
    TestProbe<AgentCommand> b = testKit.createTestProbe();
    // The agents have measured a 200 ms TTFT; a is the cheaper by a little. Their demands then say nothing new.
    queue.tell(demandWithTtft("a", a, 10, 0.2));
    queue.tell(demandWithTtft("b", b, 12, 0.2));

    queue.tell(new QueueCommand.Enqueue(ticket(testKit.createTestProbe())));
    a.expectMessageClass(AgentCommand.Assign.class);
    // a's agent saw the assignment and answers with its usual demand, its call not counted as prefilling yet.
    queue.tell(new QueueCommand.Demand("a", a.ref(), "univ-a", "dc1", 53, 1, new LoadSnapshot(11, 64, 11, 0, 0.3,
        0.2, CLOCK.millis(), ServerState.READY, 0, -1, 8, 0.3, 0)));
    queue.tell(new QueueCommand.Enqueue(ticket(testKit.createTestProbe())));

    // Sent 200 ms ago at most, a's last assignment is still being prefilled: the next one goes to b.
    b.expectMessageClass(AgentCommand.Assign.class);
    nothingReaches(queue, a);
  }

  private static QueueCommand.Demand demandWithTtft(String serverId, TestProbe<AgentCommand> agent, int inFlight,
      double recentTtftSeconds) {
    return new QueueCommand.Demand(serverId, agent.ref(), "univ-a", "dc1", 64 - inFlight, 0,
        new LoadSnapshot(inFlight, 64, inFlight, 0, 0.3, recentTtftSeconds, CLOCK.millis(),
            ServerState.READY, 0, -1, 8, 0.3, 0));
  }

  @Test
  void leastBusyByStepsStillSendsNothingToAServerWhoseBatchIsFull() {
    ActorRef<QueueCommand> queue = queue("least-busy");
    TestProbe<AgentCommand> full = testKit.createTestProbe();
    TestProbe<AgentCommand> slower = testKit.createTestProbe();
    // The first runs the 16 it was seen to run at most: a new request would wait there, however short its steps.
    queue.tell(demandWithSteps("a-full", full, 16, 64, 0, 16, 8, 0.3, 0));
    queue.tell(demandWithSteps("b-slower", slower, 30, 64, 0, -1, 20, 0.5, 0));

    queue.tell(new QueueCommand.Enqueue(ticket(testKit.createTestProbe())));

    slower.expectMessageClass(AgentCommand.Assign.class);
    nothingReaches(queue, full);
  }

  @Test
  void leastBusyByStepsKeepsSlotsFreeForTheCallsOfOthersOnASharedServer() {
    ActorRef<QueueCommand> queue = queue("least-busy");
    TestProbe<AgentCommand> shared = testKit.createTestProbe();
    TestProbe<AgentCommand> ours = testKit.createTestProbe();
    // 8 of ours and 6 of its university's users on 16: two slots left, fewer than the 3 kept for those 6 to move.
    queue.tell(demandWithSteps("a-shared", shared, 8, 16, 6, -1, 8, 0.3, 0));
    queue.tell(demandWithSteps("b-ours", ours, 40, 64, 0, -1, 8, 0.5, 0));

    queue.tell(new QueueCommand.Enqueue(ticket(testKit.createTestProbe())));

    ours.expectMessageClass(AgentCommand.Assign.class);
    nothingReaches(queue, shared);
  }

  @Test
  void leastBusyScoresByFullnessWhileOneServerHasNoStepCurve() {
    ActorRef<QueueCommand> queue = queue("least-busy");
    TestProbe<AgentCommand> fast = testKit.createTestProbe();
    TestProbe<AgentCommand> unknown = testKit.createTestProbe();
    // Steps in ms and fullness do not compare: with one curve unknown, both are scored by how full they are.
    queue.tell(demandWithSteps("a-fast", fast, 50, 64, 0, -1, 8, 0.3, 0));
    queue.tell(demandWithMetrics("b-unknown", unknown, 10, 16, 0, -1));

    queue.tell(new QueueCommand.Enqueue(ticket(testKit.createTestProbe())));

    unknown.expectMessageClass(AgentCommand.Assign.class);
    nothingReaches(queue, fast);
  }

  @Test
  void leastBusyScoresAServerByTheBatchItWasSeenToRunNotByItsCeiling() {
    ActorRef<QueueCommand> queue = queue("least-busy");
    TestProbe<AgentCommand> big = testKit.createTestProbe();
    TestProbe<AgentCommand> overstated = testKit.createTestProbe();
    // Both configured with a ceiling of 64; the second was seen running 16 while queueing more.
    queue.tell(demandWithMetrics("big", big, 30, 64, 0, -1)); // 30 of 64
    queue.tell(demandWithMetrics("overstated", overstated, 12, 64, 0, 16)); // 12 of 16

    queue.tell(new QueueCommand.Enqueue(ticket(testKit.createTestProbe())));

    big.expectMessageClass(AgentCommand.Assign.class);
    nothingReaches(queue, overstated);
  }

  @Test
  void leastBusyCountsTheCallsOthersHaveOnAServer() {
    ActorRef<QueueCommand> queue = queue("least-busy");
    TestProbe<AgentCommand> sharedWithLocals = testKit.createTestProbe();
    TestProbe<AgentCommand> ours = testKit.createTestProbe();
    // The same size and the same calls of ours; the first also runs 10 requests of its university's own users.
    queue.tell(demandWithMetrics("a-shared", sharedWithLocals, 4, 16, 10, -1));
    queue.tell(demandWithMetrics("b-ours", ours, 4, 16, 0, -1));

    queue.tell(new QueueCommand.Enqueue(ticket(testKit.createTestProbe())));

    ours.expectMessageClass(AgentCommand.Assign.class);
    nothingReaches(queue, sharedWithLocals);
  }

  @Test
  void roundRobinTakesTheServersInTurn() {
    ActorRef<QueueCommand> queue = queue("round-robin");
    TestProbe<AgentCommand> a = testKit.createTestProbe();
    TestProbe<AgentCommand> b = testKit.createTestProbe();
    TestProbe<RequestCommand> requester = testKit.createTestProbe();
    queue.tell(demand("a", a, "univ-a", 10, 0, 0, 10));
    queue.tell(demand("b", b, "univ-a", 10, 0, 0, 10));

    for (int i = 0; i < 4; i++) {
      queue.tell(new QueueCommand.Enqueue(ticket(requester, "org-" + i, 3, 0, Long.MAX_VALUE)));
    }

    a.expectMessageClass(AgentCommand.Assign.class);
    a.expectMessageClass(AgentCommand.Assign.class);
    b.expectMessageClass(AgentCommand.Assign.class);
    b.expectMessageClass(AgentCommand.Assign.class);
  }

  @Test
  void aRefusedTicketGoesToAnotherServer() {
    ActorRef<QueueCommand> queue = queue("round-robin");
    TestProbe<AgentCommand> a = testKit.createTestProbe();
    TestProbe<AgentCommand> b = testKit.createTestProbe();
    TestProbe<RequestCommand> requester = testKit.createTestProbe();
    queue.tell(demand("a", a, "univ-a", 1, 0, 0, 1));
    queue.tell(new QueueCommand.Enqueue(ticket(requester)));
    DispatchTicket ticket = a.expectMessageClass(AgentCommand.Assign.class).ticket();

    queue.tell(demand("b", b, "univ-a", 1, 0, 0, 1));
    queue.tell(new QueueCommand.AssignRefused(ticket.id(), "a"));

    assertEquals(ticket, b.expectMessageClass(AgentCommand.Assign.class).ticket());
  }

  @Test
  void theAssignmentsOfAnAgentThatStopsGoToAnotherServer() {
    ActorRef<QueueCommand> queue = queue("round-robin");
    TestProbe<AgentCommand> a = testKit.createTestProbe();
    TestProbe<AgentCommand> b = testKit.createTestProbe();
    TestProbe<RequestCommand> requester = testKit.createTestProbe();
    queue.tell(demand("a", a, "univ-a", 1, 0, 0, 1));
    queue.tell(new QueueCommand.Enqueue(ticket(requester)));
    DispatchTicket ticket = a.expectMessageClass(AgentCommand.Assign.class).ticket();
    queue.tell(demand("b", b, "univ-a", 1, 0, 0, 1));

    a.stop();

    assertEquals(ticket, b.expectMessageClass(AgentCommand.Assign.class).ticket());
  }

  @Test
  void anOrganisationsOwnTicketGoesFirstOnItsServerWhateverItsPriority() {
    ActorRef<QueueCommand> queue = queue("least-busy");
    TestProbe<AgentCommand> agentOfA = testKit.createTestProbe();
    TestProbe<RequestCommand> requester = testKit.createTestProbe();
    DispatchTicket guest = ticket(requester, "univ-b", 5, 0, Long.MAX_VALUE);
    DispatchTicket owner = ticket(requester, "univ-a", 1, 1, Long.MAX_VALUE);
    queue.tell(new QueueCommand.Enqueue(guest));
    queue.tell(new QueueCommand.Enqueue(owner));

    queue.tell(demand("gpu-a", agentOfA, "univ-a", 1, 0, 0, 1));

    assertEquals(owner, agentOfA.expectMessageClass(AgentCommand.Assign.class).ticket());
  }

  @Test
  void aKeyOverItsThresholdIsTurnedAwayWith429() {
    ActorRef<QueueCommand> queue = queue("least-busy"); // the tickets' key allows 3 waiting
    TestProbe<RequestCommand> requester = testKit.createTestProbe();

    for (int i = 0; i < 3; i++) {
      queue.tell(new QueueCommand.Enqueue(ticket(requester)));
    }
    queue.tell(new QueueCommand.Enqueue(ticket(requester)));

    RequestCommand.Rejected rejected = requester.expectMessageClass(RequestCommand.Rejected.class);
    assertEquals(429, rejected.status());
    assertEquals("queue_threshold", rejected.error().error().code());
  }

  @Test
  void aTicketStillWaitingAtItsDeadlineGets503WithRetryAfter() {
    ActorRef<QueueCommand> queue = queue("least-busy");
    TestProbe<AgentCommand> busy = testKit.createTestProbe();
    TestProbe<RequestCommand> requester = testKit.createTestProbe();
    queue.tell(demand("s1", busy, "univ-a", 0, 0, 4, 4));
    long now = CLOCK.millis();

    queue.tell(new QueueCommand.Enqueue(ticket(requester, "univ-a", 3, now, now + 200)));
    nothingReaches(queue, requester);
    passes(queue, ModelQueue.TICK);

    RequestCommand.Rejected rejected = requester.expectMessageClass(RequestCommand.Rejected.class);
    assertEquals(503, rejected.status());
    assertEquals("queue_timeout", rejected.error().error().code());
    assertEquals(true, rejected.retryAfterSeconds() > 0);
  }

  @Test
  void withNoLiveAgentAQueuePastItsStartupGraceAnswers503AtOnce() {
    ActorRef<QueueCommand> queue = queue(new QueueSettings(RoutingStrategy.LEAST_BUSY, QueuePolicy.NO_AGEING,
        Duration.ofSeconds(5),
        Duration.ofMillis(100), Duration.ofSeconds(5)));
    TestProbe<RequestCommand> requester = testKit.createTestProbe();
    passes(queue, Duration.ofMillis(200));

    queue.tell(new QueueCommand.Enqueue(ticket(requester)));

    assertEquals("no_server_available",
        requester.expectMessageClass(RequestCommand.Rejected.class).error().error().code());
  }

  @Test
  void aTicketWhoseLeaseLapsesIsDroppedAndAReassertedOneKeepsItsArrivalTime() {
    ActorRef<QueueCommand> queue = queue(new QueueSettings(RoutingStrategy.LEAST_BUSY, QueuePolicy.NO_AGEING,
        Duration.ofMillis(300), Duration.ofSeconds(10), Duration.ofSeconds(5)));
    TestProbe<AgentCommand> agent = testKit.createTestProbe();
    TestProbe<RequestCommand> requester = testKit.createTestProbe();
    DispatchTicket abandoned = ticket(requester, "univ-a", 3, 1, Long.MAX_VALUE);
    DispatchTicket later = ticket(requester, "univ-b", 3, 100, Long.MAX_VALUE);
    DispatchTicket earlier = ticket(requester, "univ-c", 3, 50, Long.MAX_VALUE);
    queue.tell(new QueueCommand.Enqueue(abandoned));
    queue.tell(new QueueCommand.Enqueue(later));

    // Only `later` is kept alive; `earlier` comes back as if its queue had restarted elsewhere.
    for (int i = 0; i < 6; i++) {
      passes(queue, Duration.ofMillis(150));
      queue.tell(new QueueCommand.Reassert(later));
    }
    queue.tell(new QueueCommand.Reassert(earlier));
    queue.tell(demand("s1", agent, "shared", 3, 0, 0, 3));

    assertEquals(earlier, agent.expectMessageClass(AgentCommand.Assign.class).ticket());
    assertEquals(later, agent.expectMessageClass(AgentCommand.Assign.class).ticket());
    nothingReaches(queue, agent);
  }

  @Test
  void aLateReassertionOfATicketAlreadyStartedDoesNotServeItTwice() {
    ActorRef<QueueCommand> queue = queue("least-busy");
    TestProbe<AgentCommand> agent = testKit.createTestProbe();
    TestProbe<RequestCommand> requester = testKit.createTestProbe();
    DispatchTicket ticket = ticket(requester);
    queue.tell(demand("s1", agent, "univ-a", 4, 0, 0, 4));
    queue.tell(new QueueCommand.Enqueue(ticket));
    agent.expectMessageClass(AgentCommand.Assign.class);

    // The agent's acceptance and the requester's last lease renewal cross.
    queue.tell(new QueueCommand.AssignAccepted(ticket.id(), "s1"));
    queue.tell(new QueueCommand.Reassert(ticket));

    nothingReaches(queue, agent);
    // A retry (the server failed before answering) is an explicit Enqueue, and is served again.
    queue.tell(new QueueCommand.Enqueue(ticket));
    assertEquals(ticket, agent.expectMessageClass(AgentCommand.Assign.class).ticket());
  }

  @Test
  void aTicketWithdrawnWhileOnItsWayToAnAgentIsCancelledThere() {
    ActorRef<QueueCommand> queue = queue("least-busy");
    TestProbe<AgentCommand> agent = testKit.createTestProbe();
    TestProbe<RequestCommand> requester = testKit.createTestProbe();
    DispatchTicket assigned = ticket(requester);
    DispatchTicket accepted = ticket(requester);
    queue.tell(demand("s1", agent, "univ-a", 4, 0, 0, 4));
    queue.tell(new QueueCommand.Enqueue(assigned));
    queue.tell(new QueueCommand.Enqueue(accepted));
    agent.expectMessageClass(AgentCommand.Assign.class);
    agent.expectMessageClass(AgentCommand.Assign.class);
    queue.tell(new QueueCommand.AssignAccepted(accepted.id(), "s1"));

    queue.tell(new QueueCommand.Withdraw(assigned.id()));
    queue.tell(new QueueCommand.Withdraw(accepted.id()));

    assertEquals(assigned.id(), agent.expectMessageClass(AgentCommand.CancelCall.class).ticketId());
    assertEquals(accepted.id(), agent.expectMessageClass(AgentCommand.CancelCall.class).ticketId());
  }

  /** A chat ticket whose prompt is {@code prompt}, in the conversation {@code session} (null: none named). */
  private DispatchTicket chat(TestProbe<RequestCommand> requester, String prompt, String session) {
    long now = CLOCK.millis();
    return new DispatchTicket(new TicketInfo("t" + ++sequence, "m", "key-a", "univ-a", 3, RoutingMode.ANY, now,
        now + 60_000, 10, 3, "dc1", null, org.aiguillage.priority.PromptPrefix.blocks(prompt), session),
        new UpstreamCall("/v1/chat/completions", new byte[0], true, false), requester.ref());
  }

  private static final String SYSTEM_PROMPT = "You are the federation's assistant. ".repeat(200);

  /** Two idle servers; the first turn of a conversation went to "a", which now has that call and "b" none. */
  private ActorRef<QueueCommand> afterAFirstTurnOnA(QueueSettings settings, TestProbe<AgentCommand> a,
      TestProbe<AgentCommand> b, String session) {
    ActorRef<QueueCommand> queue = queue(settings);
    queue.tell(demandWithMetrics("a", a, 0, 20, 0, -1));
    queue.tell(demandWithMetrics("b", b, 0, 20, 0, -1));
    queue.tell(new QueueCommand.Enqueue(chat(testKit.createTestProbe(), SYSTEM_PROMPT + "user: hello", session)));
    a.expectMessageClass(AgentCommand.Assign.class);
    queue.tell(demandWithMetrics("a", a, 1, 20, 0, -1));
    queue.tell(demandWithMetrics("b", b, 0, 20, 0, -1));
    return queue;
  }

  private static QueueSettings leastBusy(boolean prefixAffinity) {
    return new QueueSettings(RoutingStrategy.LEAST_BUSY, QueuePolicy.NO_AGEING, Duration.ofSeconds(5),
        Duration.ofSeconds(3), Duration.ofSeconds(5), prefixAffinity, QueueSettings.PREFIX_BLOCKS_PER_SERVER);
  }

  @Test
  void aConversationsNextTurnGoesBackToTheServerHoldingItsPrefixThoughItIsBusier() {
    TestProbe<AgentCommand> a = testKit.createTestProbe();
    TestProbe<AgentCommand> b = testKit.createTestProbe();
    ActorRef<QueueCommand> queue = afterAFirstTurnOnA(leastBusy(true), a, b, null);

    queue.tell(new QueueCommand.Enqueue(chat(testKit.createTestProbe(),
        SYSTEM_PROMPT + "user: hello assistant: hi user: what is a GPU?", null)));

    a.expectMessageClass(AgentCommand.Assign.class);
    nothingReaches(queue, b);
  }

  @Test
  void withoutPrefixAffinityTheNextTurnGoesToTheLeastBusyServer() {
    TestProbe<AgentCommand> a = testKit.createTestProbe();
    TestProbe<AgentCommand> b = testKit.createTestProbe();
    ActorRef<QueueCommand> queue = afterAFirstTurnOnA(leastBusy(false), a, b, null);

    queue.tell(new QueueCommand.Enqueue(chat(testKit.createTestProbe(),
        SYSTEM_PROMPT + "user: hello assistant: hi user: what is a GPU?", null)));

    b.expectMessageClass(AgentCommand.Assign.class);
    nothingReaches(queue, a);
  }

  @Test
  void aHotPrefixSpreadsWhenItsServerIsLoadedBeyondWhatThePrefillSaves() {
    TestProbe<AgentCommand> a = testKit.createTestProbe();
    TestProbe<AgentCommand> b = testKit.createTestProbe();
    ActorRef<QueueCommand> queue = afterAFirstTurnOnA(leastBusy(true), a, b, null);
    queue.tell(demandWithMetrics("a", a, 15, 20, 0, -1)); // three quarters busy

    queue.tell(new QueueCommand.Enqueue(chat(testKit.createTestProbe(),
        SYSTEM_PROMPT + "user: hello assistant: hi user: what is a GPU?", null)));

    b.expectMessageClass(AgentCommand.Assign.class);
    nothingReaches(queue, a);
  }

  @Test
  void aNamedConversationStaysOnItsServerWhileThatServerHasRoom() {
    TestProbe<AgentCommand> a = testKit.createTestProbe();
    TestProbe<AgentCommand> b = testKit.createTestProbe();
    ActorRef<QueueCommand> queue = afterAFirstTurnOnA(leastBusy(true), a, b, "key-a:alice");
    queue.tell(demandWithMetrics("a", a, 10, 20, 0, -1)); // half busy, b idle

    queue.tell(new QueueCommand.Enqueue(chat(testKit.createTestProbe(), "a prompt of its own", "key-a:alice")));
    a.expectMessageClass(AgentCommand.Assign.class);
    queue.tell(new QueueCommand.Enqueue(chat(testKit.createTestProbe(), "a prompt of its own", "key-a:bob")));
    b.expectMessageClass(AgentCommand.Assign.class);
  }

  private DispatchTicket followUp(TestProbe<RequestCommand> requester, String previousResponseId) {
    long now = CLOCK.millis();
    return new DispatchTicket(new TicketInfo("t" + ++sequence, "m", "key-a", "univ-a", 3, RoutingMode.ANY, now,
        now + 60_000, 10, 3, "dc1", previousResponseId),
        new UpstreamCall("/v1/responses", new byte[0], false, true), requester.ref());
  }

  @Test
  void aResponsesFollowUpGoesToTheServerThatAnsweredItsPreviousResponseOr404WhenThatServerIsGone() {
    ActorRef<QueueCommand> queue = queue("least-busy");
    TestProbe<AgentCommand> s1 = testKit.createTestProbe();
    TestProbe<AgentCommand> s2 = testKit.createTestProbe();
    TestProbe<RequestCommand> requester = testKit.createTestProbe();
    queue.tell(demand("s2", s2, "univ-a", 0, 0, 4, 4)); // full for now
    queue.tell(demand("s1", s1, "univ-a", 4, 0, 0, 4)); // the idlest, and first by name: any other ticket's server
    queue.tell(new QueueCommand.ResponseStored("resp_1", "s2"));
    queue.tell(new QueueCommand.ResponseStored("resp_2", "s3"));
    DispatchTicket toS2 = followUp(requester, "resp_1");
    queue.tell(new QueueCommand.Enqueue(toS2));
    nothingReaches(queue, s1);
    queue.tell(demand("s2", s2, "univ-a", 1, 0, 3, 4));

    assertEquals(toS2, s2.expectMessageClass(AgentCommand.Assign.class).ticket());

    queue.tell(new QueueCommand.Enqueue(followUp(requester, "resp_2")));
    RequestCommand.Rejected gone = requester.expectMessageClass(RequestCommand.Rejected.class);
    assertEquals(404, gone.status());
    assertEquals("previous_response_id", gone.error().error().param());

    DispatchTicket unknown = followUp(requester, "resp_never_seen");
    queue.tell(new QueueCommand.Enqueue(unknown));
    assertEquals(unknown, s1.expectMessageClass(AgentCommand.Assign.class).ticket(), "any server: it answers 404");
  }

  private DispatchTicket batchLine(String lineId, TestProbe<RequestCommand> sender) {
    long now = CLOCK.millis();
    return new DispatchTicket(new TicketInfo("req-" + lineId, "m", "key-a", "univ-a", 3, RoutingMode.ANY, now,
        now + 60_000, 10, 3).asBatchLine(lineId, now + 60_000),
        new UpstreamCall("/v1/chat/completions", new byte[0], false, false), sender.ref());
  }

  @Test
  void aBatchLineWaitsWhileItsServerIsFullWhereAnInteractiveTicketGoes() {
    ActorRef<QueueCommand> queue = queue("least-busy");
    TestProbe<AgentCommand> agent = testKit.createTestProbe();
    TestProbe<RequestCommand> requester = testKit.createTestProbe();
    queue.tell(demand("s1", agent, "univ-a", 1, 0, 4, 4));

    queue.tell(new QueueCommand.Enqueue(batchLine("batch-1", requester)));
    nothingReaches(queue, agent);
    DispatchTicket interactive = ticket(requester);
    queue.tell(new QueueCommand.Enqueue(interactive));

    assertEquals(interactive, agent.expectMessageClass(AgentCommand.Assign.class).ticket());
  }

  @Test
  void batchLinesFillNoMoreOfAServerThanTheModelsShare() {
    ActorRef<QueueCommand> queue = queue(new QueueSettings(RoutingStrategy.LEAST_BUSY, QueuePolicy.NO_AGEING,
        Duration.ofSeconds(5), Duration.ofSeconds(3), Duration.ofSeconds(5), true, 1024, 0.5));
    TestProbe<AgentCommand> agent = testKit.createTestProbe();
    TestProbe<RequestCommand> requester = testKit.createTestProbe();
    queue.tell(demand("s1", agent, "univ-a", 4, 0, 1, 4));

    for (int i = 0; i < 3; i++) {
      queue.tell(new QueueCommand.Enqueue(batchLine("batch-" + i, requester)));
    }

    // One call ran; with this line two of four: half the server.
    assertEquals("batch-0", agent.expectMessageClass(AgentCommand.Assign.class).ticket().id());
    nothingReaches(queue, agent);
  }

  @Test
  void aBatchLineSentAgainByItsBatchsNewIncarnationTakesTheWaitingOnesPlace() {
    ActorRef<QueueCommand> queue = queue("least-busy");
    TestProbe<AgentCommand> agent = testKit.createTestProbe();
    TestProbe<RequestCommand> gone = testKit.createTestProbe();
    TestProbe<RequestCommand> again = testKit.createTestProbe();

    queue.tell(new QueueCommand.Enqueue(batchLine("batch-7", gone)));
    queue.tell(new QueueCommand.Enqueue(batchLine("batch-7", again)));
    queue.tell(demand("s1", agent, "univ-a", 4, 0, 0, 4));

    assertEquals(again.ref(), agent.expectMessageClass(AgentCommand.Assign.class).ticket().requester());
    nothingReaches(queue, agent);
  }
}
