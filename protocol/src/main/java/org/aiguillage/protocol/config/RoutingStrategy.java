package org.aiguillage.protocol.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import org.aiguillage.protocol.WireNames;

/** How a model's queue picks a server among those with room (docs/configuration.md). */
public enum RoutingStrategy {
  LEAST_BUSY("least-busy"),
  ROUND_ROBIN("round-robin"),
  RANDOM("random");

  private final String wireName;

  RoutingStrategy(String wireName) {
    this.wireName = wireName;
  }

  /** As the YAML, the admin API and the journal write it. */
  @JsonValue
  public String wireName() {
    return wireName;
  }

  /** @throws IllegalArgumentException naming the accepted values */
  @JsonCreator
  public static RoutingStrategy fromWireName(String name) {
    return WireNames.of(values(), RoutingStrategy::wireName, name);
  }

  @Override
  public String toString() {
    return wireName;
  }
}
