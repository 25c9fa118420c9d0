package org.aiguillage.priority.routing;

import static org.aiguillage.priority.routing.Servers.DEMAND_TIMEOUT;
import static org.aiguillage.priority.routing.Servers.server;
import static org.aiguillage.priority.routing.Servers.ticket;
import static org.aiguillage.priority.routing.Servers.withSteps;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.aiguillage.priority.routing.Servers.ManualClock;
import org.aiguillage.protocol.config.RoutingStrategy;
import org.aiguillage.protocol.dispatch.LoadSnapshot;
import org.aiguillage.protocol.dispatch.ServerState;
import org.aiguillage.protocol.dispatch.TicketInfo;
import org.junit.jupiter.api.Test;

/** The routing strategies on hand-made fleets, time moved by hand. */
class RoutingTest {

  private final ManualClock clock = new ManualClock();

  private Routing routing(RoutingStrategy strategy) {
    return Routing.of(strategy, true, 1024, clock, new Random(7));
  }

  /** The server the strategy gives {@code ticket}, sent there. */
  private static ServerLoad route(Routing routing, List<ServerLoad> fleet, TicketInfo ticket) {
    List<ServerLoad> order = routing.order(fleet, DEMAND_TIMEOUT);
    ServerLoad chosen = routing.place(order.get(0), order, ticket);
    routing.sent(chosen, ticket);
    return chosen;
  }

  @Test
  void aServerWhoseDemandIsOlderThanTheTimeoutIsNoLongerOffered() {
    Routing routing = routing(RoutingStrategy.LEAST_BUSY);
    ServerLoad s = server("s1", "univ-a", 4, 0, 4, clock);

    clock.advance(DEMAND_TIMEOUT);
    assertEquals(List.of(s), routing.order(List.of(s), DEMAND_TIMEOUT));
    clock.advance(Duration.ofMillis(1));
    assertEquals(List.of(), routing.order(List.of(s), DEMAND_TIMEOUT));
  }

  @Test
  void assignmentsOnTheirWayTakeTheAgentsSlots() {
    Routing routing = routing(RoutingStrategy.ROUND_ROBIN);
    ServerLoad s = server("s1", "univ-a", 2, 0, 2, clock);

    route(routing, List.of(s), ticket("t1"));
    route(routing, List.of(s), ticket("t2"));

    assertEquals(0, s.credit());
    assertEquals(List.of(), routing.order(List.of(s), DEMAND_TIMEOUT));
  }

  @Test
  void roundRobinTakesTheServersInTurn() {
    Routing routing = routing(RoutingStrategy.ROUND_ROBIN);
    List<ServerLoad> fleet = List.of(server("b", "univ-a", 9, 0, 9, clock), server("a", "univ-a", 9, 0, 9, clock),
        server("c", "univ-b", 9, 0, 9, clock));

    List<String> served = List.of(1, 2, 3, 4).stream().map(i -> route(routing, fleet, ticket("t" + i)).serverId())
        .toList();

    assertEquals(List.of("a", "b", "c", "a"), served);
  }

  @Test
  void leastBusyFillsTheServerWhoseStepStaysCheapest() {
    Routing routing = routing(RoutingStrategy.LEAST_BUSY);
    long now = clock.millis();
    ServerLoad fast = server("fast", "univ-a", "dc1", 64, withSteps(0, 64, 0, 0, 8, 0.3, now), clock);
    ServerLoad slow = server("slow", "univ-b", "dc1", 16, withSteps(0, 16, 0, 0, 20, 2.5, now), clock);
    List<ServerLoad> fleet = List.of(fast, slow);

    int toFast = 0;
    for (int i = 0; i < 40; i++) {
      toFast += route(routing, fleet, ticket("t" + i)) == fast ? 1 : 0;
      // Two seconds later (no call prefilling any more) each agent has seen its calls: none has ended.
      clock.advance(Duration.ofSeconds(2));
      fast.demand("univ-a", "dc1", 64 - toFast, toFast, withSteps(toFast, 64, 0, 0, 8, 0.3, clock.millis()),
          clock.millis());
      slow.demand("univ-b", "dc1", 16 - (i + 1 - toFast), i + 1 - toFast,
          withSteps(i + 1 - toFast, 16, 0, 0, 20, 2.5, clock.millis()), clock.millis());
    }

    // Step 8 + 0.3 n reaches the slow server's 22.5 ms at one call past n = 47: every one of the 40 goes to the fast one.
    assertEquals(40, toFast);
  }

  /** A snapshot without a step curve (no inter-token histogram), with the agent's recent time to first token. */
  private LoadSnapshot withoutSteps(int inFlight, int maxParallel, double ttftSeconds) {
    return new LoadSnapshot(inFlight, maxParallel, inFlight, 0, 0, ttftSeconds, clock.millis());
  }

  @Test
  void withoutStepCurvesLeastBusyGoesWhereTheMeasuredFirstTokenScaledToTheLoadIsShortest() {
    Routing routing = routing(RoutingStrategy.LEAST_BUSY);
    // Both announce 64 slots. The first runs 30 and answered its first tokens in 100 ms; the second runs 2, in 400.
    ServerLoad fast = server("fast", "univ-a", "dc1", 34, withoutSteps(30, 64, 0.1), clock);
    ServerLoad slow = server("slow", "univ-b", "dc1", 62, withoutSteps(2, 64, 0.4), clock);

    // Emptier for its size, the slow one would win by fullness; its first token, 400 x (1 + 3/64) / (1 + 2/64) ms,
    // is still longer than the fast one's at 31 calls, 100 x (1 + 31/64) / (1 + 30/64).
    assertEquals(LeastBusy.Score.FIRST_TOKENS, LeastBusy.Score.of(List.of(fast, slow)));
    assertEquals(101.1, fast.predictedFirstTokenMillis(), 0.1);
    assertSame(fast, route(routing, List.of(fast, slow), ticket("t1")));
  }

  @Test
  void aServerWhereACallWaitsForItsFirstTokenFarLongerThanUsualGetsNothingWhileAnotherHasRoom() {
    Routing routing = routing(RoutingStrategy.LEAST_BUSY);
    // Its ceiling says 64, it runs 16 and queues the rest: a call sent there 2 s ago still waits, where its first
    // tokens came in 150 ms. The other is busier for its size and slower.
    ServerLoad queueing = server("queueing", "univ-b", "dc1", 44, new LoadSnapshot(20, 64, 16, 0, 0, 0.15,
        clock.millis(), ServerState.READY, 0, -1, -1, -1, 1, -1, 0, 2_000), clock);
    ServerLoad busier = server("busier", "univ-a", "dc1", 20, withoutSteps(44, 64, 0.3), clock);

    assertTrue(queueing.stalled());
    assertTrue(queueing.full());
    assertSame(busier, route(routing, List.of(queueing, busier), ticket("t1")));
  }

  @Test
  void beforeEveryServerHasAnsweredAFirstTokenLeastBusyGoesByFullness() {
    Routing routing = routing(RoutingStrategy.LEAST_BUSY);
    ServerLoad measured = server("measured", "univ-a", "dc1", 34, withoutSteps(30, 64, 0.1), clock);
    ServerLoad fresh = server("fresh", "univ-b", "dc1", 62, withoutSteps(2, 64, 0), clock);

    assertEquals(LeastBusy.Score.FULLNESS, LeastBusy.Score.of(List.of(measured, fresh)));
    assertSame(fresh, route(routing, List.of(measured, fresh), ticket("t1")));
  }

  @Test
  void anAssignmentCountsAsPrefillingForTheServersRecentFirstTokenTime() {
    Routing routing = routing(RoutingStrategy.LEAST_BUSY);
    long now = clock.millis();
    ServerLoad a = server("a", "univ-a", "dc1", 64, withSteps(0, 64, 0, 0.2, 10, 0.1, now), clock);
    ServerLoad b = server("b", "univ-a", "dc1", 64, withSteps(0, 64, 0, 0.2, 10, 0.1, now), clock);
    routing.sent(a, ticket("t1"));

    assertSame(b, routing.order(List.of(a, b), DEMAND_TIMEOUT).get(0));
    assertEquals(1, a.prefilling());
    // Past the server's 200 ms to a first token the call is decoding: one more call in a's batch, no longer a prefill.
    clock.advance(Duration.ofMillis(250));
    routing.order(List.of(a, b), DEMAND_TIMEOUT);
    assertEquals(0, a.prefilling());
  }

  @Test
  void betweenEqualServersTheOneInTheTicketsDatacentreServes() {
    Routing routing = routing(RoutingStrategy.LEAST_BUSY);
    long now = clock.millis();
    ServerLoad inDc1 = server("a-server", "univ-a", "dc1", 4, withSteps(0, 4, 0, 0, 10, 1, now), clock);
    ServerLoad inDc2 = server("b-server", "univ-a", "dc2", 4, withSteps(0, 4, 0, 0, 10, 1, now), clock);

    assertSame(inDc2, route(routing, List.of(inDc1, inDc2), ticket("t1", "univ-a", "dc2", null, null)));
  }

  @Test
  void theNextTurnGoesBackToTheServerHoldingItsPrefixWhileThatCostsLess() {
    Routing routing = routing(RoutingStrategy.LEAST_BUSY);
    ServerLoad a = server("a", "univ-a", 16, 0, 16, clock);
    ServerLoad b = server("b", "univ-a", 16, 0, 16, clock);
    long[] turn1 = {1, 2, 3, 4};
    long[] turn2 = {1, 2, 3, 4, 5};
    ServerLoad first = route(routing, List.of(a, b), ticket("t1", "univ-a", "dc1", turn1, null));
    ServerLoad other = first == a ? b : a;

    // The server that served turn 1 is busier now (1 call of 16), but holds 4 of turn 2's 5 blocks.
    assertSame(first, route(routing, List.of(a, b), ticket("t2", "univ-a", "dc1", turn2, null)));
    // At three quarters full, the idle server's whole prefill costs less than the busy one's load.
    first.demand("univ-a", "dc1", 4, 2, snapshot(12, 16), clock.millis());
    other.demand("univ-a", "dc1", 16, 0, snapshot(0, 16), clock.millis());
    assertSame(other, route(routing, List.of(a, b), ticket("t3", "univ-a", "dc1", turn2, null)));
  }

  @Test
  void withoutAffinityTheTurnGoesToTheLeastBusy() {
    Routing routing = Routing.of(RoutingStrategy.LEAST_BUSY, false, 1024, clock, new Random(7));
    ServerLoad a = server("a", "univ-a", 16, 0, 16, clock);
    ServerLoad b = server("b", "univ-a", 16, 0, 16, clock);
    ServerLoad first = route(routing, List.of(a, b), ticket("t1", "univ-a", "dc1", new long[] {1, 2}, null));

    assertTrue(first != route(routing, List.of(a, b), ticket("t2", "univ-a", "dc1", new long[] {1, 2, 3}, null)));
  }

  @Test
  void aNamedConversationStaysOnItsServerWhileItsBatchHasRoom() {
    Routing routing = routing(RoutingStrategy.LEAST_BUSY);
    ServerLoad a = server("a", "univ-a", 16, 0, 16, clock);
    ServerLoad b = server("b", "univ-a", 16, 0, 16, clock);
    ServerLoad first = route(routing, List.of(a, b), ticket("t1", "univ-a", "dc1", null, "alice"));
    ServerLoad other = first == a ? b : a;

    first.demand("univ-a", "dc1", 6, 1, snapshot(10, 16), clock.millis());
    assertSame(first, route(routing, List.of(a, b), ticket("t2", "univ-a", "dc1", null, "alice")));
    first.demand("univ-a", "dc1", 1, 2, snapshot(16, 16), clock.millis()); // its batch is full
    assertSame(other, route(routing, List.of(a, b), ticket("t3", "univ-a", "dc1", null, "alice")));
  }

  @Test
  void aServerWhoseCacheEvictsIsForgotten() {
    LeastBusy routing = (LeastBusy) routing(RoutingStrategy.LEAST_BUSY);
    ServerLoad a = server("a", "univ-a", 16, 0, 16, clock);
    routing.sent(a, ticket("t1", "univ-a", "dc1", new long[] {1, 2, 3}, null));
    assertEquals(3, routing.prefixBlocks());

    a.demand("univ-a", "dc1", 15, 1, new LoadSnapshot(1, 16, 1, 0, 0.99, 0,
        clock.millis()), clock.millis());
    routing.observed(a);

    assertEquals(0, routing.prefixBlocks());
  }

  private LoadSnapshot snapshot(int inFlight, int maxParallel) {
    return new LoadSnapshot(inFlight, maxParallel, -1, -1, -1, 0, clock.millis());
  }
}
