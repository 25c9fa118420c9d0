package org.aiguillage.loadtest.sim;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * vLLM's continuous batching reduced to what a dispatcher and a benchmark can observe, without a clock: it plans one
 * engine step at a time and is told when that step ended. The real-time {@link Engine} and the virtual-time
 * {@link VirtualBench} drive the same scheduler, so a sweep simulated faster than real time is the simulator's sweep.
 * Not thread-safe: its driver confines it to one thread.
 *
 * <p>Each step, as vLLM v1's scheduler does: the running requests first, in the order they were admitted (a decoding
 * one computes one token and may need a new KV block; one still in its prompt computes the next chunk the step's
 * token budget allows, and takes that chunk's blocks); when the KV cache has no block left, the latest admitted
 * request is preempted (its blocks freed, back at the head of the queue, to be computed again). Then, if nothing was
 * preempted, waiting requests are admitted in order while there is budget, a batch slot, and KV blocks for the chunk
 * each computes in this step: like vLLM v1, not for its whole prompt, so that under a full cache requests start,
 * then are preempted and computed again (what makes throughput fall when a GPU's cache is too small for its users,
 * as the RTX 6000 Pro's does from 32 to 64 users of 10,000-token prompts; docs/benchmarks.md).
 */
final class Scheduler {

  /** One request, from its arrival at the engine to its last token. */
  static final class Request {
    final int promptTokens;
    final int maxTokens;
    final long seed;
    final Engine.Sink sink;
    /** The hashes of its prompt's full blocks, each of its tokens and of all before it: what the cache knows it by. */
    final long[] prefix;
    /** When the request arrived (before its overhead), on its driver's clock: what its TTFT counts from. */
    long arrivedNanos;
    /** Tokens to compute before the next token can be sampled: the prompt, or prompt and output after preemption. */
    int prefillRemaining;
    int generated;
    /** Blocks it holds under their hashes (its prompt's leading full blocks), and others. */
    int hashedBlocks;
    long blocks;
    long lastTokenNanos;
    boolean running;
    volatile boolean done;

    Request(int promptTokens, int maxTokens, long seed, Engine.Sink sink) {
      this(promptTokens, maxTokens, seed, sink, NO_PREFIX);
    }

    /** @param prefix {@link SimulatedText#blockHashes} of the prompt's tokens: its prefix can be cached */
    Request(int promptTokens, int maxTokens, long seed, Engine.Sink sink, long[] prefix) {
      this.promptTokens = promptTokens;
      this.maxTokens = maxTokens;
      this.seed = seed;
      this.sink = sink;
      this.prefix = prefix;
      this.prefillRemaining = Math.max(1, promptTokens);
    }

    long heldBlocks() {
      return hashedBlocks + blocks;
    }

    /** Tokens whose keys and values the request holds in the cache once its step is computed. */
    private long tokensAfter(int computing) {
      return (long) promptTokens + generated - prefillRemaining + computing;
    }
  }

  /** What one step computes, and how long it lasts. */
  record Step(List<Request> decoding, List<Request> prefilling, int[] chunks, double durationMs) {}

  private final SimulatorProfile profile;
  private final SimulatorMetrics metrics;
  private final ArrayDeque<Request> waiting = new ArrayDeque<>();
  private final List<Request> running = new ArrayList<>();
  private static final long[] NO_PREFIX = new long[0];
  private final KvCache cache;
  private long peakRunning;
  private long preemptions;

  /** @param metrics what {@code /metrics} shows; null in a virtual benchmark, which counts for itself */
  Scheduler(SimulatorProfile profile, SimulatorMetrics metrics) {
    this.profile = profile;
    this.metrics = metrics;
    this.cache = new KvCache(profile.kvCacheBlocks(), profile.prefixCaching());
  }

  /** The request reached the scheduler (its overhead spent): it waits for a batch slot and KV blocks. */
  void add(Request r) {
    // Not published here: vLLM samples its running and waiting counts once per engine step, after scheduling,
    // so a request that arrived since the last step and will be taken by the next one is never seen waiting.
    if (!r.done) {
      waiting.add(r);
    }
  }

  /** The client went away: the request leaves the batch or the queue and frees its blocks. */
  void abort(Request r) {
    if (r.done) {
      return;
    }
    r.done = true;
    if (r.running) {
      running.remove(r);
      release(r);
    } else {
      waiting.remove(r);
    }
    if (metrics != null) {
      metrics.aborted.increment();
    }
    publishGauges();
  }

  /** The next step, or null when nothing is running or can be admitted (the engine idles until a request comes). */
  Step next() {
    int budget = profile.maxBatchedTokens();
    List<Request> decoding = new ArrayList<>();
    List<Request> prefilling = new ArrayList<>();
    List<Integer> chunks = new ArrayList<>();
    long context = 0;
    boolean preempted = false;
    for (int i = 0; i < running.size() && budget > 0; i++) {
      Request r = running.get(i);
      int computing = r.prefillRemaining > 0 ? Math.min(r.prefillRemaining, budget) : 1;
      long needed = blocksFor(r.tokensAfter(computing)) - r.heldBlocks();
      while (needed > cache.freeBlocks() && running.get(running.size() - 1) != r) {
        preempt(running.remove(running.size() - 1));
        preempted = true;
      }
      if (needed > cache.freeBlocks()) {
        preempt(running.remove(i));
        preempted = true;
        break;
      }
      if (needed > 0) {
        grow(r, needed);
      }
      context += r.tokensAfter(computing);
      budget -= computing;
      if (r.prefillRemaining > 0) {
        prefilling.add(r);
        chunks.add(computing);
      } else {
        decoding.add(r);
      }
    }
    while (!preempted && budget > 0 && running.size() < profile.maxNumSeqs() && !waiting.isEmpty()) {
      Request r = waiting.peek();
      if (!admit(r, budget)) {
        break;
      }
      waiting.poll();
      r.running = true;
      running.add(r);
      int chunk = Math.min(r.prefillRemaining, budget);
      context += r.tokensAfter(chunk);
      budget -= chunk;
      prefilling.add(r);
      chunks.add(chunk);
    }
    peakRunning = Math.max(peakRunning, running.size());
    publishGauges();
    if (decoding.isEmpty() && prefilling.isEmpty()) {
      return null;
    }
    // Every token of the budget it spent that was not a decode was a prompt's.
    int prefillTokens = profile.maxBatchedTokens() - budget - decoding.size();
    return new Step(decoding, prefilling, chunks.stream().mapToInt(Integer::intValue).toArray(),
        profile.stepMs(decoding.size(), context, prefillTokens));
  }

  /** The step ended at {@code nowNanos}: its tokens go out, finished requests free their blocks. */
  void complete(Step step, long nowNanos) {
    for (int i = 0; i < step.prefilling().size(); i++) {
      Request r = step.prefilling().get(i);
      if (r.done || !r.running) {
        continue;
      }
      r.prefillRemaining -= step.chunks()[i];
      if (metrics != null) {
        metrics.promptTokens.add(step.chunks()[i]);
      }
      if (r.prefillRemaining == 0) {
        if (r.generated == 0 && metrics != null) {
          metrics.ttft.observe((nowNanos - r.arrivedNanos) / 1e9);
        }
        emit(r, nowNanos);
      }
    }
    for (Request r : step.decoding()) {
      if (!r.done && r.running) {
        if (metrics != null) {
          metrics.itl.observe((nowNanos - r.lastTokenNanos) / 1e9);
        }
        emit(r, nowNanos);
      }
    }
    publishGauges();
  }

  boolean idle() {
    return running.isEmpty() && waiting.isEmpty();
  }

  long peakRunning() {
    return peakRunning;
  }

  long preemptions() {
    return preemptions;
  }

  private void emit(Request r, long nowNanos) {
    r.sink.token(r.generated, r.sink.wantsText() ? SimulatedText.token(r.seed, r.generated) : null);
    r.generated++;
    r.lastTokenNanos = nowNanos;
    if (metrics != null) {
      metrics.generationTokens.increment();
    }
    if (r.generated >= r.maxTokens) {
      r.done = true;
      running.remove(r);
      release(r);
      if (metrics != null) {
        metrics.e2e.observe((nowNanos - r.arrivedNanos) / 1e9);
        metrics.success.increment();
      }
      r.sink.finished("length", r.promptTokens, r.generated);
    }
  }

  /** vLLM's recompute: the request's blocks go, and it will compute its prompt and what it generated again. */
  private void preempt(Request r) {
    release(r);
    r.running = false;
    r.prefillRemaining = r.promptTokens + r.generated;
    waiting.addFirst(r);
    preemptions++;
    if (metrics != null) {
      metrics.preemptions.increment();
    }
  }

  /**
   * Takes the blocks a waiting request needs for this step, if the cache has the room: its cached prefix (vLLM's
   * automatic prefix caching: those tokens are not computed again, one at least is), then new blocks for the chunk of
   * its prompt (and, after a preemption, of its output) that the step's budget computes, its prompt's full ones under
   * their hashes.
   */
  private boolean admit(Request r, int budget) {
    long tokens = (long) r.promptTokens + r.generated;
    long[] prefix = prefixOf(r);
    int hit = cache.cachedPrefix(prefix, (int) Math.min(prefix.length, (tokens - 1) / SimulatorProfile.BLOCK_TOKENS));
    // vLLM v1: the blocks of what this step computes, not of the whole prompt; the rest come step by step (grow).
    long total = blocksFor(Math.min(tokens, (long) hit * SimulatorProfile.BLOCK_TOKENS + budget));
    int hashable = (int) Math.min(prefix.length, total);
    if (total - cache.heldByOthers(prefix, hit) > cache.freeBlocks()) {
      return false;
    }
    long found = cache.take(prefix, hit, hashable - hit, total - hashable, r.promptTokens);
    r.hashedBlocks = hashable;
    r.blocks = total - hashable;
    r.prefillRemaining = (int) (tokens - (long) hit * SimulatorProfile.BLOCK_TOKENS);
    if (metrics != null) {
      metrics.prefixQueries.add(r.promptTokens);
      metrics.prefixHits.add(found);
    }
    return true;
  }

  /**
   * A running request's next blocks: its prompt's full blocks under their hashes (so that a later request with the
   * same prefix finds them), then others. The caller checked the room.
   */
  private void grow(Request r, long needed) {
    long[] prefix = prefixOf(r);
    int hashed = (int) Math.min(needed, Math.max(0, prefix.length - r.hashedBlocks));
    if (hashed > 0) {
      cache.holdHashed(prefix, r.hashedBlocks, hashed);
      r.hashedBlocks += hashed;
    }
    if (needed > hashed) {
      cache.grow(needed - hashed);
      r.blocks += needed - hashed;
    }
  }

  private long[] prefixOf(Request r) {
    return profile.prefixCaching() ? r.prefix : NO_PREFIX;
  }

  private void release(Request r) {
    r.running = false;
    cache.release(prefixOf(r), r.hashedBlocks, r.blocks);
    r.hashedBlocks = 0;
    r.blocks = 0;
  }

  private static long blocksFor(long tokens) {
    return (tokens + SimulatorProfile.BLOCK_TOKENS - 1) / SimulatorProfile.BLOCK_TOKENS;
  }

  private void publishGauges() {
    if (metrics == null) {
      return;
    }
    metrics.running = running.size();
    metrics.waiting = waiting.size();
    long total = cache.totalBlocks();
    metrics.kvCacheUsage = total == 0 ? 0 : (double) (total - cache.freeBlocks()) / total;
  }
}
