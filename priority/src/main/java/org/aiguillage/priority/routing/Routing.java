package org.aiguillage.priority.routing;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.random.RandomGenerator;
import org.aiguillage.protocol.config.RoutingStrategy;
import org.aiguillage.protocol.dispatch.TicketInfo;

/**
 * A model's routing strategy: which server serves a ticket. The queue offers its waiting tickets to the servers with
 * room in the strategy's {@link #order}; the first server with a ticket for it (the queue's priorities and
 * private-first rules decide which) was chosen, and {@link #place} may hand that ticket to an equal server the
 * strategy knows better. Plain Java with an injected clock: no actor, no wall time.
 */
public abstract sealed class Routing permits LeastBusy, RoundRobin, RandomRouting {

  protected final Clock clock;

  Routing(Clock clock) {
    this.clock = clock;
  }

  /**
   * The strategy named in a model's settings. {@code prefixAffinity} and {@code prefixBlocksPerServer} shape
   * least-busy's memory of what each server's prefix cache holds; {@code random} draws the random strategy's order.
   */
  public static Routing of(RoutingStrategy strategy, boolean prefixAffinity, int prefixBlocksPerServer, Clock clock,
      RandomGenerator random) {
    return switch (strategy) {
      case LEAST_BUSY -> new LeastBusy(prefixAffinity, prefixBlocksPerServer, clock);
      case ROUND_ROBIN -> new RoundRobin(clock);
      case RANDOM -> new RandomRouting(clock, random);
    };
  }

  public abstract RoutingStrategy strategy();

  /**
   * The servers that can take a ticket now, in the order this strategy offers them one: those with credit (free
   * slots beyond the assignments on their way) whose agent's demand is fresher than {@code demandTimeout}. A server
   * without room is never among them.
   */
  public final List<ServerLoad> order(Collection<ServerLoad> servers, Duration demandTimeout) {
    long now = clock.millis();
    List<ServerLoad> withRoom = new ArrayList<>();
    for (ServerLoad s : servers) {
      if (s.credit() > 0 && s.demandedWithin(demandTimeout, now)) {
        withRoom.add(s);
      }
    }
    arrange(withRoom, now);
    return withRoom;
  }

  /** Sorts the servers with room in this strategy's order. */
  abstract void arrange(List<ServerLoad> withRoom, long now);

  /**
   * The server that serves {@code ticket}, which {@code chosen} (one of {@code candidates}, the servers with room)
   * was offered first: {@code chosen}, unless the strategy finds another of the candidates equal for the queue's
   * rules (the same organisation) and better for this ticket.
   */
  public ServerLoad place(ServerLoad chosen, List<ServerLoad> candidates, TicketInfo ticket) {
    return chosen;
  }

  /** The queue sent {@code ticket} to {@code server}. */
  public final void sent(ServerLoad server, TicketInfo ticket) {
    long now = clock.millis();
    server.sent(now);
    remember(server, ticket, now);
  }

  void remember(ServerLoad server, TicketInfo ticket, long now) {}

  /** The server's agent sent a new demand (its snapshot is now in {@code server}). */
  public void observed(ServerLoad server) {}
}
