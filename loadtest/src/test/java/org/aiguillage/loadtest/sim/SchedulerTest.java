package org.aiguillage.loadtest.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The engine's steps without a clock: admission by KV blocks, chunked prefill, preemption and recompute. */
class SchedulerTest {

  /** What one request received: each token's index and the step (virtual millisecond) it came in. */
  private static final class Received implements Engine.Sink {
    final List<Integer> indices = new ArrayList<>();
    final List<Double> atMs = new ArrayList<>();
    int completionTokens = -1;
    private final double[] clock;

    Received(double[] clock) {
      this.clock = clock;
    }

    @Override
    public void token(int index, String text) {
      indices.add(index);
      atMs.add(clock[0]);
    }

    @Override
    public void finished(String finishReason, int promptTokens, int completionTokens) {
      this.completionTokens = completionTokens;
    }

    double firstMs() {
      return atMs.get(0);
    }

    double lastMs() {
      return atMs.get(atMs.size() - 1);
    }
  }

  private final double[] clock = {0};

  /** Steps until nothing runs; each ends at the clock plus its duration. */
  private int runAll(Scheduler scheduler) {
    int steps = 0;
    for (Scheduler.Step step = scheduler.next(); step != null; step = scheduler.next()) {
      clock[0] += step.durationMs();
      scheduler.complete(step, (long) (clock[0] * 1e6));
      steps++;
    }
    return steps;
  }

  private Received submit(Scheduler scheduler, int prompt, int maxTokens) {
    Received sink = new Received(clock);
    scheduler.add(new Scheduler.Request(prompt, maxTokens, 1, sink));
    return sink;
  }

  private static SimulatorProfile profile(long kvTokens, int budget) {
    // 10 ms per step whatever the batch, 0.1 ms per prompt token, no context cost.
    return SimulatorProfile.of(kvTokens, 0, 0.1, 10, 10, 1, 0, budget);
  }

  @Test
  void aRequestIsAdmittedOnlyWhenTheCacheHoldsItsPrompt() {
    Scheduler scheduler = new Scheduler(profile(64, 8192), null); // 4 blocks of 16 tokens
    Received first = submit(scheduler, 40, 4); // 3 blocks
    Received second = submit(scheduler, 40, 4); // 3 more: does not fit beside the first

    runAll(scheduler);

    assertEquals(4, first.completionTokens);
    assertEquals(4, second.completionTokens);
    assertTrue(second.firstMs() > first.lastMs(), "the second waited for the first's blocks");
    assertEquals(0, scheduler.preemptions());
  }

  @Test
  void decodeThatRunsOutOfBlocksPreemptsTheLatestAdmittedWhichRecomputesAndLosesNoToken() {
    Scheduler scheduler = new Scheduler(profile(48, 8192), null); // 3 blocks
    Received older = submit(scheduler, 16, 20);
    Received younger = submit(scheduler, 16, 20); // both prompts fit; their answers do not

    runAll(scheduler);

    assertTrue(scheduler.preemptions() >= 1, "preempted: " + scheduler.preemptions());
    for (Received r : List.of(older, younger)) {
      assertEquals(IntStream.range(0, 20).boxed().toList(), r.indices, "every token once, in order");
      assertEquals(20, r.completionTokens);
    }
    assertTrue(older.lastMs() < younger.lastMs(), "the older one ran on, the younger one waited");
    double longestGap = IntStream.range(1, younger.atMs.size())
        .mapToDouble(i -> younger.atMs.get(i) - younger.atMs.get(i - 1)).max().orElse(0);
    assertTrue(longestGap > 100, "the younger one stopped while the older one finished: " + longestGap + " ms");
  }

  @Test
  void promptsArePrefilledInChunksOfTheStepsTokenBudget() {
    Scheduler scheduler = new Scheduler(profile(1_000_000, 8), null);
    Received sink = submit(scheduler, 20, 2);

    Scheduler.Step first = scheduler.next();
    assertEquals(List.of(8), IntStream.of(first.chunks()).boxed().toList());
    assertEquals(10 + 8 * 0.1, first.durationMs(), 1e-9, "a prefill step: the weights' pass and its tokens");
    clock[0] += first.durationMs();
    scheduler.complete(first, (long) (clock[0] * 1e6));
    assertTrue(sink.indices.isEmpty(), "no token before the whole prompt is computed");

    int steps = runAll(scheduler);

    assertEquals(3, steps, "8 + 4 prompt tokens, then one decode step");
    assertEquals(List.of(0, 1), sink.indices);
  }

  @Test
  void aStepOfManyRequestsLastsTheProfilesStepTime() {
    SimulatorProfile profile = SimulatorProfile.of(1_000_000, 0, 0, 8, 40, 0.8, 0.01, 8192);
    Scheduler scheduler = new Scheduler(profile, null);
    for (int i = 0; i < 32; i++) {
      submit(scheduler, 100, 3);
    }
    Scheduler.Step prefill = scheduler.next();
    clock[0] += prefill.durationMs();
    scheduler.complete(prefill, (long) (clock[0] * 1e6));

    Scheduler.Step decode = scheduler.next();

    assertEquals(32, decode.decoding().size());
    assertEquals(profile.stepMs(32, 32 * 102, 0), decode.durationMs(), 1e-9);
    assertEquals(profile.interTokenLatencyMs(32) + 0.01 * 32 * 102 / 1000, decode.durationMs(), 1e-9);
  }

  @Test
  void aPromptBeginningLikeAnEarlierOneIsPrefilledOnlyFromWhereTheyDiffer() {
    Scheduler scheduler = new Scheduler(profile(1_000_000, 8192), null);
    List<String> shared = IntStream.range(0, 2000).mapToObj(i -> "system" + i).toList();
    List<String> first = new ArrayList<>(shared);
    first.addAll(List.of("first", "question"));
    List<String> second = new ArrayList<>(shared);
    second.addAll(List.of("another", "question", "entirely"));

    scheduler.add(new Scheduler.Request(first.size(), 2, 1, new Received(clock), SimulatedText.blockHashes(first)));
    runAll(scheduler);
    scheduler.add(new Scheduler.Request(second.size(), 2, 1, new Received(clock),
        SimulatedText.blockHashes(second)));
    Scheduler.Step prefill = scheduler.next();

    // 2,000 shared tokens are 125 full blocks: only the 3 tokens after them are computed.
    assertEquals(List.of(3), IntStream.of(prefill.chunks()).boxed().toList());
  }

  @Test
  void withoutPrefixCachingEveryPromptIsPrefilledWhole() {
    Scheduler scheduler = new Scheduler(profile(1_000_000, 8192).withPrefixCaching(false), null);
    List<String> prompt = IntStream.range(0, 100).mapToObj(i -> "w" + i).toList();
    scheduler.add(new Scheduler.Request(100, 2, 1, new Received(clock), SimulatedText.blockHashes(prompt)));
    runAll(scheduler);
    scheduler.add(new Scheduler.Request(100, 2, 1, new Received(clock), SimulatedText.blockHashes(prompt)));

    assertEquals(List.of(100), IntStream.of(scheduler.next().chunks()).boxed().toList());
  }
}
