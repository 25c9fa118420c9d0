package org.aiguillage.loadtest.run;

import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Drives load: closed-loop users (each sends its next request when its answer ends) with ramp-up, plateau and
 * ramp-down; a concurrency sweep of closed loops; or open-loop Poisson arrivals. Prompts come from a seeded random
 * source, so the same options send the same requests.
 */
public final class LoadRunner {

  /**
   * What to send. {@code thinkTime}: a closed-loop user waits this long on average (exponentially distributed,
   * from its seeded source) between the end of an answer and its next request, as a person reading and typing
   * does; zero sends at once. It also takes users' arrivals off a server's step grid (docs/benchmarks.md).
   */
  public record Plan(LoadClient client, List<KeyClass> classes, Shape shape, long seed, Duration requestTimeout,
      Duration thinkTime, Conversation.MultiTurn multiTurn) {
    public Plan(LoadClient client, List<KeyClass> classes, Shape shape, long seed, Duration requestTimeout) {
      this(client, classes, shape, seed, requestTimeout, Duration.ZERO, null);
    }

    public Plan(LoadClient client, List<KeyClass> classes, Shape shape, long seed, Duration requestTimeout,
        Duration thinkTime) {
      this(client, classes, shape, seed, requestTimeout, thinkTime, null);
    }
  }

  private final Plan plan;
  private final PrintStream progress;
  private final AtomicInteger activeUsers = new AtomicInteger();
  private final AtomicLong done = new AtomicLong();
  private final AtomicLong errors = new AtomicLong();
  private final ConcurrentLinkedQueue<Double> recentTtft = new ConcurrentLinkedQueue<>();

  public LoadRunner(Plan plan, PrintStream progress) {
    this.plan = plan;
    this.progress = progress;
  }

  private KeyClass classOf(int user) {
    int total = plan.classes().stream().mapToInt(KeyClass::weight).sum();
    int slot = user % total;
    for (KeyClass c : plan.classes()) {
      slot -= c.weight();
      if (slot < 0) {
        return c;
      }
    }
    throw new IllegalStateException("no key class");
  }

  /** @param conversation the user's chat sessions (a multi-turn plan), or null: a prompt of its own each time */
  private RequestRecord one(KeyClass keyClass, int concurrency, Random random, long runStart,
      Conversation conversation) {
    RequestRecord r;
    if (conversation == null) {
      String prompt = LoadClient.prompt(random, plan.shape().inputTokens(random));
      r = plan.client().send(keyClass, concurrency, prompt, plan.shape().outputTokens(random), runStart,
          plan.requestTimeout());
    } else {
      conversation.ask(random, plan.shape().inputTokens(random));
      r = plan.client().send(keyClass, concurrency, conversation, plan.shape().outputTokens(random), runStart,
          plan.requestTimeout());
      conversation.answered(random, r.outputTokens(), r.ok());
    }
    done.incrementAndGet();
    if (!r.ok()) {
      errors.incrementAndGet();
    } else {
      recentTtft.add(r.ttftMs());
      while (recentTtft.size() > 200) {
        recentTtft.poll();
      }
    }
    return r;
  }

  /**
   * {@code users} closed-loop users: user i starts at {@code rampUp * i / users}, all run through the plateau, and
   * user i stops starting requests at {@code rampUp + plateau + rampDown * (users - i) / users}.
   */
  public List<RequestRecord> closedLoop(int users, Duration rampUp, Duration plateau, Duration rampDown) {
    return closedLoop(users, rampUp, plateau, rampDown, Integer.MAX_VALUE);
  }

  /**
   * {@code users} closed-loop users that each send {@code requestsPerUser} requests, all starting at once, as vLLM's
   * {@code vllm bench serve --max-concurrency users --num-prompts users*requestsPerUser} does (what the seed
   * benchmarks and the simulator's fitted profiles use).
   */
  public List<RequestRecord> closedLoop(int users, int requestsPerUser) {
    return closedLoop(users, Duration.ZERO, Duration.ofDays(7), Duration.ZERO, requestsPerUser);
  }

  private List<RequestRecord> closedLoop(int users, Duration rampUp, Duration plateau, Duration rampDown,
      int requestsPerUser) {
    long runStart = System.nanoTime();
    List<RequestRecord> records = Collections.synchronizedList(new ArrayList<>());
    ExecutorService pool = Executors.newFixedThreadPool(users);
    Progress ticker = new Progress(runStart);
    try {
      for (int u = 0; u < users; u++) {
        int user = u;
        long startAt = runStart + rampUp.toNanos() * user / users;
        long stopAt = runStart + rampUp.toNanos() + plateau.toNanos() + rampDown.toNanos() * (users - user) / users;
        pool.execute(() -> {
          Random random = new Random(plan.seed() * 1_000_003 + user);
          Conversation conversation = plan.multiTurn() == null ? null
              : new Conversation(plan.multiTurn(), "user-" + user);
          LockSupport.parkNanos(startAt - System.nanoTime());
          activeUsers.incrementAndGet();
          try {
            for (int n = 0; n < requestsPerUser && System.nanoTime() < stopAt
                && !Thread.currentThread().isInterrupted(); n++) {
              records.add(one(classOf(user), users, random, runStart, conversation));
              think(random, stopAt);
            }
          } finally {
            activeUsers.decrementAndGet();
          }
        });
      }
      pool.shutdown();
      awaitQuietly(pool);
    } finally {
      ticker.close();
    }
    return sorted(records);
  }

  private void think(Random random, long stopAt) {
    long mean = plan.thinkTime().toNanos();
    if (mean > 0) {
      long pause = (long) (-Math.log(1 - random.nextDouble()) * mean);
      LockSupport.parkNanos(Math.min(pause, stopAt - System.nanoTime()));
    }
  }

  /** One closed loop per level, {@code requestsPerUser} requests from each user, levels one after the other. */
  public List<RequestRecord> sweep(List<Integer> levels, int requestsPerUser) {
    List<RequestRecord> all = new ArrayList<>();
    for (int level : levels) {
      all.addAll(closedLoop(level, requestsPerUser));
    }
    return all;
  }

  /** One closed loop per level, {@code perLevel} each, levels one after the other. */
  public List<RequestRecord> sweep(List<Integer> levels, Duration perLevel) {
    List<RequestRecord> all = new ArrayList<>();
    for (int level : levels) {
      all.addAll(closedLoop(level, Duration.ZERO, perLevel, Duration.ZERO));
    }
    return all;
  }

  /** Open loop: arrivals at {@code ratePerS} on average, exponential gaps, for {@code duration}. */
  public List<RequestRecord> poisson(double ratePerS, Duration duration) {
    long runStart = System.nanoTime();
    Random arrivals = new Random(plan.seed());
    List<RequestRecord> records = Collections.synchronizedList(new ArrayList<>());
    ExecutorService pool = Executors.newCachedThreadPool();
    Progress ticker = new Progress(runStart);
    try {
      long next = runStart;
      int n = 0;
      while (next - runStart < duration.toNanos()) {
        LockSupport.parkNanos(next - System.nanoTime());
        int request = n++;
        pool.execute(() -> {
          activeUsers.incrementAndGet();
          try {
            records.add(one(classOf(request), 0, new Random(plan.seed() * 1_000_003 + request), runStart, null));
          } finally {
            activeUsers.decrementAndGet();
          }
        });
        next += (long) (-Math.log(1 - arrivals.nextDouble()) / ratePerS * 1e9);
      }
      pool.shutdown();
      awaitQuietly(pool);
    } finally {
      ticker.close();
    }
    return sorted(records);
  }

  private static List<RequestRecord> sorted(List<RequestRecord> records) {
    List<RequestRecord> copy = new ArrayList<>(records);
    copy.sort((a, b) -> Double.compare(a.startMs(), b.startMs()));
    return copy;
  }

  private static void awaitQuietly(ExecutorService pool) {
    try {
      pool.awaitTermination(7, TimeUnit.DAYS);
    } catch (InterruptedException e) {
      pool.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }

  /** The live progress line. */
  private final class Progress {
    private final ScheduledExecutorService ticker;

    Progress(long runStart) {
      ticker = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "load-progress");
        t.setDaemon(true);
        return t;
      });
      if (progress != null) {
        ticker.scheduleAtFixedRate(() -> progress.printf(Locale.ROOT,
            "\r[%4ds] users %4d | requests done %7d | errors %5d | TTFT p50 %7.1f ms   ",
            (System.nanoTime() - runStart) / 1_000_000_000L, activeUsers.get(), done.get(), errors.get(),
            Percentiles.of(new ArrayList<>(recentTtft)).p50()), 1, 1, TimeUnit.SECONDS);
      }
    }

    void close() {
      ticker.shutdownNow();
      if (progress != null) {
        progress.println();
      }
    }
  }
}
