package org.aiguillage.priority.routing;

import java.time.Clock;
import java.util.List;
import java.util.random.RandomGenerator;
import org.aiguillage.protocol.config.RoutingStrategy;

/** Servers in a random order, drawn again for every ticket. */
public final class RandomRouting extends Routing {

  private final RandomGenerator random;

  RandomRouting(Clock clock, RandomGenerator random) {
    super(clock);
    this.random = random;
  }

  @Override
  public RoutingStrategy strategy() {
    return RoutingStrategy.RANDOM;
  }

  @Override
  void arrange(List<ServerLoad> withRoom, long now) {
    for (int i = withRoom.size() - 1; i > 0; i--) { // Fisher-Yates
      int j = random.nextInt(i + 1);
      withRoom.set(i, withRoom.set(j, withRoom.get(i)));
    }
  }
}
