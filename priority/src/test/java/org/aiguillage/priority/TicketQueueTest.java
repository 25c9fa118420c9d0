package org.aiguillage.priority;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import org.aiguillage.protocol.RoutingMode;
import org.junit.jupiter.api.Test;

class TicketQueueTest {

  private static final TicketQueue.Server SHARED_SERVER = new TicketQueue.Server("s1", "federation");
  private static final Predicate<String> NOBODY_HAS_ROOM = org -> false;

  private final TicketQueue<String> queue = new TicketQueue<>(QueuePolicy.NO_AGEING);

  private static Ticket ticket(String id, String key, String org, int priority, long arrival) {
    return new Ticket(id, key, org, priority, RoutingMode.ANY, arrival);
  }

  private void add(Ticket t) {
    queue.add(t, t.id());
  }

  private List<String> drain(TicketQueue.Server server, Predicate<String> room) {
    List<String> served = new ArrayList<>();
    while (true) {
      var next = queue.pollFor(server, room, 1_000);
      if (next.isEmpty()) {
        return served;
      }
      served.add(next.get().payload());
    }
  }

  @Test
  void highPriorityTicketIsServedBeforeOlderLowPriorityOnes() {
    add(ticket("low-1", "k1", "a", 1, 1));
    add(ticket("low-2", "k1", "a", 1, 2));
    add(ticket("high", "k2", "b", 5, 3));

    assertEquals("high", drain(SHARED_SERVER, NOBODY_HAS_ROOM).get(0));
  }

  @Test
  void ticketsOfOneKeyAreServedInArrivalOrder() {
    add(ticket("third", "k1", "a", 3, 30));
    add(ticket("first", "k1", "a", 3, 10));
    add(ticket("second", "k1", "a", 3, 20));

    assertEquals(List.of("first", "second", "third"), drain(SHARED_SERVER, NOBODY_HAS_ROOM));
  }

  @Test
  void aSingleRequestOfAnotherKeyIsNotPushedBehindAnotherKeysBurst() {
    for (int i = 0; i < 500; i++) {
      add(ticket("burst-" + i, "bursty", "a", 3, i));
    }
    add(ticket("single", "quiet", "a", 3, 1_000));
    queue.pollFor(SHARED_SERVER, NOBODY_HAS_ROOM, 2_000); // the burst's first

    assertEquals("single", queue.pollFor(SHARED_SERVER, NOBODY_HAS_ROOM, 2_000).orElseThrow().payload());
  }

  @Test
  void organisationsTakeTurnsAtEqualPriority() {
    add(ticket("a1", "ka1", "a", 3, 1));
    add(ticket("a2", "ka2", "a", 3, 2));
    add(ticket("a3", "ka3", "a", 3, 3));
    add(ticket("b1", "kb1", "b", 3, 4));

    assertEquals(List.of("a1", "b1", "a2", "a3"), drain(SHARED_SERVER, NOBODY_HAS_ROOM));
  }

  @Test
  void anOrganisationsOwnTicketsGoFirstOnItsServersWhateverTheirPriority() {
    add(ticket("guest-high", "k1", "univ-b", 5, 1));
    add(ticket("owner-low", "k2", "univ-a", 1, 2));

    TicketQueue.Server ownedByA = new TicketQueue.Server("gpu-a", "univ-a");
    assertEquals(List.of("owner-low", "guest-high"), drain(ownedByA, NOBODY_HAS_ROOM));
  }

  @Test
  void privateOnlyTicketsNeverRunOnAnotherOrganisationsServer() {
    queue.add(new Ticket("mine", "k1", "univ-a", 5, RoutingMode.PRIVATE_ONLY, 1), "mine");

    assertTrue(queue.pollFor(new TicketQueue.Server("gpu-b", "univ-b"), NOBODY_HAS_ROOM, 10).isEmpty());
    assertEquals("mine", queue.pollFor(new TicketQueue.Server("gpu-a", "univ-a"), NOBODY_HAS_ROOM, 10)
        .orElseThrow().payload());
  }

  @Test
  void privateFirstTicketsGoElsewhereOnlyWhileTheirOrganisationHasNoRoom() {
    queue.add(new Ticket("pf", "k1", "univ-a", 3, RoutingMode.PRIVATE_FIRST, 1), "pf");
    TicketQueue.Server foreign = new TicketQueue.Server("gpu-b", "univ-b");

    assertTrue(queue.pollFor(foreign, Set.of("univ-a")::contains, 10).isEmpty());
    assertEquals("pf", queue.pollFor(foreign, NOBODY_HAS_ROOM, 10).orElseThrow().payload());
  }

  @Test
  void ageingLetsALongWaitingLowPriorityTicketOvertakeFreshHighPriorityOnes() {
    TicketQueue<String> ageing = new TicketQueue<>(QueuePolicy.ageingEvery(Duration.ofSeconds(10)));
    ageing.add(ticket("old-low", "k1", "a", 1, 0), "old-low");
    ageing.add(ticket("fresh-high", "k2", "b", 5, 59_000), "fresh-high");

    // At 60 s the low ticket has aged 6 steps: 1 + 6 = 7 > 5.
    assertEquals("old-low", ageing.pollFor(SHARED_SERVER, NOBODY_HAS_ROOM, 60_000).orElseThrow().payload());
  }

  @Test
  void aTicketAddedBackKeepsItsPlaceByArrival() {
    add(ticket("first", "k1", "a", 3, 10));
    add(ticket("second", "k1", "a", 3, 20));
    var polled = queue.pollFor(SHARED_SERVER, NOBODY_HAS_ROOM, 100).orElseThrow();

    queue.add(polled.ticket(), polled.payload()); // refused by the server: back to its place

    assertEquals(List.of("first", "second"), drain(SHARED_SERVER, NOBODY_HAS_ROOM));
  }

  @Test
  void countsPerKeyFollowAddsAndRemovals() {
    add(ticket("a", "k1", "o", 3, 1));
    add(ticket("b", "k1", "o", 3, 2));
    add(ticket("c", "k2", "o", 3, 3));
    assertFalse(queue.add(ticket("a", "k1", "o", 3, 1), "again"), "an id is queued once");

    queue.remove("a");
    List<TicketQueue.Entry<String>> expired = queue.removeIf(e -> e.ticket().arrivalMillis() >= 3);

    assertEquals(1, queue.sizeOf("k1"));
    assertEquals(0, queue.sizeOf("k2"));
    assertEquals(List.of("c"), expired.stream().map(TicketQueue.Entry::payload).toList());
    assertEquals(1, queue.size());
  }

  @Test
  void aTicketForOneServerRunsOnlyThereAndHoldsNoOtherTicketOfItsKeyBack() {
    add(new Ticket("follow-up", "k1", "a", 3, RoutingMode.ANY, 1, "s2"));
    add(ticket("any", "k1", "a", 3, 2));
    TicketQueue.Server other = new TicketQueue.Server("s2", "federation");

    assertEquals(List.of("any"), drain(SHARED_SERVER, NOBODY_HAS_ROOM));
    assertEquals(List.of("follow-up"), drain(other, NOBODY_HAS_ROOM));
  }

  @Test
  void aBatchLineComesAfterEveryInteractiveTicketEvenOnItsOwnOrganizationsServerAndAfterAges() {
    TicketQueue<String> ageing = new TicketQueue<>(QueuePolicy.ageingEvery(Duration.ofMillis(10)));
    TicketQueue.Server own = new TicketQueue.Server("s-a", "a");
    ageing.add(ticket("batch-line", "k1", "a", Ticket.BATCH, 0), "batch-line");
    ageing.add(ticket("interactive", "k2", "b", 1, 900), "interactive");

    assertEquals("interactive", ageing.pollFor(own, NOBODY_HAS_ROOM, 1_000).orElseThrow().payload(),
        "waited 100 ageing steps, still after a fresh interactive ticket of another organisation");
    assertEquals("batch-line", ageing.pollFor(own, NOBODY_HAS_ROOM, 1_000).orElseThrow().payload());
  }

  @Test
  void aServerWithoutRoomForBatchesGetsInteractiveTicketsOnly() {
    add(ticket("batch-line", "k1", "a", Ticket.BATCH, 1));
    add(ticket("interactive", "k2", "b", 2, 2));

    assertEquals("interactive", queue.pollFor(SHARED_SERVER, NOBODY_HAS_ROOM, 1_000, false).orElseThrow().payload());
    assertTrue(queue.pollFor(SHARED_SERVER, NOBODY_HAS_ROOM, 1_000, false).isEmpty());
    assertEquals("batch-line", queue.pollFor(SHARED_SERVER, NOBODY_HAS_ROOM, 1_000, true).orElseThrow().payload());
  }
}
