package org.aiguillage.actors;

import java.time.Duration;
import org.aiguillage.priority.QueuePolicy;
import org.aiguillage.protocol.config.ModelConfig;
import org.aiguillage.protocol.config.RoutingStrategy;

/**
 * How one model's queue behaves.
 *
 * @param routingStrategy how a server is picked among those with room
 * @param leaseTimeout a waiting ticket whose request actor has not re-asserted it for this long is dropped
 * @param demandTimeout an agent that has not repeated its demand for this long is forgotten
 * @param assignTimeout an assignment neither accepted nor refused in this long goes back to the queue
 * @param prefixAffinity least-busy weighs what each server's prefix cache likely holds of a ticket's prompt
 * @param prefixBlocksPerServer blocks of prompts the queue remembers per server ({@code PrefixIndex})
 * @param batchSlotShare the share of a server's capacity batch tickets may fill (when no other ticket wants a slot)
 *
 * <p>A key's threshold (the most tickets it may have waiting) travels with each ticket, so every queue enforces
 * it without a copy of the key directory.
 */
public record QueueSettings(
    RoutingStrategy routingStrategy,
    QueuePolicy policy,
    Duration leaseTimeout,
    Duration demandTimeout,
    Duration assignTimeout,
    boolean prefixAffinity,
    int prefixBlocksPerServer,
    double batchSlotShare) {

  public static final int PREFIX_BLOCKS_PER_SERVER = ModelConfig.DEFAULT_PREFIX_BLOCKS_PER_SERVER;

  public QueueSettings(RoutingStrategy routingStrategy, QueuePolicy policy, Duration leaseTimeout,
      Duration demandTimeout, Duration assignTimeout) {
    this(routingStrategy, policy, leaseTimeout, demandTimeout, assignTimeout, true, PREFIX_BLOCKS_PER_SERVER);
  }

  public QueueSettings(RoutingStrategy routingStrategy, QueuePolicy policy, Duration leaseTimeout,
      Duration demandTimeout, Duration assignTimeout, boolean prefixAffinity, int prefixBlocksPerServer) {
    this(routingStrategy, policy, leaseTimeout, demandTimeout, assignTimeout, prefixAffinity, prefixBlocksPerServer,
        1.0);
  }

  public static QueueSettings of(ModelConfig model) {
    return new QueueSettings(model.routingStrategy(), new QueuePolicy(model.priorityAging()), Duration.ofSeconds(5),
        Duration.ofSeconds(3), Duration.ofSeconds(5), model.prefixAffinity(), model.prefixBlocksPerServer(),
        model.batchSlotShare());
  }

  public static QueueSettings defaults() {
    return new QueueSettings(RoutingStrategy.LEAST_BUSY, QueuePolicy.NO_AGEING, Duration.ofSeconds(5), Duration.ofSeconds(3),
        Duration.ofSeconds(5));
  }
}
