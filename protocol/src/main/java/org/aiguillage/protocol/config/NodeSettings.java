package org.aiguillage.protocol.config;

import java.util.List;
import java.util.Set;

/**
 * What this process does in the cluster: {@code node: { roles: [edge, queue, agent], datacenter: dc1 }}.
 *
 * <ul>
 *   <li>{@code edge}: serves HTTP (the OpenAI API and the admin API);
 *   <li>{@code queue}: hosts shards: the models' queues and the key accounts;
 *   <li>{@code agent}: fronts the inference servers of its datacentre listed in its {@code models} section.
 * </ul>
 *
 * @param datacenter where the node runs; an agent node fronts the servers of its datacentre
 * @param drainTimeout how long a leaving node waits for its streams to end
 */
public record NodeSettings(List<String> roles, String datacenter, java.time.Duration drainTimeout) {

  /** How long a leaving node waits for its streams to end before it goes anyway. */
  public static final java.time.Duration DEFAULT_DRAIN_TIMEOUT = java.time.Duration.ofSeconds(120);

  public static final Set<String> ROLES = Set.of("edge", "queue", "agent");

  public static NodeSettings defaults() {
    return new NodeSettings(null, null, null);
  }

  public NodeSettings {
    roles = roles == null ? List.of("edge", "queue", "agent") : List.copyOf(roles);
    datacenter = datacenter == null || datacenter.isBlank() ? "default" : datacenter.trim();
    drainTimeout = drainTimeout == null ? DEFAULT_DRAIN_TIMEOUT : drainTimeout;
  }

  public boolean has(String role) {
    return roles.contains(role);
  }
}
