package org.aiguillage.loadtest.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The machine's processors as /proc/stat counts them, and what a path of the overhead benchmark used of them. */
class MachineCpuTest {

  @Test
  void busyIsUserNiceSystemAndInterruptsNotIdleNorWaitingAndStealIsApart() {
    // user nice system idle iowait irq softirq steal guest guest_nice, in ticks of 1/100 s
    MachineCpu before = MachineCpu.parse("cpu  1000 10 200 5000 40 3 7 50 0 0");
    MachineCpu after = MachineCpu.parse("cpu  1300 10 280 5100 40 3 27 70 0 0");

    MachineCpu used = after.minus(before);

    assertEquals(4.0, used.busyS(), 1e-9);
    assertEquals(0.2, used.stealS(), 1e-9);
    MachineCpu.PathUse use = MachineCpu.PathUse.of(used.plus(used), 4.0, 2_000);
    assertEquals(2.0, use.busyCores(), 1e-9);
    assertEquals(0.1, use.stealCores(), 1e-9);
    assertEquals(4_000, use.busyMsPerThousandTokens(), 1e-6, "8 s of busy processors for 2,000 tokens");
  }

  @Test
  void anotherLineIsRefusedAndThisMachinesIsRead() {
    assertThrows(IllegalArgumentException.class, () -> MachineCpu.parse("cpu0 1 2 3 4 5 6 7 8"));
    assertTrue(MachineCpu.now().map(c -> c.busyS() > 0).orElse(true), "on Linux the machine has been busy");
  }
}
