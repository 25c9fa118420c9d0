package org.aiguillage.priority.routing;

import java.time.Clock;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import org.aiguillage.protocol.config.RoutingStrategy;
import org.aiguillage.protocol.dispatch.TicketInfo;

/** Servers in turn: the order of their names, turned by one at every ticket sent. */
public final class RoundRobin extends Routing {

  private long turn;

  RoundRobin(Clock clock) {
    super(clock);
  }

  @Override
  public RoutingStrategy strategy() {
    return RoutingStrategy.ROUND_ROBIN;
  }

  @Override
  void arrange(List<ServerLoad> withRoom, long now) {
    withRoom.sort(Comparator.comparing(ServerLoad::serverId));
    if (!withRoom.isEmpty()) {
      Collections.rotate(withRoom, -(int) (turn % withRoom.size()));
    }
  }

  @Override
  void remember(ServerLoad server, TicketInfo ticket, long now) {
    turn++;
  }
}
