package org.aiguillage.loadtest.run;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * What the whole machine's processors did, from the first line of {@code /proc/stat}: busy time (user, nice, system,
 * interrupts) and steal (time the hypervisor gave another tenant while this machine wanted to run), in seconds. Read
 * around each path's rounds of the overhead benchmark: the load generator, the server, the proxy or the dispatcher
 * all run on this machine, so what a path costs the machine per token is comparable between paths of the same run,
 * and says whether the machine was full.
 */
public record MachineCpu(double busyS, double stealS) {

  static final Path PROC_STAT = Path.of("/proc/stat");
  /** Clock ticks per second of {@code /proc/stat} (USER_HZ, 100 on Linux). */
  private static final double TICKS = 100.0;

  /** Now, or empty when {@code /proc/stat} cannot be read (not Linux). */
  static Optional<MachineCpu> now() {
    try {
      return Optional.of(parse(Files.readAllLines(PROC_STAT).get(0)));
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  /** @param cpuLine {@code cpu  user nice system idle iowait irq softirq steal ...} */
  static MachineCpu parse(String cpuLine) {
    String[] f = cpuLine.trim().split("\\s+");
    if (!f[0].equals("cpu") || f.length < 9) {
      throw new IllegalArgumentException("not the cpu line of /proc/stat: " + cpuLine);
    }
    long busy = Long.parseLong(f[1]) + Long.parseLong(f[2]) + Long.parseLong(f[3]) + Long.parseLong(f[6])
        + Long.parseLong(f[7]);
    return new MachineCpu(busy / TICKS, Long.parseLong(f[8]) / TICKS);
  }

  MachineCpu minus(MachineCpu earlier) {
    return new MachineCpu(busyS - earlier.busyS, stealS - earlier.stealS);
  }

  MachineCpu plus(MachineCpu other) {
    return new MachineCpu(busyS + other.busyS, stealS + other.stealS);
  }

  /** One path's use of the machine over its rounds: cores busy and stolen, and busy time per 1,000 output tokens. */
  public record PathUse(double busyCores, double stealCores, double busyMsPerThousandTokens) {
    static PathUse of(MachineCpu used, double seconds, long tokens) {
      return new PathUse(used.busyS() / seconds, used.stealS() / seconds,
          tokens == 0 ? Double.NaN : used.busyS() * 1e6 / tokens);
    }
  }
}
