package org.aiguillage.priority;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.function.Predicate;
import org.aiguillage.protocol.RoutingMode;

/**
 * The waiting tickets of one model, and the choice of which one a given server should serve next.
 *
 * <p>For a server of organisation O, among the tickets that may run there:
 *
 * <ol>
 *   <li>interactive tickets before a batch's lines ({@link Ticket#BATCH}), which a server takes only when it says it
 *       has room for them;
 *   <li>O's own tickets first, whatever their priority (the "coupe-file");
 *   <li>then the highest effective priority (priority plus ageing);
 *   <li>then turn-taking: the organisation served least recently, then within it the key served least recently,
 *       so one key's burst cannot push another key's single request to the back;
 *   <li>then arrival order (FIFO within a key).
 * </ol>
 *
 * <p>A {@code private-only} ticket runs only on its organisation's servers; a {@code private-first} ticket runs
 * elsewhere only while its organisation has no server with room.
 *
 * <p>Tickets sit in lanes, one per (key, priority, routing mode), each in arrival order; a choice looks only at the
 * head of each lane, so it costs the number of lanes, not the number of tickets. Not thread-safe: it lives inside
 * one actor.
 *
 * @param <P> what the caller keeps with each ticket
 */
public final class TicketQueue<P> {

  /** A waiting ticket and what the caller keeps with it. */
  public record Entry<P>(Ticket ticket, P payload, long sequence) {}

  /** The server asking for work, as far as ordering cares. */
  public record Server(String id, String organization) {}

  private record LaneKey(String keyId, int priority, RoutingMode routingMode, String server) {}

  private static final Comparator<Entry<?>> ARRIVAL_ORDER =
      Comparator.<Entry<?>>comparingLong(e -> e.ticket().arrivalMillis()).thenComparingLong(Entry::sequence);

  private QueuePolicy policy;
  private final Map<LaneKey, TreeSet<Entry<P>>> lanes = new HashMap<>();
  private final Map<String, Entry<P>> byId = new HashMap<>();
  private final Map<String, Integer> countByKey = new HashMap<>();
  private final Map<String, Long> lastServedOrganization = new HashMap<>();
  private final Map<String, Long> lastServedKey = new HashMap<>();
  private long sequence;
  private long servedCount;

  public TicketQueue(QueuePolicy policy) {
    this.policy = policy;
  }

  /** Adds a ticket at its place by arrival time; a ticket already queued under this id is left as it is. */
  /** From now on, order by {@code newPolicy} (a model's ageing changed). */
  public void policy(QueuePolicy newPolicy) {
    policy = newPolicy;
  }

  public boolean add(Ticket ticket, P payload) {
    if (byId.containsKey(ticket.id())) {
      return false;
    }
    Entry<P> entry = new Entry<>(ticket, payload, sequence++);
    lanes.computeIfAbsent(laneOf(ticket), k -> new TreeSet<>(ARRIVAL_ORDER)).add(entry);
    byId.put(ticket.id(), entry);
    countByKey.merge(ticket.keyId(), 1, Integer::sum);
    return true;
  }

  public Optional<Entry<P>> remove(String ticketId) {
    Entry<P> entry = byId.remove(ticketId);
    if (entry == null) {
      return Optional.empty();
    }
    LaneKey key = laneOf(entry.ticket());
    TreeSet<Entry<P>> lane = lanes.get(key);
    lane.remove(entry);
    if (lane.isEmpty()) {
      lanes.remove(key);
    }
    countByKey.computeIfPresent(entry.ticket().keyId(), (k, n) -> n == 1 ? null : n - 1);
    return Optional.of(entry);
  }

  public boolean contains(String ticketId) {
    return byId.containsKey(ticketId);
  }


  public int size() {
    return byId.size();
  }

  public boolean isEmpty() {
    return byId.isEmpty();
  }

  /** How many tickets this key has waiting. */
  public int sizeOf(String keyId) {
    return countByKey.getOrDefault(keyId, 0);
  }


  /**
   * Removes and returns the ticket {@code server} should serve next, if any may run there.
   *
   * @param organizationHasRoom whether an organisation has a server of its own with room now (decides where a
   *     {@code private-first} ticket may go)
   */
  public Optional<Entry<P>> pollFor(Server server, Predicate<String> organizationHasRoom, long nowMillis) {
    return pollFor(server, organizationHasRoom, nowMillis, true);
  }

  /** @param takesBatch whether the server has room for a batch's line (interactive tickets always come first) */
  public Optional<Entry<P>> pollFor(Server server, Predicate<String> organizationHasRoom, long nowMillis,
      boolean takesBatch) {
    Entry<P> best = null;
    for (TreeSet<Entry<P>> lane : lanes.values()) {
      Entry<P> head = lane.first();
      if ((takesBatch || !head.ticket().batch()) && mayRunOn(head.ticket(), server, organizationHasRoom)
          && (best == null
          || compare(head, best, server, nowMillis) < 0)) {
        best = head;
      }
    }
    if (best == null) {
      return Optional.empty();
    }
    remove(best.ticket().id());
    servedCount++;
    lastServedOrganization.put(best.ticket().organization(), servedCount);
    lastServedKey.put(best.ticket().keyId(), servedCount);
    return Optional.of(best);
  }

  /** Removes and returns every ticket that matches, e.g. those whose lease or deadline has passed. */
  public List<Entry<P>> removeIf(Predicate<Entry<P>> condition) {
    List<Entry<P>> removed = new ArrayList<>();
    for (Iterator<Entry<P>> it = byId.values().iterator(); it.hasNext(); ) {
      Entry<P> e = it.next();
      if (condition.test(e)) {
        removed.add(e);
      }
    }
    removed.forEach(e -> remove(e.ticket().id()));
    return removed;
  }

  /** Whether {@code ticket} may run on {@code server} now. */
  public static boolean mayRunOn(Ticket ticket, Server server, Predicate<String> organizationHasRoom) {
    if (ticket.server() != null) {
      return ticket.server().equals(server.id());
    }
    boolean own = ticket.organization().equals(server.organization());
    return switch (ticket.routingMode()) {
      case ANY -> true;
      case PRIVATE_ONLY -> own;
      case PRIVATE_FIRST -> own || !organizationHasRoom.test(ticket.organization());
    };
  }

  private int compare(Entry<P> a, Entry<P> b, Server server, long now) {
    if (a.ticket().batch() != b.ticket().batch()) {
      return a.ticket().batch() ? 1 : -1;
    }
    boolean aOwn = a.ticket().organization().equals(server.organization());
    boolean bOwn = b.ticket().organization().equals(server.organization());
    if (aOwn != bOwn) {
      return aOwn ? -1 : 1;
    }
    int byPriority = Integer.compare(
        policy.effectivePriority(b.ticket(), now), policy.effectivePriority(a.ticket(), now));
    if (byPriority != 0) {
      return byPriority;
    }
    int byOrganizationTurn = Long.compare(
        lastServedOrganization.getOrDefault(a.ticket().organization(), 0L),
        lastServedOrganization.getOrDefault(b.ticket().organization(), 0L));
    if (byOrganizationTurn != 0) {
      return byOrganizationTurn;
    }
    int byKeyTurn = Long.compare(
        lastServedKey.getOrDefault(a.ticket().keyId(), 0L), lastServedKey.getOrDefault(b.ticket().keyId(), 0L));
    if (byKeyTurn != 0) {
      return byKeyTurn;
    }
    return ARRIVAL_ORDER.compare(a, b);
  }

  private static LaneKey laneOf(Ticket t) {
    return new LaneKey(t.keyId(), t.priority(), t.routingMode(), t.server());
  }
}
