package org.aiguillage.protocol.config;

import java.time.Duration;
import java.util.List;

/**
 * A model as clients see it, and the servers that serve it.
 *
 * @param name what clients ask for
 * @param model what the servers are asked for (default: {@code name})
 * @param routingStrategy {@code least-busy} (default) or {@code round-robin}
 * @param queueTimeout the longest a ticket may wait in the queue before the client gets 503
 * @param priorityHandler {@code dispatcher} (default) or {@code vllm}: also pass the priority to vLLM
 * @param priorityAging every full step a ticket waits raises its priority by one, so no class starves
 *     ({@code off} in the YAML turns ageing off)
 */
public record ModelConfig(
    String name,
    String model,
    String routingStrategy,
    List<ServerConfig> vllmServers,
    Duration queueTimeout,
    String priorityHandler,
    Duration priorityAging) {

  public static final Duration DEFAULT_QUEUE_TIMEOUT = Duration.ofSeconds(120);
  public static final Duration DEFAULT_PRIORITY_AGING = Duration.ofSeconds(30);

  public ModelConfig {
    model = model == null ? name : model;
    routingStrategy = routingStrategy == null ? "least-busy" : routingStrategy;
    vllmServers = vllmServers == null ? List.of() : List.copyOf(vllmServers);
    queueTimeout = queueTimeout == null ? DEFAULT_QUEUE_TIMEOUT : queueTimeout;
    priorityHandler = priorityHandler == null ? "dispatcher" : priorityHandler;
    priorityAging = priorityAging == null ? DEFAULT_PRIORITY_AGING : priorityAging;
  }

  /** The name the servers know the model by. */
  public String servedName() {
    return model;
  }
}
