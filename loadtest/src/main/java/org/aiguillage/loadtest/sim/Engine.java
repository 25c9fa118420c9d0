package org.aiguillage.loadtest.sim;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The simulated engine: vLLM's continuous batching reduced to what a dispatcher can observe. All state is confined
 * to one scheduler thread; {@link #submit} and {@link #abort} may be called from any thread.
 */
final class Engine {

  /** Where a request's tokens go. Called on the engine thread. */
  interface Sink {
    void token(int index, String text);

    void finished(String finishReason, int promptTokens, int completionTokens);
  }

  static final class Request {
    final int promptTokens;
    final int maxTokens;
    final long seed;
    final Sink sink;
    final long arrivedNanos;
    int prefillRemaining;
    int generated;
    long lastTokenNanos;
    volatile boolean done;

    Request(int promptTokens, int maxTokens, long seed, Sink sink) {
      this.promptTokens = promptTokens;
      this.maxTokens = maxTokens;
      this.seed = seed;
      this.sink = sink;
      this.arrivedNanos = System.nanoTime();
      this.prefillRemaining = Math.max(1, promptTokens);
    }

    long kvReservation() {
      return (long) promptTokens + maxTokens;
    }
  }

  private final SimulatorProfile profile;
  private final SimulatorMetrics metrics;
  private final ScheduledExecutorService thread;
  private final ArrayDeque<Request> waiting = new ArrayDeque<>();
  private final List<Request> running = new ArrayList<>();
  private long kvUsed;
  private boolean stepScheduled;
  /** When the step in progress (or the last one) ends on the engine's clock; steps chain without drift. */
  private long stepEndNanos;
  private final AtomicLong peakRunning = new AtomicLong();

  Engine(String name, SimulatorProfile profile, SimulatorMetrics metrics) {
    this.profile = profile;
    this.metrics = metrics;
    this.thread = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "vllm-sim-engine-" + name);
      t.setDaemon(true);
      return t;
    });
  }

  void submit(Request r) {
    double jitterMs = profile.ttftJitterMs() > 0
        ? java.util.concurrent.ThreadLocalRandom.current().nextDouble(profile.ttftJitterMs()) : 0;
    long delayMicros = (long) ((profile.ttftOverheadMs() + jitterMs) * 1000) + profile.slowStartMs() * 1000;
    thread.schedule(() -> {
      if (!r.done) {
        // Not published here: vLLM samples its running and waiting counts once per engine step, after scheduling,
        // so a request that arrived since the last step and will be taken by the next one is never seen waiting.
        waiting.add(r);
        if (!stepScheduled) {
          step();
        }
      }
    }, delayMicros, TimeUnit.MICROSECONDS);
  }

  /** The client went away: free the request's batch slot and KV cache, as vLLM does. */
  void abort(Request r) {
    thread.execute(() -> {
      if (r.done) {
        return;
      }
      r.done = true;
      if (running.remove(r)) {
        kvUsed -= r.kvReservation();
      } else {
        waiting.remove(r);
      }
      metrics.aborted.increment();
      publishGauges();
    });
  }

  long peakRunning() {
    return peakRunning.get();
  }

  void shutdown() {
    thread.shutdownNow();
  }

  private void admit() {
    while (running.size() < profile.maxNumSeqs() && !waiting.isEmpty()
        && kvUsed + waiting.peek().kvReservation() <= profile.kvCacheTokens()) {
      Request r = waiting.poll();
      running.add(r);
      kvUsed += r.kvReservation();
    }
    peakRunning.accumulateAndGet(running.size(), Math::max);
    publishGauges();
  }

  private void step() {
    admit();
    if (running.isEmpty()) {
      stepScheduled = false;
      return;
    }
    // A step that follows another starts when that one ended, not when this thread got round to it.
    long now = System.nanoTime();
    long start = stepScheduled ? Math.max(stepEndNanos, now - 50_000_000L) : now;
    List<Request> decoding = new ArrayList<>();
    List<Request> prefilling = new ArrayList<>();
    List<Integer> prefillChunks = new ArrayList<>();
    int budget = profile.maxBatchedTokens();
    for (Request r : running) {
      if (r.prefillRemaining == 0) {
        decoding.add(r);
        budget--;
      }
    }
    int prefillTokens = 0;
    for (Request r : running) {
      if (r.prefillRemaining > 0 && budget > 0) {
        int chunk = Math.min(r.prefillRemaining, budget);
        prefilling.add(r);
        prefillChunks.add(chunk);
        budget -= chunk;
        prefillTokens += chunk;
      }
    }
    double ms = (decoding.isEmpty() ? 0 : profile.interTokenLatencyMs(running.size()))
        + prefillTokens * profile.prefillMsPerToken();
    stepScheduled = true;
    stepEndNanos = start + Math.max(100_000, (long) (ms * 1_000_000));
    thread.schedule(() -> completeStep(decoding, prefilling, prefillChunks),
        Math.max(0, stepEndNanos - now), TimeUnit.NANOSECONDS);
  }

  private void completeStep(List<Request> decoding, List<Request> prefilling, List<Integer> chunks) {
    long now = System.nanoTime();
    for (int i = 0; i < prefilling.size(); i++) {
      Request r = prefilling.get(i);
      if (r.done) {
        continue;
      }
      r.prefillRemaining -= chunks.get(i);
      metrics.promptTokens.add(chunks.get(i));
      if (r.prefillRemaining == 0) {
        metrics.ttft.observe((now - r.arrivedNanos) / 1e9);
        emit(r, now);
      }
    }
    for (Request r : decoding) {
      if (!r.done) {
        metrics.itl.observe((now - r.lastTokenNanos) / 1e9);
        emit(r, now);
      }
    }
    for (Iterator<Request> it = running.iterator(); it.hasNext(); ) {
      Request r = it.next();
      if (r.done) {
        it.remove();
        kvUsed -= r.kvReservation();
      }
    }
    step();
  }

  private void emit(Request r, long now) {
    r.sink.token(r.generated, SimulatedText.token(r.seed, r.generated));
    r.generated++;
    r.lastTokenNanos = now;
    metrics.generationTokens.increment();
    if (r.generated >= r.maxTokens) {
      r.done = true;
      metrics.e2e.observe((now - r.arrivedNanos) / 1e9);
      metrics.success.increment();
      r.sink.finished("length", r.promptTokens, r.generated);
    }
  }

  private void publishGauges() {
    metrics.running = running.size();
    metrics.waiting = waiting.size();
    metrics.kvCacheUsage = profile.kvCacheTokens() == 0 ? 0 : (double) kvUsed / profile.kvCacheTokens();
  }
}
