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
 * @param lifecycle {@code production} (default); {@code staging}: visible only to keys whose {@code models} name it;
 *     {@code deprecated}: served, with a {@code Deprecation} header
 * @param aliases other names clients may ask for it by
 * @param firstTokenTimeout a server that sends nothing for this long after a call started has stalled: the call is
 *     retried on another server and the stalled one left without work for a while
 * @param type what the model serves: {@code text-generation} (default), {@code text-embeddings-inference},
 *     {@code automatic-speech-recognition}, {@code text-classification}
 * @param prefixAffinity least-busy prefers, while it predicts the shorter wait, a server that was sent the same
 *     prompt beginning lately (its prefix cache holds it) and keeps a named conversation on its server; on by
 *     default, {@code prefix_affinity: false} turns it off
 * @param prefixBlocksPerServer how many blocks of prompts (256 bytes each) the queue remembers per server for it:
 *     about 86 bytes of heap each (docs/routing.md); default 16,384, 4 MB of prompts a server
 * @param batchSlotShare the share of a server's capacity the lines of batches ({@code /v1/batches}) may fill when no
 *     interactive ticket wants a slot: 1 (default) any slot left, 0.5 at most half
 */
public record ModelConfig(
    String name,
    String model,
    RoutingStrategy routingStrategy,
    List<ServerConfig> vllmServers,
    Duration queueTimeout,
    PriorityHandler priorityHandler,
    Duration priorityAging,
    Lifecycle lifecycle,
    List<String> aliases,
    Duration firstTokenTimeout,
    ModelType type,
    Boolean prefixAffinity,
    Integer prefixBlocksPerServer,
    Double batchSlotShare) {

  public static final Duration DEFAULT_FIRST_TOKEN_TIMEOUT = Duration.ofSeconds(60);
  public static final int DEFAULT_PREFIX_BLOCKS_PER_SERVER = 16_384;

  public static final Duration DEFAULT_QUEUE_TIMEOUT = Duration.ofSeconds(120);
  public static final Duration DEFAULT_PRIORITY_AGING = Duration.ofSeconds(30);

  public ModelConfig {
    model = model == null ? name : model;
    routingStrategy = routingStrategy == null ? RoutingStrategy.LEAST_BUSY : routingStrategy;
    vllmServers = vllmServers == null ? List.of() : List.copyOf(vllmServers);
    queueTimeout = queueTimeout == null ? DEFAULT_QUEUE_TIMEOUT : queueTimeout;
    priorityHandler = priorityHandler == null ? PriorityHandler.DISPATCHER : priorityHandler;
    priorityAging = priorityAging == null ? DEFAULT_PRIORITY_AGING : priorityAging;
    lifecycle = lifecycle == null ? Lifecycle.PRODUCTION : lifecycle;
    aliases = aliases == null ? List.of() : List.copyOf(aliases);
    firstTokenTimeout = firstTokenTimeout == null ? DEFAULT_FIRST_TOKEN_TIMEOUT : firstTokenTimeout;
    type = type == null ? ModelType.TEXT_GENERATION : type;
    prefixAffinity = prefixAffinity == null ? Boolean.TRUE : prefixAffinity;
    prefixBlocksPerServer = prefixBlocksPerServer == null ? DEFAULT_PREFIX_BLOCKS_PER_SERVER : prefixBlocksPerServer;
    if (prefixBlocksPerServer < 1) {
      throw new IllegalArgumentException("prefix_blocks_per_server must be at least 1");
    }
    batchSlotShare = batchSlotShare == null ? 1.0 : batchSlotShare;
    if (!(batchSlotShare > 0 && batchSlotShare <= 1)) {
      throw new IllegalArgumentException("batch_slot_share must be above 0 and at most 1, not " + batchSlotShare);
    }
  }

  public ModelConfig(String name, String model, RoutingStrategy routingStrategy, List<ServerConfig> vllmServers,
      Duration queueTimeout, PriorityHandler priorityHandler, Duration priorityAging, Lifecycle lifecycle,
      List<String> aliases, Duration firstTokenTimeout, ModelType type, Boolean prefixAffinity,
      Integer prefixBlocksPerServer) {
    this(name, model, routingStrategy, vllmServers, queueTimeout, priorityHandler, priorityAging, lifecycle, aliases,
        firstTokenTimeout, type, prefixAffinity, prefixBlocksPerServer, null);
  }

  public ModelConfig(String name, String model, RoutingStrategy routingStrategy, List<ServerConfig> vllmServers,
      Duration queueTimeout, PriorityHandler priorityHandler, Duration priorityAging, Lifecycle lifecycle,
      List<String> aliases, Duration firstTokenTimeout, ModelType type) {
    this(name, model, routingStrategy, vllmServers, queueTimeout, priorityHandler, priorityAging, lifecycle, aliases,
        firstTokenTimeout, type, null, null);
  }

  public ModelConfig(String name, String model, RoutingStrategy routingStrategy, List<ServerConfig> vllmServers,
      Duration queueTimeout, PriorityHandler priorityHandler, Duration priorityAging) {
    this(name, model, routingStrategy, vllmServers, queueTimeout, priorityHandler, priorityAging, null, null, null,
        null);
  }

  public ModelConfig withServers(List<ServerConfig> servers) {
    return new ModelConfig(name, model, routingStrategy, servers, queueTimeout, priorityHandler, priorityAging,
        lifecycle, aliases, firstTokenTimeout, type, prefixAffinity, prefixBlocksPerServer, batchSlotShare);
  }

  public ModelConfig withType(ModelType newType) {
    return new ModelConfig(name, model, routingStrategy, vllmServers, queueTimeout, priorityHandler, priorityAging,
        lifecycle, aliases, firstTokenTimeout, newType, prefixAffinity, prefixBlocksPerServer, batchSlotShare);
  }

  public ModelConfig withLifecycleAndAliases(Lifecycle newLifecycle, List<String> newAliases) {
    return new ModelConfig(name, model, routingStrategy, vllmServers, queueTimeout, priorityHandler, priorityAging,
        newLifecycle, newAliases, firstTokenTimeout, type, prefixAffinity, prefixBlocksPerServer, batchSlotShare);
  }

  public ModelConfig withPrefixAffinity(boolean on) {
    return new ModelConfig(name, model, routingStrategy, vllmServers, queueTimeout, priorityHandler, priorityAging,
        lifecycle, aliases, firstTokenTimeout, type, on, prefixBlocksPerServer, batchSlotShare);
  }

  /** Whether clients asking for {@code requested} mean this model (its name or an alias). */
  public boolean answersTo(String requested) {
    return name.equals(requested) || aliases.contains(requested);
  }

  /** The name the servers know the model by. */
  public String servedName() {
    return model;
  }
}
