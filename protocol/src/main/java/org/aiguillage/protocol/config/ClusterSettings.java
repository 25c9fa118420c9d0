package org.aiguillage.protocol.config;

import java.util.List;

/**
 * How this node finds the others: {@code cluster: { host, port, seed_nodes: ["10.0.0.1:25520", ...] }}, or Pekko
 * Management's cluster bootstrap ({@code bootstrap: kubernetes-api} in Kubernetes, {@code bootstrap: config} with
 * {@code contact_points} for local runs). Without a {@code cluster} section a node forms a cluster of its own.
 *
 * @param host the address other nodes reach this one at ({@code AIGUILLAGE_CLUSTER_HOST} overrides it)
 * @param port the cluster (Artery) port; 0 picks a free one, which only a node alone or a first seed may do
 * @param seedNodes {@code host:port} of the nodes to join; this node's own address first makes it the founder
 * @param bootstrap {@code seed-nodes} (default), {@code config} or {@code kubernetes-api}
 * @param managementPort Pekko Management's HTTP port (health probes, bootstrap); null: not started
 * @param contactPoints with {@code bootstrap: config}, the {@code host:managementPort} of the nodes to contact
 * @param requiredContactPoints how many contact points bootstrap waits for before forming a new cluster
 * @param serviceName the name bootstrap looks for (the pods' {@code app} label in Kubernetes)
 */
public record ClusterSettings(
    String host,
    Integer port,
    List<String> seedNodes,
    Bootstrap bootstrap,
    Integer managementPort,
    List<String> contactPoints,
    Integer requiredContactPoints,
    String serviceName) {

  public static final int DEFAULT_PORT = 25520;

  public static ClusterSettings alone() {
    return new ClusterSettings(null, 0, List.of(), null, null, null, null, null);
  }

  public ClusterSettings {
    host = host == null || host.isBlank() ? "127.0.0.1" : host.trim();
    port = port == null ? DEFAULT_PORT : port;
    seedNodes = seedNodes == null ? List.of() : List.copyOf(seedNodes);
    bootstrap = bootstrap == null ? Bootstrap.SEED_NODES : bootstrap;
    contactPoints = contactPoints == null ? List.of() : List.copyOf(contactPoints);
    requiredContactPoints = requiredContactPoints == null ? 1 : requiredContactPoints;
    serviceName = serviceName == null ? "aiguillage" : serviceName;
  }

  public ClusterSettings withHostAndPort(String newHost, int newPort) {
    return new ClusterSettings(newHost, newPort, seedNodes, bootstrap, managementPort, contactPoints,
        requiredContactPoints, serviceName);
  }

  /** Whether this node forms a cluster by itself (no seeds, no bootstrap). */
  public boolean formsItsOwnCluster() {
    return seedNodes.isEmpty() && bootstrap == Bootstrap.SEED_NODES;
  }
}
