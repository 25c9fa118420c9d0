package org.aiguillage.agents;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class StepCurveTest {

  private final StepCurve curve = new StepCurve();
  private double gapSeconds;
  private double gaps;
  private long now;

  /** Half a second of a server running {@code running} requests whose steps last {@code stepMillis}. */
  private void interval(int running, double stepMillis) {
    double tokens = Math.floor(running * 500 / stepMillis);
    gapSeconds += tokens * stepMillis / 1000;
    gaps += tokens;
    curve.observe(gapSeconds, gaps, running, now += 500);
  }

  @Test
  void learnsTheLineOfAServerWhoseStepsGrowWithItsBatch() {
    curve.observe(0, 0, 0, now);
    for (int running = 1; running <= 40; running++) { // a ramp, as users arrive
      interval(running, 8 + 0.3 * running);
    }

    assertEquals(8.0, curve.baseMillis(), 0.3);
    assertEquals(0.3, curve.millisPerCall(), 0.02);
  }

  @Test
  void knowsNothingUntilItHasSeenDifferentBatches() {
    curve.observe(0, 0, 0, now);
    for (int i = 0; i < 20; i++) {
      interval(30, 17);
    }

    assertEquals(-1, curve.baseMillis());

    for (int running : new int[] {40, 40, 40, 20, 20, 20, 40, 40, 40}) { // users come and go
      interval(running, 8 + 0.3 * running);
    }

    assertEquals(8.0, curve.baseMillis(), 1.0);
    assertEquals(0.3, curve.millisPerCall(), 0.05);
  }

  @Test
  void aRestartedServersCountersStartANewIntervalNotANegativeOne() {
    curve.observe(0, 0, 0, now);
    for (int running = 1; running <= 20; running++) {
      interval(running, 10 + 0.5 * running);
    }
    // The server restarts: its counters start again from zero, and the first interval after would be nonsense.
    gapSeconds = 0.2;
    gaps = 20;
    curve.observe(gapSeconds, gaps, 2, now += 500);
    interval(3, 11.5);

    assertEquals(10.0, curve.baseMillis(), 0.5);
    assertEquals(0.5, curve.millisPerCall(), 0.05);
  }

  @Test
  void anIdleIntervalTeachesNothingAndACurveIsForgottenWhenNothingConfirmsIt() {
    curve.observe(0, 0, 0, now);
    for (int running = 1; running <= 20; running++) {
      interval(running, 10 + 0.5 * running);
    }
    double base = curve.baseMillis();

    for (int i = 0; i < 10; i++) {
      curve.observe(gapSeconds, gaps, 0, now += 500); // idle: no tokens, nothing learnt
    }
    assertEquals(base, curve.baseMillis());

    now += StepCurve.MEMORY_MILLIS;
    curve.observe(gapSeconds, gaps, 0, now);
    assertEquals(-1, curve.baseMillis());
  }
}
