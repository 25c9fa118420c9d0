package org.aiguillage.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.aiguillage.protocol.config.ClusterSettings;
import org.aiguillage.protocol.config.FederationConfig;
import org.aiguillage.protocol.config.NodeSettings;

/** The Pekko configuration of a node's place in the cluster, from the YAML's {@code node} and {@code cluster}. */
final class ClusterConfig {

  static final String SYSTEM_NAME = "aiguillage";

  private ClusterConfig() {}

  /** The role of the agent nodes of a datacentre: each server's agent is a singleton among them. */
  static String agentRole(String datacenter) {
    return "agent-" + datacenter;
  }

  static Config of(FederationConfig config) {
    NodeSettings node = config.node();
    ClusterSettings cluster = config.cluster();
    List<String> roles = new ArrayList<>(node.roles());
    if (node.has("agent")) {
      roles.add(agentRole(node.datacenter()));
    }
    List<String> seeds = cluster.seedNodes().stream().map(s -> "pekko://" + SYSTEM_NAME + "@" + s).toList();
    long drain = node.drainTimeout().toSeconds();
    Map<String, Object> m = new HashMap<>();
    m.put("pekko.remote.artery.canonical.hostname", cluster.host());
    m.put("pekko.remote.artery.canonical.port", cluster.port());
    m.put("pekko.cluster.roles", roles);
    m.put("pekko.cluster.seed-nodes", seeds);
    // A leaving node finishes its streams first (edge, then agents), within its drain timeout.
    m.put("pekko.coordinated-shutdown.phases.service-requests-done.timeout", (drain + 5) + "s");
    m.put("pekko.coordinated-shutdown.phases.before-cluster-shutdown.timeout", (drain + 5) + "s");
    if (cluster.managementPort() != null) {
      m.put("pekko.management.http.hostname", cluster.host());
      m.put("pekko.management.http.bind-hostname", "0.0.0.0");
      m.put("pekko.management.http.port", cluster.managementPort());
      m.put("pekko.management.cluster.bootstrap.contact-point-discovery.service-name", cluster.serviceName());
      m.put("pekko.management.cluster.bootstrap.contact-point-discovery.required-contact-point-nr",
          cluster.requiredContactPoints());
    }
    switch (cluster.bootstrap()) {
      case CONFIG -> {
        m.put("pekko.management.cluster.bootstrap.contact-point-discovery.discovery-method", "config");
        List<Map<String, Object>> endpoints = new ArrayList<>();
        for (String contact : cluster.contactPoints()) {
          int colon = contact.lastIndexOf(':');
          endpoints.add(Map.of("host", contact.substring(0, colon),
              "port", Integer.parseInt(contact.substring(colon + 1))));
        }
        m.put("pekko.discovery.config.services." + cluster.serviceName() + ".endpoints", endpoints);
      }
      case KUBERNETES_API -> {
        m.put("pekko.management.cluster.bootstrap.contact-point-discovery.discovery-method", "kubernetes-api");
        m.put("pekko.management.cluster.bootstrap.contact-point-discovery.port-name", "management");
        m.put("pekko.discovery.kubernetes-api.pod-label-selector", "app.kubernetes.io/name=%s");
      }
      default -> { }
    }
    return ConfigFactory.parseMap(m);
  }
}
