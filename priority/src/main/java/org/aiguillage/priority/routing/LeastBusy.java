package org.aiguillage.priority.routing;

import java.time.Clock;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.aiguillage.priority.LeastRecentlyUsed;
import org.aiguillage.priority.PrefixIndex;
import org.aiguillage.protocol.config.RoutingStrategy;
import org.aiguillage.protocol.dispatch.ServerState;
import org.aiguillage.protocol.dispatch.TicketInfo;

/**
 * Least-busy: the server where a new request's first token comes soonest, with prefix affinity (docs/routing.md,
 * decisions 008 and 009).
 *
 * <p>When every server's agent knows how its server's step grows with its batch: first the servers with room in
 * their batch, the cheapest first token first ({@link ServerLoad#firstTokenCost()}: the step a new request would
 * join sets its first token and every token after, so a fast server takes more requests than a slow one until their
 * steps are alike); then full servers, the least over first. Otherwise, servers by how full they are for their size
 * ({@link ServerLoad#busyness()}).
 *
 * <p>With prefix affinity, a ticket goes, among the chosen server and the others of its organisation (the same
 * ticket would go to either), to the one with the shortest predicted first token once what its prefix cache likely
 * holds of the ticket's prompt is taken off: {@link #PREFIX_SAVING} of the first token, in proportion to the
 * prompt's blocks it was sent lately. A hot prefix so stays on its server while that server's load costs less than
 * the prefill it saves, and spreads when it saturates. A conversation the client named goes back to its server while
 * that server has room in its batch. Between servers still equal, the one in the datacentre of the ticket's edge
 * serves: its stream crosses no datacentre link.
 */
public final class LeastBusy extends Routing {

  /**
   * How much of a ticket's first token its cached prefix saves, at most: the prefill of a long prompt is most of its
   * first token on a server with room, the step it joins the rest.
   */
  public static final double PREFIX_SAVING = 0.8;
  /** A server whose KV cache is this full has been evicting: what it was sent is no longer known to be there. */
  public static final double KV_EVICTING = 0.98;
  /** Named conversations remembered, the least recently used forgotten first: about 140 bytes each. */
  public static final int SESSIONS_KEPT = 20_000;

  private static final Comparator<ServerLoad> BY_BUSYNESS = Comparator.comparingDouble(ServerLoad::busyness);
  private static final Comparator<ServerLoad> BY_STEP = Comparator.comparing(ServerLoad::full)
      .thenComparingDouble(s -> s.full() ? s.busyness() : s.firstTokenCost());

  private final boolean prefixAffinity;
  /** The prompt blocks sent to each server lately: what its prefix cache likely holds. */
  private final PrefixIndex prefixes;
  /** The server each named conversation went to last. */
  private final Map<String, String> sessions = LeastRecentlyUsed.map(SESSIONS_KEPT);

  LeastBusy(boolean prefixAffinity, int prefixBlocksPerServer, Clock clock) {
    super(clock);
    this.prefixAffinity = prefixAffinity;
    this.prefixes = new PrefixIndex(prefixBlocksPerServer);
  }

  @Override
  public RoutingStrategy strategy() {
    return RoutingStrategy.LEAST_BUSY;
  }

  @Override
  void arrange(List<ServerLoad> withRoom, long now) {
    withRoom.forEach(s -> s.countPrefilling(now));
    withRoom.sort(order(withRoom)
        .thenComparingDouble(s -> s.snapshot().recentTtftSeconds())
        .thenComparing(ServerLoad::serverId));
  }

  /** By the first token's cost when every candidate's step curve is known, otherwise by fullness. */
  private static Comparator<ServerLoad> order(List<ServerLoad> candidates) {
    for (ServerLoad s : candidates) {
      if (!s.snapshot().knowsItsSteps()) {
        return BY_BUSYNESS;
      }
    }
    return BY_STEP;
  }

  @Override
  public ServerLoad place(ServerLoad chosen, List<ServerLoad> candidates, TicketInfo ticket) {
    if (ticket.batch()) {
      return chosen; // a batch's line goes where there was room for one, not where a prefix would rather have it
    }
    return inTicketsDatacenter(withAffinity(chosen, candidates, ticket), candidates, ticket);
  }

  private ServerLoad inTicketsDatacenter(ServerLoad chosen, List<ServerLoad> candidates, TicketInfo ticket) {
    String datacenter = ticket.datacenter();
    if (datacenter.equals(chosen.datacenter())) {
      return chosen;
    }
    Comparator<ServerLoad> order = order(candidates);
    for (ServerLoad other : candidates) {
      if (datacenter.equals(other.datacenter()) && other.organization().equals(chosen.organization())
          && order.compare(other, chosen) == 0) {
        return other;
      }
    }
    return chosen;
  }

  private ServerLoad withAffinity(ServerLoad chosen, List<ServerLoad> candidates, TicketInfo ticket) {
    if (!prefixAffinity) {
      return chosen;
    }
    if (ticket.session() != null) {
      String server = sessions.get(ticket.session());
      for (ServerLoad s : candidates) {
        if (s.serverId().equals(server) && s.organization().equals(chosen.organization()) && !s.full()) {
          return s;
        }
      }
    }
    long[] prefix = ticket.prefix();
    if (prefix.length == 0) {
      return chosen;
    }
    boolean steps = order(candidates) == BY_STEP;
    ServerLoad best = chosen;
    double bestCost = predictedCost(chosen, prefix, steps);
    for (ServerLoad s : candidates) {
      if (s != chosen && s.organization().equals(chosen.organization()) && !s.full()) {
        double cost = predictedCost(s, prefix, steps);
        if (cost < bestCost) {
          best = s;
          bestCost = cost;
        }
      }
    }
    return best;
  }

  /**
   * A server's predicted first token for a prompt, relative (comparable between servers at one moment): its load's
   * cost less what its cache saves; a full server's is beyond any other's.
   */
  public double predictedCost(ServerLoad server, long[] prefix, List<ServerLoad> candidates) {
    return predictedCost(server, prefix, order(candidates) == BY_STEP);
  }

  private double predictedCost(ServerLoad s, long[] prefix, boolean steps) {
    double load = steps ? s.firstTokenCost() : 0.05 + s.busyness();
    double cached = prefix.length == 0 ? 0 : (double) prefixes.cachedPrefix(s.serverId(), prefix) / prefix.length;
    return (s.full() ? 1e6 : 0) + load * (1 - PREFIX_SAVING * cached);
  }

  @Override
  void remember(ServerLoad server, TicketInfo ticket, long now) {
    if (prefixAffinity) {
      prefixes.sent(server.serverId(), ticket.prefix());
      if (ticket.session() != null) {
        sessions.put(ticket.session(), server.serverId());
      }
    }
  }

  /** A server whose cache is evicting, or that went down (it restarts empty), holds nothing it was sent. */
  @Override
  public void observed(ServerLoad server) {
    if (server.snapshot().kvCacheUsage() >= KV_EVICTING || server.state() == ServerState.UNHEALTHY) {
      prefixes.forget(server.serverId());
    }
  }

  /** Blocks remembered over every server, for the docs' memory figures. */
  public long prefixBlocks() {
    return prefixes.size();
  }
}
