package org.aiguillage.loadtest.run;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The same load against a server directly and through the dispatcher, in alternating rounds: what the dispatcher
 * adds to TTFT and end-to-end latency, what it keeps of the throughput, and what it costs in CPU and memory (read
 * from {@code /proc/PID} of the dispatcher's process).
 */
public final class OverheadBenchmark {

  /** One concurrency level's comparison. */
  public record Level(
      int users,
      Summary direct,
      Summary via,
      double addedTtftP50Ms,
      double addedTtftP99Ms,
      double addedE2eP50Ms,
      double addedE2eP99Ms,
      double throughputRatio,
      double dispatcherCpuCores,
      double dispatcherRssMaxMb) {}

  private final LoadRunner direct;
  private final LoadRunner via;
  private final long dispatcherPid;

  public OverheadBenchmark(LoadRunner direct, LoadRunner via, long dispatcherPid) {
    this.direct = direct;
    this.via = via;
    this.dispatcherPid = dispatcherPid;
  }

  /** {@code rampUp}: users join evenly over it, directly and through the dispatcher alike. */
  public Level measure(int users, Duration rampUp, Duration perRound, int rounds) {
    List<RequestRecord> directRecords = new ArrayList<>();
    List<RequestRecord> viaRecords = new ArrayList<>();
    double directSeconds = 0;
    double viaSeconds = 0;
    long directTokens = 0;
    long viaTokens = 0;
    double cpuSeconds = 0;
    AtomicLong rssMaxKb = new AtomicLong();
    for (int round = 0; round < rounds; round++) {
      List<RequestRecord> d = direct.closedLoop(users, rampUp, perRound, Duration.ZERO);
      Summary ds = LoadMetrics.summarize("direct", users, d, 200, 50);
      directSeconds += ds.durationS();
      directTokens += d.stream().filter(RequestRecord::ok).mapToLong(RequestRecord::outputTokens).sum();
      directRecords.addAll(d);

      double cpuBefore = cpuSeconds();
      ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor();
      sampler.scheduleAtFixedRate(() -> rssMaxKb.accumulateAndGet(rssKb(), Math::max), 0, 250,
          TimeUnit.MILLISECONDS);
      List<RequestRecord> v = via.closedLoop(users, rampUp, perRound, Duration.ZERO);
      sampler.shutdownNow();
      Summary vs = LoadMetrics.summarize("via", users, v, 200, 50);
      cpuSeconds += cpuSeconds() - cpuBefore;
      viaSeconds += vs.durationS();
      viaTokens += v.stream().filter(RequestRecord::ok).mapToLong(RequestRecord::outputTokens).sum();
      viaRecords.addAll(v);
    }
    Summary ds = LoadMetrics.summarize("direct", users, directRecords, 200, 50);
    Summary vs = LoadMetrics.summarize("dispatcher", users, viaRecords, 200, 50);
    return new Level(users, ds, vs,
        vs.ttftMs().p50() - ds.ttftMs().p50(), vs.ttftMs().p99() - ds.ttftMs().p99(),
        vs.e2eMs().p50() - ds.e2eMs().p50(), vs.e2eMs().p99() - ds.e2eMs().p99(),
        (viaTokens / viaSeconds) / (directTokens / directSeconds),
        cpuSeconds / viaSeconds, rssMaxKb.get() / 1024.0);
  }

  /** utime + stime of the dispatcher's process, in seconds (clock ticks of 1/100 s on Linux). */
  private double cpuSeconds() {
    try {
      String stat = Files.readString(Path.of("/proc/" + dispatcherPid + "/stat"));
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / 100.0;
    } catch (IOException | RuntimeException e) {
      return Double.NaN;
    }
  }

  private long rssKb() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/" + dispatcherPid + "/status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
      }
    } catch (IOException | RuntimeException e) {
      // the process is gone or not on Linux: no figure
    }
    return 0;
  }

  public static void write(List<Level> levels, Map<String, String> scenario, Path dir) throws IOException {
    Files.createDirectories(dir);
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("scenario", scenario);
    json.put("levels", levels);
    Reports.JSON.writeValue(dir.resolve("overhead.json").toFile(), json);
    StringBuilder md = new StringBuilder("# Dispatcher overhead\n\n| scenario | |\n|---|---|\n");
    scenario.forEach((k, v) -> md.append("| ").append(k).append(" | ").append(v).append(" |\n"));
    md.append("\n| concurrent streams |");
    levels.forEach(l -> md.append(' ').append(l.users()).append(" |"));
    md.append("\n|---|");
    levels.forEach(l -> md.append("---:|"));
    md.append('\n');
    line(md, "TTFT p50 direct / via (ms)", levels, l -> f(l.direct().ttftMs().p50()) + " / " + f(l.via().ttftMs().p50()));
    line(md, "TTFT p99 direct / via (ms)", levels, l -> f(l.direct().ttftMs().p99()) + " / " + f(l.via().ttftMs().p99()));
    line(md, "**added TTFT p50 (ms)**", levels, l -> f(l.addedTtftP50Ms()));
    line(md, "**added TTFT p99 (ms)**", levels, l -> f(l.addedTtftP99Ms()));
    line(md, "added E2E p50 (ms)", levels, l -> f(l.addedE2eP50Ms()));
    line(md, "added E2E p99 (ms)", levels, l -> f(l.addedE2eP99Ms()));
    line(md, "output tok/s direct / via", levels, l -> f(l.direct().outputTokensPerS()) + " / "
        + f(l.via().outputTokensPerS()));
    line(md, "**throughput kept**", levels, l -> String.format(Locale.ROOT, "%.1f%%", 100 * l.throughputRatio()));
    line(md, "dispatcher CPU (cores)", levels, l -> String.format(Locale.ROOT, "%.2f", l.dispatcherCpuCores()));
    line(md, "dispatcher RSS max (MiB)", levels, l -> f(l.dispatcherRssMaxMb()));
    line(md, "requests direct / via", levels, l -> l.direct().completed() + " / " + l.via().completed());
    line(md, "errors via", levels, l -> l.via().errorsByStatus().toString());
    md.append("\nAdded = dispatcher minus direct, on the pooled requests of all rounds. Throughput kept = output "
        + "tokens/s through the dispatcher / directly, each over the sum of its rounds' durations. Rounds "
        + "alternate direct and through the dispatcher with the same seeded prompts; in each, users join evenly "
        + "over the ramp-up, then run for the duration; every request counts.\n\n## Definitions\n\n")
        .append(LoadMetrics.FORMULAS).append('\n');
    Files.writeString(dir.resolve("overhead.md"), md.toString());
  }

  private static void line(StringBuilder md, String name, List<Level> levels,
      java.util.function.Function<Level, String> cell) {
    md.append("| ").append(name).append(" |");
    levels.forEach(l -> md.append(' ').append(cell.apply(l)).append(" |"));
    md.append('\n');
  }

  private static String f(double v) {
    return Reports.num(v);
  }
}
