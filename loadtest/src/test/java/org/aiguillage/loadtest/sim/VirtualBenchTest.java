package org.aiguillage.loadtest.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.aiguillage.loadtest.run.Shape;
import org.aiguillage.loadtest.run.Summary;
import org.junit.jupiter.api.Test;

/** A sweep in virtual time gives the figures the profile's model predicts where they can be worked out by hand. */
class VirtualBenchTest {

  private final SimulatorProfile profile = SimulatorProfile.of(1_000_000, 50, 0.02, 8, 40, 0.8, 0.01, 2048);

  @Test
  void oneUserSeesTheModelsOverheadPrefillAndStepTime() {
    Shape exact = new Shape("exact", 4000, 0, 100, 0);

    Summary one = VirtualBench.run(profile, exact, 1, 5, 42).summary();

    // 4,000 prompt tokens in two steps of 2,048 and 1,952, each a weights' pass of one, plus the context built.
    double prefill = profile.stepMs(0, 2048, 2048) + profile.stepMs(0, 4000, 1952);
    assertEquals(50 + prefill, one.ttftMs().p50(), 0.02);
    double decode = profile.stepMs(1, 4050, 0);
    assertEquals(decode, one.itlMs().p50(), 0.02);
    assertEquals(99 / (99 * decode / 1000), one.outputTokensPerSPerUser(), 0.5);
    assertEquals(5, one.completed());
  }

  @Test
  void moreUsersShareTheStepsAndTheSameSeedGivesTheSameFigures() {
    Shape a = Shape.named("A");

    Summary four = VirtualBench.run(profile, a, 4, 20, 7).summary();
    Summary again = VirtualBench.run(profile, a, 4, 20, 7).summary();
    Summary many = VirtualBench.run(profile, a, 64, 128, 7).summary();

    assertEquals(four, again);
    assertTrue(many.outputTokensPerS() > 8 * four.outputTokensPerS() / 2, "throughput grows with the batch");
    assertTrue(many.itlMs().p50() > four.itlMs().p50(), "and so does each step");
  }

  @Test
  void usersBeyondWhatTheCacheHoldsArePreemptedAndComputedAgainSoThroughputFalls() {
    // 16 answers of 4,000 tokens fill the cache; as vLLM v1 does, a request starts when its first chunk fits.
    Shape c = new Shape("long", 2000, 0, 2000, 0);
    SimulatorProfile small = profile.withKvCacheTokens(16 * 4000);

    VirtualBench.Level fits = VirtualBench.run(small, c, 16, 32, 1);
    VirtualBench.Level full = VirtualBench.run(small, c, 32, 64, 1);

    assertEquals(0, fits.preemptions());
    assertTrue(full.preemptions() > 0);
    assertTrue(full.summary().outputTokensPerS() < fits.summary().outputTokensPerS(),
        "what is computed again costs more than the users added bring: " + full.summary().outputTokensPerS()
            + " tokens/s against " + fits.summary().outputTokensPerS());
    assertTrue(full.summary().ttftMs().p50() > 3 * fits.summary().ttftMs().p50(),
        full.summary().ttftMs().p50() + " ms against " + fits.summary().ttftMs().p50());
  }

  @Test
  void aRequestItsClientGivesUpOnCountsInNoFigureAndItsUserSendsTheNext() {
    // The cache holds one request whole (3,000 in, 1,000 out) and not a second prompt beside it: the second user
    // waits for the first's thousand steps of about 8 ms.
    Shape heavy = new Shape("heavy", 3000, 0, 1000, 0);
    SimulatorProfile oneAtATime = profile.withKvCacheTokens(4016);

    VirtualBench.Level patient = VirtualBench.run(oneAtATime, heavy, 2, 6, 0, 1);
    VirtualBench.Level hasty = VirtualBench.run(oneAtATime, heavy, 2, 6, 5, 1);

    assertEquals(0, patient.givenUp());
    assertEquals(6, patient.summary().completed());
    assertTrue(patient.summary().ttftMs().max() > 7_000, patient.summary().ttftMs().max() + " ms");
    assertTrue(hasty.givenUp() > 0);
    assertEquals(6, hasty.summary().completed() + hasty.givenUp());
    assertTrue(hasty.summary().ttftMs().max() < 5_000, "the figures are the successful requests' only: "
        + hasty.summary().ttftMs().max() + " ms");
    assertEquals(hasty.summary().completed() * 1000 / hasty.summary().durationS(),
        hasty.summary().outputTokensPerS(), 1e-6, "and so is the throughput");
  }
}
