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
 */
public record ModelConfig(
    String name,
    String model,
    String routingStrategy,
    List<ServerConfig> vllmServers,
    Duration queueTimeout,
    String priorityHandler) {

  public static final Duration DEFAULT_QUEUE_TIMEOUT = Duration.ofSeconds(120);

  public ModelConfig {
    model = model == null ? name : model;
    routingStrategy = routingStrategy == null ? "least-busy" : routingStrategy;
    vllmServers = vllmServers == null ? List.of() : List.copyOf(vllmServers);
    queueTimeout = queueTimeout == null ? DEFAULT_QUEUE_TIMEOUT : queueTimeout;
    priorityHandler = priorityHandler == null ? "dispatcher" : priorityHandler;
  }

  /** The name the servers know the model by. */
  public String servedName() {
    return model;
  }
}
