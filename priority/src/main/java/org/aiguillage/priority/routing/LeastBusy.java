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
 * <p>Servers are scored by the best measure every candidate has ({@link Score}). When every server's agent knows how
 * its server's step grows with its batch: first the servers with room in their batch, the cheapest first token first
 * ({@link ServerLoad#firstTokenCost()}: the step a new request would join sets its first token and every token after,
 * so a fast server takes more requests than a slow one until their steps are alike); then full servers, the least
 * over first. When some do not, but every agent has measured its server's time to first token: the same order by
 * that time scaled to the load now ({@link ServerLoad#predictedFirstTokenMillis()}). Before that (the first calls
 * after a start), servers by how full they are for their size ({@link ServerLoad#busyness()}).
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

  /** What least-busy compares servers by: the best measure all the candidates have. */
  public enum Score {
    /** The step a new request would join, from each server's step curve. */
    STEPS,
    /** Each server's measured time to first token, scaled to its load now. */
    FIRST_TOKENS,
    /** How full each server is for its size. */
    FULLNESS;

    static Score of(List<ServerLoad> candidates) {
      boolean steps = true;
      boolean firstTokens = true;
      for (ServerLoad s : candidates) {
        steps &= s.snapshot().knowsItsSteps();
        firstTokens &= s.predictedFirstTokenMillis() >= 0;
      }
      return steps ? STEPS : firstTokens ? FIRST_TOKENS : FULLNESS;
    }

    /** A server's cost for a new request under this score: comparable between servers at one moment. */
    double cost(ServerLoad s) {
      return switch (this) {
        case STEPS -> s.firstTokenCost();
        case FIRST_TOKENS -> s.predictedFirstTokenMillis();
        case FULLNESS -> 0.05 + s.busyness();
      };
    }

    /** Servers with room in their batch first, the cheapest first; then full ones, the least over first. */
    Comparator<ServerLoad> order() {
      return this == FULLNESS ? Comparator.comparingDouble(ServerLoad::busyness)
          : Comparator.comparing(ServerLoad::full).thenComparingDouble(s -> s.full() ? s.busyness() : cost(s));
    }
  }

  private final boolean prefixAffinity;
  /** The score the last {@link #arrange} sorted by: {@link #place} works on that order's servers. */
  private Score score = Score.FULLNESS;
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
    score = Score.of(withRoom);
    withRoom.sort(score.order()
        .thenComparingDouble(s -> s.snapshot().recentTtftSeconds())
        .thenComparing(ServerLoad::serverId));
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
    Comparator<ServerLoad> order = score.order();
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
    ServerLoad best = chosen;
    double bestCost = predictedCost(chosen, prefix, score);
    for (ServerLoad s : candidates) {
      if (s != chosen && s.organization().equals(chosen.organization()) && !s.full()) {
        double cost = predictedCost(s, prefix, score);
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
    return predictedCost(server, prefix, Score.of(candidates));
  }

  private double predictedCost(ServerLoad s, long[] prefix, Score score) {
    double load = score.cost(s);
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
