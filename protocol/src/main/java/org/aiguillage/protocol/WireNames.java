package org.aiguillage.protocol;

import java.util.Arrays;
import java.util.function.Function;
import java.util.stream.Collectors;

/** Closed sets of values written in the YAML and the admin API by their wire names ({@code least-busy}). */
public final class WireNames {

  private WireNames() {}

  /** The value whose wire name is {@code name}; else an error listing the accepted ones. */
  public static <E extends Enum<E>> E of(E[] values, Function<E, String> wireName, String name) {
    for (E value : values) {
      if (wireName.apply(value).equals(name)) {
        return value;
      }
    }
    throw new Unknown("'" + name + "' is not one of " + Arrays.stream(values).map(wireName)
        .sorted().collect(Collectors.joining(", ")));
  }

  /** A name outside the set; its message lists the accepted ones. */
  public static final class Unknown extends IllegalArgumentException {
    Unknown(String message) {
      super(message);
    }
  }
}
