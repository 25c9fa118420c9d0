package org.aiguillage.protocol;

import java.util.Arrays;
import java.util.Optional;

/**
 * Where a ticket may be served ("coupe-file"): on any server, on its own organisation's servers first, or only there.
 * The wire names are the federation's: {@code any}, {@code private-first}, {@code private-only}.
 */
public enum RoutingMode {
  ANY("any"),
  PRIVATE_FIRST("private-first"),
  PRIVATE_ONLY("private-only");

  private final String wireName;

  RoutingMode(String wireName) {
    this.wireName = wireName;
  }

  public String wireName() {
    return wireName;
  }

  public static Optional<RoutingMode> fromWireName(String name) {
    return Arrays.stream(values()).filter(m -> m.wireName.equals(name)).findFirst();
  }
}
