package org.aiguillage.protocol.config;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The board power of the GPUs a server may declare ({@code gpu: h200}, {@code gpu: 8x h100}): the maker's maximum
 * (TDP), what a GPU draws when a batch keeps it busy. A server that declares {@code power_watts} uses that instead:
 * a measured figure (its GPUs' and host's draw while serving) is always better than a board's maximum.
 */
public final class GpuPower {

  /** Watts per GPU, from the makers' data sheets (SXM boards where there are several forms). */
  private static final Map<String, Double> WATTS = Map.ofEntries(
      Map.entry("b200", 1000.0),
      Map.entry("h200", 700.0),
      Map.entry("h100", 700.0),
      Map.entry("h100-pcie", 350.0),
      Map.entry("gh200", 1000.0),
      Map.entry("a100", 400.0),
      Map.entry("a100-pcie", 300.0),
      Map.entry("l40s", 350.0),
      Map.entry("l40", 300.0),
      Map.entry("l4", 72.0),
      Map.entry("a40", 300.0),
      Map.entry("a10", 150.0),
      Map.entry("v100", 300.0),
      Map.entry("rtx6000pro", 600.0),
      Map.entry("rtx6000ada", 300.0),
      Map.entry("mi300x", 750.0),
      Map.entry("mi250", 500.0));

  public static final List<String> KNOWN = WATTS.keySet().stream().sorted().toList();

  private static final Pattern COUNTED = Pattern.compile("(?:(\\d+)\\s*x\\s*)?([a-z0-9-]+)");

  private GpuPower() {}

  /** {@code h200} or {@code 4x h100}: the GPUs' watts together; empty for a GPU not in the table. */
  public static OptionalDouble watts(String gpu) {
    Matcher m = COUNTED.matcher(gpu.trim().toLowerCase(Locale.ROOT));
    if (!m.matches()) {
      return OptionalDouble.empty();
    }
    Double each = WATTS.get(m.group(2));
    if (each == null) {
      return OptionalDouble.empty();
    }
    int count = m.group(1) == null ? 1 : Integer.parseInt(m.group(1));
    return count < 1 ? OptionalDouble.empty() : OptionalDouble.of(each * count);
  }
}
