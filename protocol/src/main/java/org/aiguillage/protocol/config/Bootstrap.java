package org.aiguillage.protocol.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import org.aiguillage.protocol.WireNames;

/** How a node finds its cluster: its seed nodes, or Pekko Management's bootstrap from a list or Kubernetes. */
public enum Bootstrap {
  SEED_NODES("seed-nodes"),
  CONFIG("config"),
  KUBERNETES_API("kubernetes-api");

  private final String wireName;

  Bootstrap(String wireName) {
    this.wireName = wireName;
  }

  /** As the YAML, the admin API and the journal write it. */
  @JsonValue
  public String wireName() {
    return wireName;
  }

  /** @throws IllegalArgumentException naming the accepted values */
  @JsonCreator
  public static Bootstrap fromWireName(String name) {
    return WireNames.of(values(), Bootstrap::wireName, name);
  }

  @Override
  public String toString() {
    return wireName;
  }
}
