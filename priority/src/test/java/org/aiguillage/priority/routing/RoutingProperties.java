package org.aiguillage.priority.routing;

import static org.aiguillage.priority.routing.Servers.DEMAND_TIMEOUT;
import static org.aiguillage.priority.routing.Servers.ticket;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import org.aiguillage.priority.routing.Servers.ManualClock;
import org.aiguillage.protocol.config.RoutingStrategy;
import org.aiguillage.protocol.dispatch.LoadSnapshot;
import org.aiguillage.protocol.dispatch.ServerState;
import org.aiguillage.protocol.dispatch.TicketInfo;

/** What every routing strategy promises, checked on random fleets. */
class RoutingProperties {

  private static final List<String> ORGS = List.of("univ-a", "univ-b");

  /** One server as its agent last described it, and how long ago. */
  record Described(int free, int inFlight, int maxParallel, int otherCalls, double kv, boolean steps, double base,
      double perCall, double ttftSeconds, long ageMillis, int org) {

    ServerLoad at(String id, ManualClock clock) {
      long now = clock.millis();
      LoadSnapshot snapshot = new LoadSnapshot(inFlight, maxParallel, inFlight + otherCalls, 0, kv, ttftSeconds, now,
          ServerState.READY, otherCalls, -1, steps ? base : -1, steps ? perCall : -1, 0);
      ServerLoad s = new ServerLoad(id);
      s.demand(ORGS.get(org), "dc1", free, 0, snapshot, now - ageMillis);
      return s;
    }
  }

  @Provide
  Arbitrary<Described> described() {
    Arbitrary<Integer> small = Arbitraries.integers().between(0, 6);
    return Combinators.combine(
        Arbitraries.integers().between(-1, 6), // free slots: an agent may announce none, or fewer than none
        Arbitraries.integers().between(0, 40),
        Arbitraries.integers().between(1, 64),
        small,
        Arbitraries.doubles().between(0, 1),
        Arbitraries.of(true, false),
        Arbitraries.doubles().between(1, 60),
        Arbitraries.doubles().between(0, 3))
        .as((free, inFlight, max, others, kv, steps, base, perCall) -> new Described(free, inFlight, max, others, kv,
            steps, base, perCall, 0, 0, 0))
        .flatMap(d -> Combinators.combine(
            Arbitraries.doubles().between(0, 2), // recent first token, s (0: none seen yet)
            Arbitraries.longs().between(0, 4_000), // how old the demand is: over 3 s it is stale
            Arbitraries.integers().between(0, 1))
            .as((ttft, age, org) -> new Described(d.free(), d.inFlight(), d.maxParallel(), d.otherCalls(), d.kv(),
                d.steps(), d.base(), d.perCall(), ttft, age, org)));
  }

  @Provide
  Arbitrary<List<Described>> fleets() {
    return described().list().ofMinSize(1).ofMaxSize(8);
  }

  private static List<ServerLoad> fleet(List<Described> described, ManualClock clock) {
    List<ServerLoad> fleet = new ArrayList<>();
    for (int i = 0; i < described.size(); i++) {
      fleet.add(described.get(i).at("s" + i, clock));
    }
    return fleet;
  }

  @Property
  void aServerWithoutRoomIsNeverChosen(@ForAll("fleets") List<Described> described,
      @ForAll RoutingStrategy strategy, @ForAll boolean withPrefix, @ForAll @IntRange(min = 1, max = 60) int tickets,
      @ForAll Random random) {
    ManualClock clock = new ManualClock();
    List<ServerLoad> fleet = fleet(described, clock);
    Map<String, Integer> roomAtStart = new HashMap<>();
    fleet.forEach(s -> roomAtStart.put(s.serverId(),
        s.credit() > 0 && clock.millis() - s.lastDemandMillis() <= DEMAND_TIMEOUT.toMillis() ? s.credit() : 0));
    Routing routing = Routing.of(strategy, true, 64, clock, random);
    Map<String, Integer> sent = new HashMap<>();

    for (int i = 0; i < tickets; i++) {
      List<ServerLoad> order = routing.order(fleet, DEMAND_TIMEOUT);
      if (order.isEmpty()) {
        break;
      }
      TicketInfo ticket = ticket("t" + i, "univ-a", "dc1", withPrefix ? new long[] {7, i % 3} : null,
          withPrefix ? "session-" + (i % 4) : null);
      ServerLoad chosen = routing.place(order.get(0), order, ticket);
      assertTrue(order.contains(chosen));
      assertTrue(chosen.credit() > 0, () -> chosen + " has no room");
      routing.sent(chosen, ticket);
      sent.merge(chosen.serverId(), 1, Integer::sum);
      clock.advance(Duration.ofMillis(random.nextInt(50)));
    }

    sent.forEach((server, n) -> assertTrue(n <= roomAtStart.get(server), server + " got " + n + " calls for "
        + roomAtStart.get(server) + " free slots"));
  }

  @Property
  void betweenEqualServersTheChoiceIsSpread(@ForAll("described") Described one,
      @ForAll @IntRange(min = 2, max = 8) int servers, @ForAll @IntRange(min = 1, max = 5) int rounds,
      @ForAll Random random) {
    for (RoutingStrategy strategy : List.of(RoutingStrategy.LEAST_BUSY, RoutingStrategy.ROUND_ROBIN)) {
      ManualClock clock = new ManualClock();
      Described same = new Described(Math.max(1, one.free()) + rounds, one.inFlight(), one.maxParallel(),
          one.otherCalls(), one.kv(), one.steps(), one.base(), one.perCall(), one.ttftSeconds(), 0, 0);
      List<ServerLoad> fleet = new ArrayList<>();
      for (int i = 0; i < servers; i++) {
        fleet.add(same.at("s" + i, clock));
      }
      Routing routing = Routing.of(strategy, true, 64, clock, random);
      Map<String, Integer> sent = new HashMap<>();

      for (int i = 0; i < servers * rounds; i++) {
        List<ServerLoad> order = routing.order(fleet, DEMAND_TIMEOUT);
        ServerLoad chosen = routing.place(order.get(0), order, ticket("t" + i));
        routing.sent(chosen, ticket("t" + i));
        sent.merge(chosen.serverId(), 1, Integer::sum);
      }

      for (ServerLoad s : fleet) {
        assertEquals(rounds, sent.getOrDefault(s.serverId(), 0), strategy + ": " + sent);
      }
    }
  }

  @Property(tries = 50)
  void randomSpreadsEqualServersAlike(@ForAll @IntRange(min = 2, max = 8) int servers, @ForAll Random random) {
    ManualClock clock = new ManualClock();
    List<ServerLoad> fleet = new ArrayList<>();
    for (int i = 0; i < servers; i++) {
      fleet.add(Servers.server("s" + i, "univ-a", 100_000, 0, 100_000, clock));
    }
    Routing routing = Routing.of(RoutingStrategy.RANDOM, true, 64, clock, random);
    Map<String, Integer> sent = new HashMap<>();
    int each = 400;

    for (int i = 0; i < servers * each; i++) {
      List<ServerLoad> order = routing.order(fleet, DEMAND_TIMEOUT);
      ServerLoad chosen = routing.place(order.get(0), order, ticket("t" + i));
      routing.sent(chosen, ticket("t" + i));
      sent.merge(chosen.serverId(), 1, Integer::sum);
    }

    // About 20 standard deviations apart: a fair draw never falls outside.
    sent.values().forEach(n -> assertTrue(n > each / 2 && n < each * 3 / 2, sent::toString));
  }

  @Property
  void aPrefixHitWinsOnlyWhileItPredictsTheShorterFirstToken(@ForAll("described") Described holder,
      @ForAll("described") Described stranger, @ForAll @IntRange(min = 1, max = 8) int cachedBlocks,
      @ForAll @IntRange(min = 0, max = 8) int newBlocks) {
    ManualClock clock = new ManualClock();
    LeastBusy routing = (LeastBusy) Routing.of(RoutingStrategy.LEAST_BUSY, true, 64, clock, new Random(1));
    long[] earlier = new long[cachedBlocks];
    long[] prompt = new long[cachedBlocks + newBlocks];
    for (int i = 0; i < prompt.length; i++) {
      prompt[i] = 1000 + i;
      if (i < cachedBlocks) {
        earlier[i] = prompt[i];
      }
    }
    // Both fresh, in one organisation, with room; "h" was sent the prompt's first blocks before its agent's demand.
    ServerLoad h = new ServerLoad("h");
    routing.sent(h, ticket("earlier", "univ-a", "dc1", earlier, null));
    Described hd = fresh(holder);
    h.demand("univ-a", "dc1", hd.free(), 1, hd.at("h", clock).snapshot(), clock.millis());
    ServerLoad s = fresh(stranger).at("s", clock);
    List<ServerLoad> order = routing.order(List.of(h, s), DEMAND_TIMEOUT);

    ServerLoad chosen = routing.place(order.get(0), order, ticket("next", "univ-a", "dc1", prompt, null));

    ServerLoad other = chosen == h ? s : h;
    double chosenCost = routing.predictedCost(chosen, prompt, order);
    double otherCost = routing.predictedCost(other, prompt, order);
    if (chosen == h && chosen != order.get(0)) {
      assertTrue(chosenCost < otherCost, "the cached prefix won at " + chosenCost + " against " + otherCost);
    }
    if (!other.full()) {
      assertTrue(chosenCost <= otherCost, chosen + " at " + chosenCost + " chosen over " + other + " at " + otherCost);
    }
  }

  private static Described fresh(Described d) {
    return new Described(Math.max(1, d.free()), d.inFlight(), d.maxParallel(), d.otherCalls(), d.kv(), d.steps(),
        d.base(), d.perCall(), d.ttftSeconds(), 0, 0);
  }
}
