package org.aiguillage.loadtest.run;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.aiguillage.loadtest.sim.CallTimings;

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
      double dispatcherRssMaxMb,
      Optional<TtftSplit> directSplit,
      Optional<TtftSplit> viaSplit,
      Optional<Proxied> proxy,
      Optional<MachineUse> machine) {

    /** The dispatcher's own share of TTFT at p50 and p99: time outside the server, via minus direct. */
    public Optional<double[]> ownTtftP50P99Ms() {
      return directSplit.flatMap(d -> viaSplit.map(v -> new double[] {
          v.outsideMs().p50() - d.outsideMs().p50(), v.outsideMs().p99() - d.outsideMs().p99()}));
    }
  }

  /**
   * The same load through a plain reverse proxy (nginx) in the same rounds: what any hop in front of the server costs,
   * beside what the dispatcher costs.
   */
  public record Proxied(Summary summary, double addedTtftP50Ms, double addedTtftP99Ms, double throughputRatio,
      Optional<TtftSplit> split) {}

  /**
   * The whole machine's processors during each path's rounds (the load generator and the server run in all three):
   * via minus direct is what the dispatcher's path costs the machine per token, proxy minus direct the proxy's.
   */
  public record MachineUse(MachineCpu.PathUse direct, Optional<MachineCpu.PathUse> proxy, MachineCpu.PathUse via) {}

  /**
   * Each request's TTFT cut where the server saw it, from the server's own timings (a simulator started with
   * {@code --call-timings}, on the same machine): before the server (sent -> the server received it), the server's
   * own (received -> its first token left), after the server (-> the client read it), and outside the server
   * (before + after: all that is not the server's doing).
   */
  public record TtftSplit(int matched, Percentiles beforeMs, Percentiles serverMs, Percentiles afterMs,
      Percentiles outsideMs) {}

  private final LoadRunner direct;
  private final LoadRunner via;
  private final Optional<LoadRunner> proxy;
  private final long dispatcherPid;
  private final Optional<URI> serverTimings;
  private final HttpClient http = HttpClient.newHttpClient();

  /** @param serverTimings the server's {@code /simulator/timings}, to split each TTFT; empty: no split */
  public OverheadBenchmark(LoadRunner direct, LoadRunner via, long dispatcherPid, Optional<String> serverTimings) {
    this(direct, Optional.empty(), via, dispatcherPid, serverTimings);
  }

  /** @param proxy the server behind a plain reverse proxy, measured in the same rounds as a third path */
  public OverheadBenchmark(LoadRunner direct, Optional<LoadRunner> proxy, LoadRunner via, long dispatcherPid,
      Optional<String> serverTimings) {
    this.direct = direct;
    this.proxy = proxy;
    this.via = via;
    this.dispatcherPid = dispatcherPid;
    this.serverTimings = serverTimings.map(u -> URI.create(
        (u.endsWith("/") ? u.substring(0, u.length() - 1) : u) + "/simulator/timings"));
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
    Map<String, long[]> directTimings = new HashMap<>();
    Map<String, long[]> viaTimings = new HashMap<>();
    List<RequestRecord> proxyRecords = new ArrayList<>();
    Map<String, long[]> proxyTimings = new HashMap<>();
    double proxySeconds = 0;
    long proxyTokens = 0;
    MachineTally directMachine = new MachineTally();
    MachineTally proxyMachine = new MachineTally();
    MachineTally viaMachine = new MachineTally();
    boolean machineKnown = MachineCpu.now().isPresent();
    for (int round = 0; round < rounds; round++) {
      serverTimings(); // forget what the server kept of the warm-up and of the other level
      List<RequestRecord> d = directMachine.during(() -> direct.closedLoop(users, rampUp, perRound, Duration.ZERO));
      directTimings.putAll(serverTimings());
      Summary ds = LoadMetrics.summarize("direct", users, d, 200, 50);
      directSeconds += ds.durationS();
      directTokens += d.stream().filter(RequestRecord::ok).mapToLong(RequestRecord::outputTokens).sum();
      directRecords.addAll(d);

      if (proxy.isPresent()) {
        List<RequestRecord> p = proxyMachine.during(
            () -> proxy.get().closedLoop(users, rampUp, perRound, Duration.ZERO));
        proxyTimings.putAll(serverTimings());
        proxySeconds += LoadMetrics.summarize("proxy", users, p, 200, 50).durationS();
        proxyTokens += p.stream().filter(RequestRecord::ok).mapToLong(RequestRecord::outputTokens).sum();
        proxyRecords.addAll(p);
      }

      double cpuBefore = cpuSeconds();
      ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor();
      sampler.scheduleAtFixedRate(() -> rssMaxKb.accumulateAndGet(rssKb(), Math::max), 0, 250,
          TimeUnit.MILLISECONDS);
      List<RequestRecord> v = viaMachine.during(() -> via.closedLoop(users, rampUp, perRound, Duration.ZERO));
      sampler.shutdownNow();
      viaTimings.putAll(serverTimings());
      Summary vs = LoadMetrics.summarize("via", users, v, 200, 50);
      cpuSeconds += cpuSeconds() - cpuBefore;
      viaSeconds += vs.durationS();
      viaTokens += v.stream().filter(RequestRecord::ok).mapToLong(RequestRecord::outputTokens).sum();
      viaRecords.addAll(v);
    }
    // Each round's times count from its own start: the pooled rates are over the rounds' summed durations.
    Summary ds = LoadMetrics.summarize("direct", users, directRecords, 200, 50).over(directSeconds);
    Summary vs = LoadMetrics.summarize("dispatcher", users, viaRecords, 200, 50).over(viaSeconds);
    Optional<Proxied> proxied = Optional.empty();
    if (proxy.isPresent()) {
      Summary ps = LoadMetrics.summarize("proxy", users, proxyRecords, 200, 50).over(proxySeconds);
      proxied = Optional.of(new Proxied(ps, ps.ttftMs().p50() - ds.ttftMs().p50(),
          ps.ttftMs().p99() - ds.ttftMs().p99(), (proxyTokens / proxySeconds) / (directTokens / directSeconds),
          split(proxyRecords, proxyTimings)));
    }
    Optional<MachineUse> used = Optional.empty();
    if (machineKnown) {
      used = Optional.of(new MachineUse(directMachine.use(directTokens),
          proxy.isPresent() ? Optional.of(proxyMachine.use(proxyTokens)) : Optional.empty(),
          viaMachine.use(viaTokens)));
    }
    return new Level(users, ds, vs,
        vs.ttftMs().p50() - ds.ttftMs().p50(), vs.ttftMs().p99() - ds.ttftMs().p99(),
        vs.e2eMs().p50() - ds.e2eMs().p50(), vs.e2eMs().p99() - ds.e2eMs().p99(),
        (viaTokens / viaSeconds) / (directTokens / directSeconds),
        cpuSeconds / viaSeconds, rssMaxKb.get() / 1024.0,
        split(directRecords, directTimings), split(viaRecords, viaTimings), proxied, used);
  }

  /** What the machine's processors did during one path's rounds, summed over them. */
  private static final class MachineTally {
    private MachineCpu used = new MachineCpu(0, 0);
    private double seconds;

    /** Runs one round of the path, adding what the machine did meanwhile. */
    <T> T during(Supplier<T> round) {
      Optional<MachineCpu> before = MachineCpu.now();
      long start = System.nanoTime();
      T result = round.get();
      Optional<MachineCpu> after = MachineCpu.now();
      if (before.isPresent() && after.isPresent()) {
        used = used.plus(after.get().minus(before.get()));
        seconds += (System.nanoTime() - start) / 1e9;
      }
      return result;
    }

    MachineCpu.PathUse use(long tokens) {
      return MachineCpu.PathUse.of(used, seconds, tokens);
    }
  }

  /** Splits the TTFT of every completed request the server has timings for; empty when it has none. */
  static Optional<TtftSplit> split(List<RequestRecord> records, Map<String, long[]> timings) {
    List<Double> before = new ArrayList<>();
    List<Double> server = new ArrayList<>();
    List<Double> after = new ArrayList<>();
    List<Double> outside = new ArrayList<>();
    for (RequestRecord r : records) {
      long[] t = r.ok() ? timings.get(r.responseId()) : null;
      if (t == null) {
        continue;
      }
      double b = (t[0] - r.sentEpochMicros()) / 1000.0;
      double s = (t[1] - t[0]) / 1000.0;
      before.add(b);
      server.add(s);
      after.add(r.ttftMs() - b - s);
      outside.add(r.ttftMs() - s);
    }
    return before.isEmpty() ? Optional.empty() : Optional.of(new TtftSplit(before.size(), Percentiles.of(before),
        Percentiles.of(server), Percentiles.of(after), Percentiles.of(outside)));
  }

  /** What the server recorded since the last call: response id -> {received, first token} in epoch micros. */
  private Map<String, long[]> serverTimings() {
    if (serverTimings.isEmpty()) {
      return Map.of();
    }
    try {
      HttpResponse<String> answer = http.send(HttpRequest.newBuilder(serverTimings.get()).GET().build(),
          HttpResponse.BodyHandlers.ofString());
      if (answer.statusCode() != 200) {
        throw new IllegalStateException(serverTimings.get() + " answered " + answer.statusCode() + ": "
            + answer.body());
      }
      return CallTimings.parse(answer.body());
    } catch (IOException e) {
      throw new IllegalStateException("the server's timings could not be read at " + serverTimings.get(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
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
    boolean proxied = levels.stream().allMatch(l -> l.proxy().isPresent());
    if (proxied) {
      line(md, "TTFT p50 / p99 through the proxy (ms)", levels, l -> f(l.proxy().get().summary().ttftMs().p50())
          + " / " + f(l.proxy().get().summary().ttftMs().p99()));
      line(md, "**proxy's added TTFT p50 / p99 (ms)**", levels, l -> f(l.proxy().get().addedTtftP50Ms()) + " / "
          + f(l.proxy().get().addedTtftP99Ms()));
    }
    boolean split = levels.stream().allMatch(l -> l.ownTtftP50P99Ms().isPresent());
    if (split) {
      line(md, "TTFT outside the server p50 direct / via (ms)", levels, l -> f(l.directSplit().get().outsideMs().p50())
          + " / " + f(l.viaSplit().get().outsideMs().p50()));
      line(md, "TTFT outside the server p99 direct / via (ms)", levels, l -> f(l.directSplit().get().outsideMs().p99())
          + " / " + f(l.viaSplit().get().outsideMs().p99()));
      line(md, "**dispatcher's own TTFT p50 (ms)**", levels, l -> f(l.ownTtftP50P99Ms().get()[0]));
      line(md, "**dispatcher's own TTFT p99 (ms)**", levels, l -> f(l.ownTtftP50P99Ms().get()[1]));
      if (proxied && levels.stream().allMatch(l -> l.proxy().get().split().isPresent())) {
        line(md, "proxy's own TTFT p50 / p99 (ms)", levels, l -> f(l.proxy().get().split().get().outsideMs().p50()
            - l.directSplit().get().outsideMs().p50()) + " / " + f(l.proxy().get().split().get().outsideMs().p99()
            - l.directSplit().get().outsideMs().p99()));
      }
      line(md, "via: before the server p50 / p99 (ms)", levels, l -> f(l.viaSplit().get().beforeMs().p50())
          + " / " + f(l.viaSplit().get().beforeMs().p99()));
      line(md, "via: after the server p50 / p99 (ms)", levels, l -> f(l.viaSplit().get().afterMs().p50())
          + " / " + f(l.viaSplit().get().afterMs().p99()));
      line(md, "server's own TTFT p99 direct / via (ms)", levels, l -> f(l.directSplit().get().serverMs().p99())
          + " / " + f(l.viaSplit().get().serverMs().p99()));
      line(md, "requests split direct / via", levels, l -> l.directSplit().get().matched() + " / "
          + l.viaSplit().get().matched());
    }
    line(md, "added E2E p50 (ms)", levels, l -> f(l.addedE2eP50Ms()));
    line(md, "added E2E p99 (ms)", levels, l -> f(l.addedE2eP99Ms()));
    line(md, "output tok/s direct / via", levels, l -> f(l.direct().outputTokensPerS()) + " / "
        + f(l.via().outputTokensPerS()));
    line(md, "**throughput kept**", levels, l -> String.format(Locale.ROOT, "%.1f%%", 100 * l.throughputRatio()));
    if (proxied) {
      line(md, "requests/s direct / proxy / via", levels, l -> f(l.direct().requestsPerS()) + " / "
          + f(l.proxy().get().summary().requestsPerS()) + " / " + f(l.via().requestsPerS()));
      line(md, "**throughput kept through the proxy**", levels, l -> String.format(Locale.ROOT, "%.1f%%",
          100 * l.proxy().get().throughputRatio()));
    }
    line(md, "dispatcher CPU (cores)", levels, l -> String.format(Locale.ROOT, "%.2f", l.dispatcherCpuCores()));
    boolean machine = levels.stream().allMatch(l -> l.machine().isPresent());
    if (machine) {
      String paths = proxied ? "direct / proxy / via" : "direct / via";
      line(md, "machine busy (cores): " + paths, levels, l -> each(l.machine().get(), MachineCpu.PathUse::busyCores));
      line(md, "machine stolen by other tenants (cores): " + paths, levels,
          l -> each(l.machine().get(), MachineCpu.PathUse::stealCores));
      line(md, "**machine CPU per 1,000 output tokens (ms): " + paths + "**", levels,
          l -> each(l.machine().get(), MachineCpu.PathUse::busyMsPerThousandTokens));
    }
    line(md, "dispatcher RSS max (MiB)", levels, l -> f(l.dispatcherRssMaxMb()));
    line(md, "requests direct / via", levels, l -> l.direct().completed() + " / " + l.via().completed());
    line(md, "errors via", levels, l -> l.via().errorsByStatus().toString());
    md.append("\nAdded = dispatcher minus direct, on the pooled requests of all rounds. Throughput kept = output "
        + "tokens/s through the dispatcher / directly, each over the sum of its rounds' durations. Rounds "
        + "alternate direct and through the dispatcher with the same seeded prompts; in each, users join evenly "
        + "over the ramp-up, then run for the duration; every request counts."
        + (proxied ? " The proxy's rounds (a plain reverse proxy in front of the same server) run between the "
            + "direct and the dispatcher's, and its figures are taken against direct's the same way." : "")
        + "\n\n"
        + (split ? SPLIT_FORMULAS : "")
        + (machine ? MACHINE_FORMULAS : "")
        + "## Definitions\n\n")
        .append(LoadMetrics.FORMULAS).append('\n');
    Files.writeString(dir.resolve("overhead.md"), md.toString());
  }

  static final String SPLIT_FORMULAS = """
      Each request's TTFT is also cut where the server saw it (the simulator keeps, per answer id, when the call \
      reached it whole and when its first token left, on the machine's wall clock): before the server = server received \
      - client sent; the server's own = its first token - it received the call; after the server = TTFT - before \
      - the server's own; outside the server = before + after. The dispatcher's own TTFT = outside the server \
      through the dispatcher - outside the server directly, at the same percentile. Unlike the added TTFT above, \
      it does not move with when each request fell in the server's step (that part belongs to the server and is \
      the same whichever way the request came).

      """;

  static final String MACHINE_FORMULAS = """
      The machine's figures are read from /proc/stat around each path's rounds: busy = user + nice + system + \
      interrupts of all its processors, stolen = time the hypervisor ran another tenant instead. The load generator \
      and the server run in every path, so per 1,000 output tokens, via minus direct is what the dispatcher's path \
      costs the machine, and proxy minus direct the proxy's; a path whose busy cores reach the machine's count was \
      held back by the machine, not by itself.

      """;

  /** A figure of each path, as "direct / proxy / via". */
  private static String each(MachineUse use, java.util.function.ToDoubleFunction<MachineCpu.PathUse> figure) {
    return String.format(Locale.ROOT, "%.2f", figure.applyAsDouble(use.direct()))
        + use.proxy().map(p -> String.format(Locale.ROOT, " / %.2f", figure.applyAsDouble(p))).orElse("")
        + String.format(Locale.ROOT, " / %.2f", figure.applyAsDouble(use.via()));
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
