package org.aiguillage.priority;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class RecentWaitsTest {

  @Test
  void theMedianIsOfTheWaitsSinceTheGivenTimeOnly() {
    RecentWaits waits = new RecentWaits(16);
    waits.record(1_000, 900); // older than the window asked for
    waits.record(10_000, 30);
    waits.record(11_000, 10);
    waits.record(12_000, 20);

    assertEquals(20, waits.median(5_000));
    assertEquals(20, waits.median(0), "with the old one: 10, 20, 30, 900 (the lower of the middle two)");
    assertEquals(-1, waits.median(20_000), "nothing since: no median");
  }

  @Test
  void memoryIsBoundedTheNewestWaitsReplaceTheOldest() {
    RecentWaits waits = new RecentWaits(4);
    for (int i = 0; i < 100; i++) {
      waits.record(i, i);
    }
    assertEquals(97, waits.median(0), "only 96..99 are kept");
  }
}
