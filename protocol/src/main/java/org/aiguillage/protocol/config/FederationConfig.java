package org.aiguillage.protocol.config;

import java.util.List;
import java.util.Optional;

/** The whole YAML file of a node. Parse it with {@link FederationConfigParser}. */
public record FederationConfig(NodeSettings node, ClusterSettings cluster, HttpSettings http, AdminSettings admin,
    PersistenceSettings persistence, List<KeyConfig> tokens, List<ModelConfig> models, List<OidcIssuer> oidc,
    java.util.Map<String, DatacenterConfig> datacenters, BatchSettings batch) {

  public FederationConfig {
    batch = batch == null ? BatchSettings.defaults() : batch;
    node = node == null ? NodeSettings.defaults() : node;
    cluster = cluster == null ? ClusterSettings.alone() : cluster;
    http = http == null ? HttpSettings.defaults() : http;
    admin = admin == null ? AdminSettings.defaults() : admin;
    persistence = persistence == null ? PersistenceSettings.defaults() : persistence;
    tokens = tokens == null ? List.of() : List.copyOf(tokens);
    models = models == null ? List.of() : List.copyOf(models);
    oidc = oidc == null ? List.of() : List.copyOf(oidc);
    datacenters = datacenters == null ? java.util.Map.of() : java.util.Map.copyOf(datacenters);
  }

  public FederationConfig(NodeSettings node, ClusterSettings cluster, HttpSettings http, AdminSettings admin,
      PersistenceSettings persistence, List<KeyConfig> tokens, List<ModelConfig> models, List<OidcIssuer> oidc) {
    this(node, cluster, http, admin, persistence, tokens, models, oidc, null, null);
  }

  public FederationConfig(NodeSettings node, ClusterSettings cluster, HttpSettings http, AdminSettings admin,
      PersistenceSettings persistence, List<KeyConfig> tokens, List<ModelConfig> models, List<OidcIssuer> oidc,
      java.util.Map<String, DatacenterConfig> datacenters) {
    this(node, cluster, http, admin, persistence, tokens, models, oidc, datacenters, null);
  }

  /** A datacentre's figures: as the file gives them, else those of {@code default}, else none (PUE 1). */
  public DatacenterConfig datacenter(String name) {
    DatacenterConfig dc = datacenters.get(name);
    return dc != null ? dc : datacenters.getOrDefault("default", DatacenterConfig.UNKNOWN);
  }

  public FederationConfig(NodeSettings node, ClusterSettings cluster, HttpSettings http, AdminSettings admin,
      PersistenceSettings persistence, List<KeyConfig> tokens, List<ModelConfig> models) {
    this(node, cluster, http, admin, persistence, tokens, models, null);
  }

  public FederationConfig(HttpSettings http, List<KeyConfig> tokens, List<ModelConfig> models) {
    this(null, null, http, null, null, tokens, models);
  }

  public FederationConfig(HttpSettings http, AdminSettings admin, PersistenceSettings persistence,
      List<KeyConfig> tokens, List<ModelConfig> models) {
    this(null, null, http, admin, persistence, tokens, models);
  }

  /** The model clients mean by {@code name}: its name or one of its aliases. */
  public Optional<ModelConfig> model(String name) {
    return models.stream().filter(m -> m.name().equals(name)).findFirst()
        .or(() -> models.stream().filter(m -> m.answersTo(name)).findFirst());
  }

  public FederationConfig withHttp(HttpSettings newHttp) {
    return new FederationConfig(node, cluster, newHttp, admin, persistence, tokens, models, oidc, datacenters, batch);
  }

  public FederationConfig withAdmin(AdminSettings newAdmin) {
    return new FederationConfig(node, cluster, http, newAdmin, persistence, tokens, models, oidc, datacenters, batch);
  }

  public FederationConfig withModels(List<ModelConfig> newModels) {
    return new FederationConfig(node, cluster, http, admin, persistence, tokens, newModels, oidc, datacenters, batch);
  }

  public FederationConfig withNode(NodeSettings newNode) {
    return new FederationConfig(newNode, cluster, http, admin, persistence, tokens, models, oidc, datacenters, batch);
  }

  public FederationConfig withPersistence(PersistenceSettings newPersistence) {
    return new FederationConfig(node, cluster, http, admin, newPersistence, tokens, models, oidc, datacenters, batch);
  }

  public FederationConfig withCluster(ClusterSettings newCluster) {
    return new FederationConfig(node, newCluster, http, admin, persistence, tokens, models, oidc, datacenters, batch);
  }
}
