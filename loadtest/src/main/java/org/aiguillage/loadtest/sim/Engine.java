package org.aiguillage.loadtest.sim;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The simulated engine in real time: the {@link Scheduler}'s steps, each lasting what the profile says, on one
 * scheduler thread that holds all its state; {@link #submit} and {@link #abort} may be called from any thread.
 */
final class Engine {

  /** Where a request's tokens go. Called on the engine thread. */
  interface Sink {
    void token(int index, String text);

    /** False for a sink that only counts tokens (a virtual benchmark): the engine then makes no text. */
    default boolean wantsText() {
      return true;
    }

    void finished(String finishReason, int promptTokens, int completionTokens);
  }

  private final SimulatorProfile profile;
  private final Scheduler scheduler;
  private final ScheduledExecutorService thread;
  private boolean stepScheduled;
  /** When the step in progress (or the last one) ends on the engine's clock; steps chain without drift. */
  private long stepEndNanos;
  private final AtomicLong peakRunning = new AtomicLong();

  Engine(String name, SimulatorProfile profile, SimulatorMetrics metrics) {
    this.profile = profile;
    this.scheduler = new Scheduler(profile, metrics);
    this.thread = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "vllm-sim-engine-" + name);
      t.setDaemon(true);
      return t;
    });
  }

  void submit(Scheduler.Request r) {
    r.arrivedNanos = System.nanoTime();
    double jitterMs = profile.ttftJitterMs() > 0 ? ThreadLocalRandom.current().nextDouble(profile.ttftJitterMs()) : 0;
    long delayMicros = (long) ((profile.ttftOverheadMs() + jitterMs) * 1000) + profile.slowStartMs() * 1000;
    thread.schedule(() -> {
      scheduler.add(r);
      if (!stepScheduled) {
        step();
      }
    }, delayMicros, TimeUnit.MICROSECONDS);
  }

  /** The client went away: free the request's batch slot and KV cache, as vLLM does. */
  void abort(Scheduler.Request r) {
    thread.execute(() -> scheduler.abort(r));
  }

  long peakRunning() {
    return peakRunning.get();
  }

  void shutdown() {
    thread.shutdownNow();
  }

  private void step() {
    Scheduler.Step step = scheduler.next();
    peakRunning.set(scheduler.peakRunning());
    if (step == null) {
      stepScheduled = false;
      return;
    }
    // A step that follows another starts when that one ended, not when this thread got round to it.
    long now = System.nanoTime();
    long start = stepScheduled ? Math.max(stepEndNanos, now - 50_000_000L) : now;
    stepScheduled = true;
    stepEndNanos = start + Math.max(100_000, (long) (step.durationMs() * 1_000_000));
    thread.schedule(() -> {
      scheduler.complete(step, System.nanoTime());
      step();
    }, Math.max(0, stepEndNanos - now), TimeUnit.NANOSECONDS);
  }
}
