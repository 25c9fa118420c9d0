package org.aiguillage.loadtest.sim;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.Random;
import org.aiguillage.loadtest.run.Percentiles;
import org.aiguillage.loadtest.run.Reference;
import org.aiguillage.loadtest.run.Shape;
import org.aiguillage.loadtest.run.Summary;

/**
 * A benchmark of the simulator in virtual time: the same {@link Scheduler} as the simulated server, its steps lasting
 * what its profile says, with no clock and no HTTP in between, so a sweep that takes hours in real time (shape C's
 * 10,000 tokens per answer) takes a second. The protocol is vLLM's {@code vllm bench serve} at a maximum
 * concurrency: {@code prompts} requests, {@code concurrency} of them in flight at once (each answer's end sends the
 * next), all output tokens asked for ({@code --ignore-eos}), sizes drawn from the shape with a seeded source.
 * Figures as that benchmark computes them: TTFT from sending to the first token, every gap between tokens an ITL,
 * output throughput over the whole run, of the requests that succeeded: a client that gives up on a request
 * ({@link BenchClient#timeoutS()}) aborts it on the server, leaves it out of every figure and sends its next one.
 */
public final class VirtualBench {

  /** One concurrency level: its figures as a load run's, and what the engine did. */
  public record Level(Summary summary, long preemptions, long peakRunning) {
    public int concurrency() {
      return summary.concurrency();
    }

    /** The requests their client gave up, counted among the summary's errors. */
    public int givenUp() {
      return summary.errorsByStatus().getOrDefault(GIVEN_UP, 0);
    }
  }

  /** How a request its client gave up is counted in {@link Summary#errorsByStatus()}. */
  static final String GIVEN_UP = "timeout";
  /** ITL histogram resolution: 0.01 ms bins up to 2 s; longer gaps (after a preemption) counted above. */
  private static final int BINS_PER_MS = 100;
  private static final int BINS = 2_000 * BINS_PER_MS;

  private VirtualBench() {}

  /** One level per concurrency, played by {@code client}. */
  public static List<Level> sweep(SimulatorProfile profile, Shape shape, List<Integer> levels, BenchClient client,
      long seed) {
    List<Level> out = new ArrayList<>();
    for (int c : levels) {
      out.add(run(profile, shape, c, c * client.promptsPerUser(), client.timeoutS(), seed));
    }
    return out;
  }

  /** {@code prompts} requests, {@code concurrency} at once, by a client that never gives up. */
  public static Level run(SimulatorProfile profile, Shape shape, int concurrency, int prompts, long seed) {
    return run(profile, shape, concurrency, prompts, 0, seed);
  }

  /** @param timeoutS seconds without a byte after which a request is given up (0: never) */
  public static Level run(SimulatorProfile profile, Shape shape, int concurrency, int prompts, double timeoutS,
      long seed) {
    return new Run(profile, shape, concurrency, prompts, timeoutS, seed).go();
  }

  private static final class Run {
    private final SimulatorProfile profile;
    private final Shape shape;
    private final int concurrency;
    private final int prompts;
    private final long timeoutNanos;
    private final Random random;
    private final Scheduler scheduler;
    private final PriorityQueue<Event> events = new PriorityQueue<>();
    private long now;
    private long sequence;
    private int sent;
    private int givenUp;
    /** When the last answer ended or was given up. */
    private long ended;
    private boolean stepping;
    private final long[] itlBins = new long[BINS + 1];
    private double itlSum;
    private double itlMax;
    private long itlCount;
    private long outputTokens;
    private final List<Double> ttft = new ArrayList<>();
    private final List<Double> tpot = new ArrayList<>();
    private final List<Double> e2e = new ArrayList<>();
    private final List<Double> perUser = new ArrayList<>();

    private record Event(long at, long sequence, Runnable action) implements Comparable<Event> {
      @Override
      public int compareTo(Event o) {
        return at != o.at ? Long.compare(at, o.at) : Long.compare(sequence, o.sequence);
      }
    }

    Run(SimulatorProfile profile, Shape shape, int concurrency, int prompts, double timeoutS, long seed) {
      this.profile = profile;
      this.shape = shape;
      this.concurrency = concurrency;
      this.prompts = prompts;
      this.timeoutNanos = (long) (timeoutS * 1e9);
      this.random = new Random(seed * 1_000_003 + concurrency);
      this.scheduler = new Scheduler(profile, null);
    }

    Level go() {
      for (int u = 0; u < Math.min(concurrency, prompts); u++) {
        send();
      }
      while (!events.isEmpty()) {
        Event e = events.poll();
        now = e.at();
        e.action().run();
      }
      // The last answer's end (the clock may have run on to a timeout's check of an answer long finished).
      double durationS = Math.max(1e-9, ended / 1e9);
      Percentiles itl = itlCount == 0 ? Percentiles.EMPTY : new Percentiles((int) Math.min(Integer.MAX_VALUE,
          itlCount), itlSum / itlCount, itlAt(0.5), itlAt(0.9), itlAt(0.99), itlMax);
      Summary summary = new Summary("all", concurrency, prompts, ttft.size(), durationS, ttft.size() / durationS,
          outputTokens / durationS, Percentiles.of(perUser).mean(), Double.NaN, Percentiles.of(ttft), itl,
          Percentiles.of(tpot), Percentiles.of(e2e), givenUp == 0 ? Map.of() : Map.of(GIVEN_UP, givenUp));
      return new Level(summary, scheduler.preemptions(), scheduler.peakRunning());
    }

    private void at(long time, Runnable action) {
      events.add(new Event(time, sequence++, action));
    }

    /**
     * A user sends its next request: it reaches the scheduler after the profile's overhead. Its figures count once
     * it ended: a request given up counts in none.
     */
    private void send() {
      sent++;
      long sentAt = now;
      int input = shape.inputTokens(random);
      int output = shape.outputTokens(random);
      double jitterMs = profile.ttftJitterMs() > 0 ? random.nextDouble() * profile.ttftJitterMs() : 0;
      Answer answer = new Answer(sentAt);
      Scheduler.Request r = new Scheduler.Request(input, output, 0, answer);
      answer.request = r;
      r.arrivedNanos = sentAt;
      if (timeoutNanos > 0) {
        at(sentAt + timeoutNanos, answer::checkTimeout);
      }
      at(sentAt + (long) ((profile.ttftOverheadMs() + jitterMs + profile.slowStartMs()) * 1e6), () -> {
        scheduler.add(r);
        if (!stepping) {
          step();
        }
      });
    }

    /** One request as its client reads it: its first token and the gaps after it. */
    private final class Answer implements Engine.Sink {
      final long sentAt;
      Scheduler.Request request;
      long first = -1;
      long last;
      /** Its gaps between tokens, in ms, counted when it succeeds. */
      double[] gaps = new double[64];
      int gapCount;

      Answer(long sentAt) {
        this.sentAt = sentAt;
        this.last = sentAt;
      }

      @Override
      public void token(int index, String text) {
        if (first < 0) {
          first = now;
        } else {
          if (gapCount == gaps.length) {
            gaps = Arrays.copyOf(gaps, gapCount * 2);
          }
          gaps[gapCount++] = (now - last) / 1e6;
        }
        last = now;
      }

      @Override
      public boolean wantsText() {
        return false;
      }

      @Override
      public void finished(String finishReason, int promptTokens, int completionTokens) {
        outputTokens += completionTokens;
        ttft.add((first - sentAt) / 1e6);
        for (int i = 0; i < gapCount; i++) {
          observeItl(gaps[i]);
        }
        gaps = null;
        e2e.add((now - sentAt) / 1e6);
        if (completionTokens > 1) {
          double decodeMs = (now - first) / 1e6;
          tpot.add(decodeMs / (completionTokens - 1));
          perUser.add((completionTokens - 1) / (decodeMs / 1000));
        }
        next();
      }

      /** Nothing came for the client's timeout: it gives the request up (the server aborts it); else looks again. */
      void checkTimeout() {
        if (request.done) { // answered, or given up (an abort ends the request too)
          return;
        }
        if (now - last < timeoutNanos) {
          at(last + timeoutNanos, this::checkTimeout);
          return;
        }
        givenUp++;
        scheduler.abort(request);
        gaps = null;
        next();
      }
    }

    private void next() {
      ended = now;
      if (sent < prompts) {
        send();
      }
    }

    private void step() {
      Scheduler.Step step = scheduler.next();
      if (step == null) {
        stepping = false;
        return;
      }
      stepping = true;
      at(now + Math.max(100_000, (long) (step.durationMs() * 1e6)), () -> {
        scheduler.complete(step, now);
        step();
      });
    }

    private void observeItl(double ms) {
      itlBins[(int) Math.min(BINS, Math.round(ms * BINS_PER_MS))]++;
      itlSum += ms;
      itlMax = Math.max(itlMax, ms);
      itlCount++;
    }

    /** The gap at this quantile, by bin (0.01 ms apart). */
    private double itlAt(double quantile) {
      long rank = (long) Math.ceil(quantile * itlCount);
      long seen = 0;
      for (int i = 0; i <= BINS; i++) {
        seen += itlBins[i];
        if (seen >= rank) {
          return i == BINS ? itlMax : (double) i / BINS_PER_MS;
        }
      }
      return itlMax;
    }
  }

  /** A sweep's report: the protocol, the profile's parameters, the figures per level, the reference's beside them. */
  public static String markdown(String title, SimulatorProfile profile, Shape shape, BenchClient client,
      List<Level> levels, Optional<Reference> reference) {
    StringBuilder sb = new StringBuilder("# ").append(title).append("\n\n");
    sb.append(String.format(Locale.ROOT, "Simulated in virtual time (`loadtest.jar predict`): vLLM's "
        + "benchmark protocol, %s, all of them in flight from the start, "
        + "%d±%d tokens in, %d±%d out (`--ignore-eos`); the figures are the successful requests'.%n%n",
        client.describe(), shape.inputMean(), shape.inputSpread(), shape.outputMean(), shape.outputSpread()));
    sb.append("Profile:\n\n```\n").append(ProfileFit.describe(profile)).append("```\n\n");
    sb.append("| users | output tok/s | TTFT p50 (ms) | TTFT p99 (ms) | ITL p50 (ms) | ITL p99 (ms) | preemptions |"
        + " peak batch | given up | duration (s) |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (Level l : levels) {
      Summary s = l.summary();
      sb.append(String.format(Locale.ROOT, "| %d | %.1f | %.1f | %.1f | %.2f | %.2f | %d | %d | %d of %d | %.0f |%n",
          s.concurrency(), s.outputTokensPerS(), s.ttftMs().p50(), s.ttftMs().p99(), s.itlMs().p50(),
          s.itlMs().p99(), l.preemptions(), l.peakRunning(), l.givenUp(), s.requests(), s.durationS()));
    }
    reference.ifPresent(r -> sb.append(r.markdown(levels.stream().map(Level::summary).toList())));
    return sb.toString();
  }

  /** The figures as a published table ({@link Reference}'s CSV), medians. */
  public static String csv(List<Level> levels) {
    StringBuilder sb = new StringBuilder("concurrency,output_tokens_per_s,ttft_ms,itl_ms\n");
    for (Level l : levels) {
      Summary s = l.summary();
      sb.append(String.format(Locale.ROOT, "%d,%.2f,%.2f,%.2f%n", s.concurrency(), s.outputTokensPerS(),
          s.ttftMs().p50(), s.itlMs().p50()));
    }
    return sb.toString();
  }
}
