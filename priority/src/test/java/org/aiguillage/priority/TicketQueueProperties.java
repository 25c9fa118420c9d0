package org.aiguillage.priority;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.aiguillage.protocol.RoutingMode;

/** The ordering rules of {@link TicketQueue}, checked on random queues. */
class TicketQueueProperties {

  private static final List<String> ORGS = List.of("univ-a", "univ-b", "univ-c");

  @Provide
  Arbitrary<List<Ticket>> tickets() {
    Arbitrary<Ticket> one = Combinators.combine(
        Arbitraries.integers().between(0, 5), // key index
        Arbitraries.integers().between(1, 5), // priority
        Arbitraries.of(RoutingMode.values()),
        Arbitraries.longs().between(0, 10_000))
        .as((key, priority, mode, arrival) -> new Ticket("?", "key-" + key, ORGS.get(key % ORGS.size()), priority,
            mode, arrival));
    return one.list().ofMinSize(1).ofMaxSize(60).map(list -> {
      List<Ticket> withIds = new ArrayList<>();
      for (int i = 0; i < list.size(); i++) {
        Ticket t = list.get(i);
        withIds.add(new Ticket("t" + i, t.keyId(), t.organization(), t.priority(), t.routingMode(),
            t.arrivalMillis()));
      }
      return withIds;
    });
  }

  private static TicketQueue<Ticket> queueOf(List<Ticket> tickets, QueuePolicy policy) {
    TicketQueue<Ticket> queue = new TicketQueue<>(policy);
    tickets.forEach(t -> queue.add(t, t));
    return queue;
  }

  private static List<Ticket> drain(TicketQueue<Ticket> queue, TicketQueue.Server server, Predicate<String> room) {
    List<Ticket> served = new ArrayList<>();
    for (Optional<TicketQueue.Entry<Ticket>> next = queue.pollFor(server, room, 20_000); next.isPresent();
        next = queue.pollFor(server, room, 20_000)) {
      served.add(next.get().payload());
    }
    return served;
  }

  @Property
  void withoutAgeingPriorityNeverRisesAlongTheServedOrderOnASharedServer(@ForAll("tickets") List<Ticket> tickets) {
    List<Ticket> anyOnly = tickets.stream().map(t -> new Ticket(t.id(), t.keyId(), t.organization(), t.priority(),
        RoutingMode.ANY, t.arrivalMillis())).toList();

    List<Ticket> served = drain(queueOf(anyOnly, QueuePolicy.NO_AGEING), new TicketQueue.Server("s", "shared"),
        org -> false);

    assertEquals(anyOnly.size(), served.size());
    for (int i = 1; i < served.size(); i++) {
      assertTrue(served.get(i - 1).priority() >= served.get(i).priority(), served.toString());
    }
  }

  @Property
  void ticketsOfOneKeyAtOnePriorityAndModeAreServedInArrivalOrder(@ForAll("tickets") List<Ticket> tickets,
      @ForAll @IntRange(min = 0, max = 2) int serverOrg) {
    TicketQueue.Server server = new TicketQueue.Server("s", ORGS.get(serverOrg));

    List<Ticket> served = drain(queueOf(tickets, QueuePolicy.NO_AGEING), server, org -> false);

    Map<String, Long> lastArrival = new HashMap<>();
    for (Ticket t : served) {
      String lane = t.keyId() + "/" + t.priority() + "/" + t.routingMode();
      long previous = lastArrival.getOrDefault(lane, Long.MIN_VALUE);
      assertTrue(t.arrivalMillis() >= previous, "lane " + lane + " out of order in " + served);
      lastArrival.put(lane, t.arrivalMillis());
    }
  }

  @Property
  void privateOnlyTicketsNeverLandOnAnotherOrganisationsServer(@ForAll("tickets") List<Ticket> tickets,
      @ForAll @Size(min = 1, max = 20) List<@IntRange(min = 0, max = 2) Integer> serverOrgs) {
    TicketQueue<Ticket> queue = queueOf(tickets, QueuePolicy.NO_AGEING);
    for (int org : serverOrgs) {
      TicketQueue.Server server = new TicketQueue.Server("s" + org, ORGS.get(org));
      queue.pollFor(server, o -> true, 20_000).ifPresent(e -> {
        if (e.ticket().routingMode() == RoutingMode.PRIVATE_ONLY) {
          assertEquals(server.organization(), e.ticket().organization());
        }
      });
    }
  }

  @Property
  void anOrganisationsOwnTicketsAlwaysGoFirstOnItsServers(@ForAll("tickets") List<Ticket> tickets,
      @ForAll @IntRange(min = 0, max = 2) int serverOrg) {
    TicketQueue<Ticket> queue = queueOf(tickets, QueuePolicy.NO_AGEING);
    TicketQueue.Server server = new TicketQueue.Server("s", ORGS.get(serverOrg));
    Predicate<String> room = Set.of(server.organization())::contains;

    List<Ticket> served = drain(queue, server, room);

    boolean sawForeign = false;
    for (Ticket t : served) {
      boolean own = t.organization().equals(server.organization());
      assertTrue(!own || !sawForeign, "an own ticket came after a foreign one: " + served);
      sawForeign |= !own;
    }
  }

  @Property(tries = 50)
  void withAgeingALowPriorityTicketIsServedDespiteAnEndlessStreamOfHighOnes(
      @ForAll @IntRange(min = 1, max = 10) int highPerTick) {
    Duration step = Duration.ofSeconds(10);
    TicketQueue<Ticket> queue = new TicketQueue<>(QueuePolicy.ageingEvery(step));
    TicketQueue.Server server = new TicketQueue.Server("s", "shared");
    Ticket low = new Ticket("low", "patient", "univ-a", 1, RoutingMode.ANY, 0);
    queue.add(low, low);
    int sequence = 0;
    List<Ticket> servedBeforeLow = new ArrayList<>();
    for (long now = 0; now < 10_000_000; now += 1_000) {
      for (int i = 0; i < highPerTick; i++) {
        Ticket high = new Ticket("high-" + sequence++, "busy-" + (i % 3), "univ-b", 5, RoutingMode.ANY, now);
        queue.add(high, high);
      }
      Ticket served = queue.pollFor(server, o -> false, now).orElseThrow().payload();
      if (served == low) {
        // A fresh 5 outranks the waiting 1 only while it arrived less than (5 - 1) steps after it, give or take
        // the step it is in: nothing that arrived later went first.
        long latest = 5 * step.toMillis();
        servedBeforeLow.forEach(h -> assertTrue(h.arrivalMillis() <= latest, h + " went before the low ticket"));
        return;
      }
      servedBeforeLow.add(served);
    }
    throw new AssertionError("the low-priority ticket starved");
  }
}
