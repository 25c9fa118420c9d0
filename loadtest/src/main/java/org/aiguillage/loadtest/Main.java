package org.aiguillage.loadtest;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.aiguillage.loadtest.run.Conversation;
import org.aiguillage.loadtest.run.KeyClass;
import org.aiguillage.loadtest.run.LoadClient;
import org.aiguillage.loadtest.run.LoadRunner;
import org.aiguillage.loadtest.run.OverheadBenchmark;
import org.aiguillage.loadtest.run.Reference;
import org.aiguillage.loadtest.run.Reports;
import org.aiguillage.loadtest.run.RequestRecord;
import org.aiguillage.loadtest.run.Results;
import org.aiguillage.loadtest.run.Shape;
import org.aiguillage.loadtest.sim.BenchClient;
import org.aiguillage.loadtest.sim.ProfileFiles;
import org.aiguillage.loadtest.sim.ProfileFit;
import org.aiguillage.loadtest.sim.ProfileParameter;
import org.aiguillage.loadtest.sim.SimulatorProfile;
import org.aiguillage.loadtest.sim.Task;
import org.aiguillage.loadtest.sim.VirtualBench;
import org.aiguillage.loadtest.sim.VllmSimulator;
import org.aiguillage.protocol.CommonPool;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code java -jar loadtest.jar simulate|run|report|overhead|predict|fit}: a simulated vLLM server, a load generator
 * for any OpenAI-compatible endpoint with its reports, and the simulator's profiles run in virtual time and fitted to
 * published sweeps. {@code --help} on each command lists its options.
 */
@Command(name = "java -jar loadtest.jar", mixinStandardHelpOptions = true, version = "Aiguillage load test 0.1.0",
    subcommands = {Main.Simulate.class, Main.Run.class, Main.Report.class, Main.Overhead.class, Main.Predict.class,
        Main.Fit.class},
    description = "A simulated vLLM server, and a load generator for any OpenAI-compatible endpoint.")
public final class Main {

  private Main() {}

  public static void main(String[] args) {
    CommonPool.atLeastTwoThreads();
    System.exit(execute(args));
  }

  /** The command line, for {@link #execute} and for tests that parse without running. */
  static CommandLine commandLine() {
    return new CommandLine(new Main());
  }

  /** @return the exit code: 0 done, 2 bad usage (a bad value included), 1 anything else */
  static int execute(String[] args) {
    CommandLine cli = commandLine();
    cli.setExecutionExceptionHandler((e, line, parsed) -> {
      if (e instanceof IllegalArgumentException) {
        line.getErr().println(e.getMessage());
        line.usage(line.getErr());
        return 2;
      }
      throw e;
    });
    return cli.execute(args);
  }

  /** What every command that loads an endpoint takes: who the users are and what they ask. */
  static final class Load {
    @Option(names = "--key", paramLabel = "[LABEL=]SECRET[,weight=N][,field=value]",
        description = "a class of users: its key, its share of the users, fields added to its requests; repeatable")
    List<String> keys;
    @Option(names = "--shape", description = "A (500 in / 500 out), B or C (10,000 / 10,000)") String shape;
    @Option(names = "--input-tokens", description = "prompt length (default 500)") String inputTokens;
    @Option(names = "--input-spread", description = "+- tokens around it") String inputSpread;
    @Option(names = "--max-tokens", description = "answer length (default 128)") String maxTokens;
    @Option(names = "--output-spread", description = "+- tokens around it") String outputSpread;
    @Option(names = "--ignore-eos", description = "ask for every max_tokens (default true)") String ignoreEos;
    @Option(names = "--seed", description = "of the prompts and pauses (default 42)") String seed;
    @Option(names = "--timeout", description = "of one request (default 10m)") String timeout;
    @Option(names = "--think-time", description = "each user's mean pause between an answer and its next request")
    String thinkTime;
    @Option(names = "--turns", description = "multi-turn chat: each user's sessions have this many turns, each "
        + "resending the history (the shape gives each user message and answer)") String turns;
    @Option(names = "--system-prompts", description = "multi-turn: how many system prompts the sessions share "
        + "(default 4)") String systemPrompts;
    @Option(names = "--system-tokens", description = "multi-turn: words in each system prompt (default 2000)")
    String systemTokens;
    @Option(names = "--ramp-up", description = "time to start every user") String rampUp;
    @Option(names = "--duration", description = "of the load (default 30s)") String duration;
    @Option(names = "--quiet", description = "no progress on standard error") boolean quiet;
  }

  @Command(name = "simulate", mixinStandardHelpOptions = true, abbreviateSynopsis = true,
      description = "A simulated vLLM server (continuous batching, KV cache, vLLM's /metrics and SSE).")
  static final class Simulate implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Option(names = "--host", description = "default 127.0.0.1") String host;
    @Option(names = "--port", description = "default 8001; 0 picks a free one") String port;
    @Option(names = "--model", description = "the model it serves (default demo-model)") String model;
    @Option(names = "--profile", description = "h200 (default), rtx6000pro, fast, steady (20 ms a token), "
        + "steady:MS (MS a token), or a fitted "
        + "FILE.properties") String profile;
    @Option(names = "--max-num-seqs", description = "its batch's ceiling") String maxNumSeqs;
    @Option(names = "--max-model-len", description = "its context length") String maxModelLen;
    @Option(names = "--itl-ms", paramLabel = "AT_1,AT_128", description = "inter-token latency at batch 1 and 128")
    String itlMs;
    @Option(names = "--api-key", description = "the bearer token it wants") String apiKey;
    @Option(names = "--error-rate", description = "share of calls answered 500") String errorRate;
    @Option(names = "--fail-after", description = "answer 500 after this many calls") String failAfter;
    @Option(names = "--slow-start-ms", description = "wait this long before the first token") String slowStartMs;
    @Option(names = "--cut-after-tokens", description = "cut every stream after this many tokens")
    String cutAfterTokens;
    @Option(names = "--task", description = "generate, embed, score or transcription: the APIs it serves "
        + "(default all)") String task;
    @Option(names = "--call-timings",
        description = "keep each streamed call's arrival and first token for GET /simulator/timings")
    boolean callTimings;
    @Option(names = "--metrics", description = "full (default) or basic: gauges and counters only, no latency "
        + "histogram") String metrics;

    @Override
    public Integer call() throws InterruptedException, IOException {
      simulate(Options.matched(spec.commandLine().getParseResult()));
      return 0;
    }
  }

  @Command(name = "run", mixinStandardHelpOptions = true, abbreviateSynopsis = true,
      description = "Load an endpoint (closed-loop users, a sweep, or Poisson arrivals) and write its reports.")
  static final class Run implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin Load load;
    @Option(names = "--url", required = true, paramLabel = "URL[,URL...]",
        description = "the endpoint; several: requests take them in turn, skipping one that refuses connections")
    String url;
    @Option(names = "--model", required = true) String model;
    @Option(names = "--users", description = "closed-loop users (default 1)") String users;
    @Option(names = "--ramp-down", description = "time to stop every user") String rampDown;
    @Option(names = "--sweep", paramLabel = "1,2,4,...", description = "one closed loop per level") String sweep;
    @Option(names = "--requests-per-user", description = "each user sends this many, then stops (instead of "
        + "--duration; as vLLM's benchmark does with --num-prompts)") String requestsPerUser;
    @Option(names = "--rate", description = "open-loop Poisson arrivals per second") String rate;
    @Option(names = "--ttft-slo-ms", description = "default 200") String ttftSloMs;
    @Option(names = "--itl-slo-ms", description = "default 50") String itlSloMs;
    @Option(names = "--out", description = "the reports' directory (default loadtest-report)") String out;
    @Option(names = "--reference", paramLabel = "FILE.csv", description = "published figures to put ours next to, "
        + "within +-25 %% or not: concurrency,output_tokens_per_s,ttft_ms,itl_ms (medians)") String reference;

    @Override
    public Integer call() throws IOException {
      run(Options.matched(spec.commandLine().getParseResult()));
      return 0;
    }
  }

  @Command(name = "report", mixinStandardHelpOptions = true, abbreviateSynopsis = true,
      description = "Render a run's reports again.")
  static final class Report implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Option(names = "--from", required = true, paramLabel = "DIR/results.json") String from;
    @Option(names = "--out", description = "default: beside --from") String out;
    @Option(names = "--reference", paramLabel = "FILE.csv") String reference;

    @Override
    public Integer call() throws IOException {
      report(Options.matched(spec.commandLine().getParseResult()));
      return 0;
    }
  }

  @Command(name = "overhead", mixinStandardHelpOptions = true, abbreviateSynopsis = true,
      description = "The same load directly and through a dispatcher, in alternating rounds: what it adds.")
  static final class Overhead implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin Load load;
    @Option(names = "--direct", required = true, description = "the server itself") String direct;
    @Option(names = "--direct-model", description = "the model's name there (default --model)") String directModel;
    @Option(names = "--via", required = true, description = "the dispatcher") String via;
    @Option(names = "--proxy", description = "the server behind a plain reverse proxy (nginx), a third path "
        + "measured in the same rounds; it serves --direct-model") String proxy;
    @Option(names = "--model", required = true) String model;
    @Option(names = "--pid", required = true, description = "the dispatcher's process, for its CPU") String pid;
    @Option(names = "--users", description = "levels (default 50,200)") String users;
    @Option(names = "--rounds", description = "per level and path (default 2)") String rounds;
    @Option(names = "--warmup", description = "of both paths before measuring (default 60s)") String warmup;
    @Option(names = "--server-timings", paramLabel = "SIMULATOR_URL",
        description = "split each TTFT at the server (simulate --call-timings)") String serverTimings;
    @Option(names = "--note", description = "a line for the report") String note;
    @Option(names = "--out", description = "default overhead-report") String out;

    @Override
    public Integer call() throws IOException {
      overhead(Options.matched(spec.commandLine().getParseResult()));
      return 0;
    }
  }

  @Command(name = "predict", mixinStandardHelpOptions = true, abbreviateSynopsis = true,
      description = "A profile's sweep in virtual time (no server, no clock: hours of load in seconds), as vLLM's "
          + "benchmark runs it, next to published figures if given.")
  static final class Predict implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Option(names = "--profile", description = "h200 (default), rtx6000pro, or a fitted FILE.properties")
    String profile;
    @Option(names = "--shape", description = "A, B, C or IN/OUT tokens (default A)") String shape;
    @Option(names = "--sweep", paramLabel = "1,2,4,...", description = "concurrencies (default 1,2,4,...,128)")
    String sweep;
    @Mixin BenchClientOptions client;
    @Option(names = "--seed", description = "of the request sizes (default 42)") String seed;
    @Option(names = "--reference", paramLabel = "FILE.csv", description = "published figures to compare with")
    String reference;
    @Option(names = "--out", description = "the report's directory (default: printed only)") String out;
    @Option(names = "--csv", paramLabel = "FILE.csv", description = "also write the figures as a reference table "
        + "(what fit --reference reads)") String csv;

    @Override
    public Integer call() throws IOException {
      predict(Options.matched(spec.commandLine().getParseResult()));
      return 0;
    }
  }

  @Command(name = "fit", mixinStandardHelpOptions = true, abbreviateSynopsis = true,
      description = "Search a profile's parameters against published sweeps, by simulating them in virtual time.")
  static final class Fit implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Option(names = "--reference", required = true, paramLabel = "FILE.csv",
        description = "a published sweep (concurrency,output_tokens_per_s,ttft_ms,itl_ms); repeatable")
    List<String> references;
    @Option(names = "--shape", description = "each reference's shape, in order (A, B, C or IN/OUT; default: from "
        + "the file's name, *-scenario-A.csv)") List<String> shapes;
    @Mixin BenchClientOptions client;
    @Option(names = "--seed", description = "of the request sizes (default 42)") String seed;
    @Option(names = "--start", description = "a profile to start from (default: a first guess from the tables)")
    String start;
    @Option(names = "--max-runs", description = "sweeps simulated at most (default 600)") String maxRuns;
    @Option(names = "--fix", paramLabel = "PARAMETER=VALUE", description = "hold a parameter at a value (one the "
        + "references cannot tell, say); repeatable") List<String> fixes;
    @Option(names = "--out", paramLabel = "FILE.properties", description = "write the fitted profile there")
    String out;
    @Option(names = "--report-dir", description = "write each reference's comparison there") String reportDir;

    @Override
    public Integer call() throws IOException {
      fit(Options.matched(spec.commandLine().getParseResult()), references, shapes == null ? List.of() : shapes,
          fixes == null ? List.of() : fixes);
      return 0;
    }
  }

  private static LoadRunner.Plan plan(Options o, String url, String model) {
    List<KeyClass> classes = o.all("key").stream().map(KeyClass::parse).toList();
    if (classes.isEmpty()) {
      classes = List.of(new KeyClass("default", "none", 1, Map.of()));
    }
    Shape shape = o.has("shape") ? Shape.named(o.get("shape", "A"))
        : new Shape("custom", o.integer("input-tokens", 500), o.integer("input-spread", 0),
            o.integer("max-tokens", 128), o.integer("output-spread", 0));
    Conversation.MultiTurn multiTurn = o.has("turns") ? new Conversation.MultiTurn(o.integer("system-prompts", 4),
        o.integer("system-tokens", 2000), o.integer("turns", 1)) : null;
    return new LoadRunner.Plan(new LoadClient(url, model, Boolean.parseBoolean(o.get("ignore-eos", "true"))),
        classes, shape, o.integer("seed", 42), o.duration("timeout", "10m"), o.duration("think-time", "0s"),
        multiTurn);
  }

  private static void run(Options o) throws IOException {
    Optional<Reference> reference = reference(o); // a bad file fails now, not after the run
    LoadRunner runner = new LoadRunner(plan(o, o.require("url"), o.require("model")),
        o.has("quiet") ? null : System.err);
    List<RequestRecord> records;
    if (o.has("sweep") && o.has("requests-per-user")) {
      records = runner.sweep(o.integers("sweep", "1"), o.integer("requests-per-user", 1));
    } else if (o.has("sweep")) {
      records = runner.sweep(o.integers("sweep", "1"), o.duration("duration", "30s"));
    } else if (o.has("requests-per-user")) {
      records = runner.closedLoop(o.integer("users", 1), o.integer("requests-per-user", 1));
    } else if (o.has("rate")) {
      records = runner.poisson(o.decimal("rate", 1), o.duration("duration", "30s"));
    } else {
      records = runner.closedLoop(o.integer("users", 1), o.duration("ramp-up", "0s"),
          o.duration("duration", "30s"), o.duration("ramp-down", "0s"));
    }
    Results results = new Results(o.asScenario(), o.decimal("ttft-slo-ms", 200), o.decimal("itl-slo-ms", 50),
        records);
    Path out = Path.of(o.get("out", "loadtest-report"));
    Reports.write(results, out, reference);
    System.out.print(Files.readString(out.resolve("report.md")).lines().limit(40)
        .reduce("", (a, b) -> a + b + "\n"));
    System.out.println("reports in " + out.toAbsolutePath());
  }

  private static void report(Options o) throws IOException {
    Path from = Path.of(o.require("from"));
    Path out = Path.of(o.get("out", from.getParent() == null ? "." : from.getParent().toString()));
    Reports.render(Reports.read(from), out, reference(o));
    System.out.println("reports in " + out.toAbsolutePath());
  }

  private static Optional<Reference> reference(Options o) throws IOException {
    if (!o.has("reference")) {
      return Optional.empty();
    }
    Path file = Path.of(o.require("reference"));
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("--reference: no such file: " + file);
    }
    return Optional.of(Reference.parseCsv(file.getFileName().toString(), Files.readString(file)));
  }

  private static void overhead(Options o) throws IOException {
    LoadRunner direct = new LoadRunner(plan(o, o.require("direct"), o.get("direct-model", o.require("model"))),
        o.has("quiet") ? null : System.err);
    LoadRunner via = new LoadRunner(plan(o, o.require("via"), o.require("model")), o.has("quiet") ? null : System.err);
    Optional<LoadRunner> proxy = Optional.ofNullable(o.get("proxy", null)).map(url -> new LoadRunner(
        plan(o, url, o.get("direct-model", o.require("model"))), o.has("quiet") ? null : System.err));
    OverheadBenchmark bench = new OverheadBenchmark(direct, proxy, via, Long.parseLong(o.require("pid")),
        Optional.ofNullable(o.get("server-timings", null)));
    // Warm both paths before measuring, so that what is measured is the JIT-compiled steady state a dispatcher
    // serving for days is in: first thousands of short requests (the request path), then the measured load itself
    // at its first level (the per-event path of long streams, which short requests hardly exercise).
    Duration warmup = o.duration("warmup", "60s");
    if (!warmup.isZero()) {
      Options shortOnes = new Options(new String[] {"--input-tokens", "10", "--max-tokens", "4",
          "--key", o.get("key", "none")}, 0, Set.of());
      int users = o.integers("users", "50,200").get(0);
      List<String[]> paths = new ArrayList<>();
      paths.add(new String[] {o.require("direct"), o.get("direct-model", o.require("model"))});
      if (o.has("proxy")) {
        paths.add(new String[] {o.require("proxy"), o.get("direct-model", o.require("model"))});
      }
      paths.add(new String[] {o.require("via"), o.require("model")});
      for (String[] path : paths) {
        new LoadRunner(plan(shortOnes, path[0], path[1]), null)
            .closedLoop(32, Duration.ZERO, warmup.dividedBy(4), Duration.ZERO);
        new LoadRunner(plan(o, path[0], path[1]), null)
            .closedLoop(users, o.duration("ramp-up", "2s"), warmup.dividedBy(4), Duration.ZERO);
      }
    }
    List<OverheadBenchmark.Level> levels = new ArrayList<>();
    for (int users : o.integers("users", "50,200")) {
      levels.add(bench.measure(users, o.duration("ramp-up", "2s"), o.duration("duration", "20s"),
          o.integer("rounds", 2)));
    }
    Path out = Path.of(o.get("out", "overhead-report"));
    OverheadBenchmark.write(levels, o.asScenario(), out);
    System.out.println(Files.readString(out.resolve("overhead.md")));
  }

  /** A named profile, or one a fit wrote. */
  private static SimulatorProfile profile(String name) throws IOException {
    if (name.endsWith(".properties")) {
      Path file = Path.of(name);
      if (!Files.isRegularFile(file)) {
        throw new IllegalArgumentException("--profile: no such file: " + file);
      }
      return ProfileFiles.read(file);
    }
    return SimulatorProfile.named(name);
  }

  private static void predict(Options o) throws IOException {
    Optional<Reference> reference = reference(o);
    SimulatorProfile profile = profile(o.get("profile", "h200"));
    Shape shape = Shape.named(o.get("shape", "A"));
    BenchClient client = BenchClientOptions.of(o);
    List<VirtualBench.Level> levels = VirtualBench.sweep(profile, shape, o.integers("sweep", "1,2,4,8,16,32,64,128"),
        client, o.integer("seed", 42));
    String report = VirtualBench.markdown("Profile " + o.get("profile", "h200") + ", shape " + shape.name()
        + ", in virtual time", profile, shape, client, levels, reference);
    System.out.print(report);
    if (o.has("csv")) {
      Files.writeString(Path.of(o.require("csv")), VirtualBench.csv(levels));
    }
    if (o.has("out")) {
      Path out = Path.of(o.require("out"));
      Files.createDirectories(out);
      Files.writeString(out.resolve("report.md"), report);
      System.out.println("report in " + out.toAbsolutePath().resolve("report.md"));
    }
  }

  private static void fit(Options o, List<String> files, List<String> shapes, List<String> fixes)
      throws IOException {
    Map<ProfileParameter, Double> fixed = new EnumMap<>(ProfileParameter.class);
    for (String fix : fixes) {
      String[] kv = fix.split("=", 2);
      ProfileParameter parameter = ProfileParameter.byKey(kv[0]);
      if (kv.length < 2) {
        throw new IllegalArgumentException("--fix is PARAMETER=VALUE; not '" + fix + "'");
      }
      fixed.put(parameter, Double.parseDouble(kv[1]));
    }
    if (!shapes.isEmpty() && shapes.size() != files.size()) {
      throw new IllegalArgumentException("give one --shape per --reference, or none (from the files' names)");
    }
    List<ProfileFit.Target> targets = new ArrayList<>();
    for (int i = 0; i < files.size(); i++) {
      Path file = Path.of(files.get(i));
      if (!Files.isRegularFile(file)) {
        throw new IllegalArgumentException("--reference: no such file: " + file);
      }
      String shape = shapes.isEmpty() ? shapeOfFile(file.getFileName().toString()) : shapes.get(i);
      targets.add(new ProfileFit.Target(Shape.named(shape),
          Reference.parseCsv(file.getFileName().toString(), Files.readString(file))));
    }
    BenchClient client = BenchClientOptions.of(o);
    ProfileFit fit = new ProfileFit(targets, client, o.integer("seed", 42));
    SimulatorProfile start = o.has("start") ? profile(o.require("start")) : fit.firstGuess();
    System.out.println("starting from:\n" + ProfileFit.describe(start));
    long began = System.nanoTime();
    ProfileFit.Result result = fit.fit(start, fixed, o.integer("max-runs", 600), System.err::println);
    String summary = String.format(Locale.ROOT, "fitted in %d runs (%.0f s), loss %.4f:%n%s",
        result.evaluations(), (System.nanoTime() - began) / 1e9, result.loss(), ProfileFit.describe(result.profile()));
    System.out.print(summary);
    for (int t = 0; t < targets.size(); t++) {
      ProfileFit.Target target = targets.get(t);
      String report = VirtualBench.markdown("Fitted profile, shape " + target.shape().name() + " against "
          + target.reference().name(), result.profile(), target.shape(), client, result.sweeps().get(t),
          Optional.of(target.reference()));
      System.out.print(report);
      if (o.has("report-dir")) {
        Path dir = Path.of(o.require("report-dir"));
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("fit-" + target.shape().name().replace('/', '-') + ".md"), report);
      }
    }
    if (o.has("out")) {
      Path out = Path.of(o.require("out"));
      Files.writeString(out, ProfileFiles.write(result.profile(), "Fitted by: java -jar loadtest.jar fit "
          + String.join(" ", files.stream().map(f -> "--reference " + Path.of(f).getFileName()).toList())
          + " --prompts-per-user " + client.promptsPerUser() + " --client-timeout "
          + (long) client.timeoutS() + "s" + String.join("", fixes.stream().map(f -> " --fix " + f).toList())
          + "\n" + summary.lines().findFirst().orElse("")));
      System.out.println("profile written to " + out.toAbsolutePath());
    }
  }

  private static final Pattern SHAPE_IN_FILE_NAME = Pattern.compile("(?:^|[-_])(?:scenario-)?([ABC])\\.csv$");

  /** {@code h200-scenario-C.csv} is shape C. */
  static String shapeOfFile(String name) {
    Matcher m = SHAPE_IN_FILE_NAME.matcher(name);
    if (!m.find()) {
      throw new IllegalArgumentException("--shape is needed for " + name + " (its name does not say A, B or C)");
    }
    return m.group(1);
  }

  private static void simulate(Options opts) throws InterruptedException, IOException {
    SimulatorProfile profile = profile(opts.get("profile", "h200"));
    if (opts.has("max-num-seqs")) {
      profile = profile.withMaxNumSeqs(opts.integer("max-num-seqs", 0));
    }
    if (opts.has("max-model-len")) {
      profile = profile.withMaxModelLen(opts.integer("max-model-len", 0));
    }
    if (opts.has("itl-ms")) {
      String[] p = opts.require("itl-ms").split(",");
      profile = profile.withItl(Double.parseDouble(p[0]), Double.parseDouble(p[p.length - 1]));
    }
    profile = profile.withFaults(opts.decimal("error-rate", 0),
        opts.integer("fail-after", 0),
        opts.integer("slow-start-ms", 0));
    String model = opts.get("model", "demo-model");
    VllmSimulator sim = VllmSimulator.start(opts.get("host", "127.0.0.1"),
        opts.integer("port", 8001), model, profile,
        Optional.ofNullable(opts.get("api-key", null)));
    sim.cutStreamsAfter(opts.integer("cut-after-tokens", 0));
    sim.serving(Task.of(opts.get("task", "all")));
    if (opts.has("call-timings")) {
      sim.recordCallTimings();
    }
    switch (opts.get("metrics", "full")) {
      case "full" -> { }
      case "basic" -> sim.basicMetrics();
      default -> throw new IllegalArgumentException("--metrics is full or basic, not " + opts.get("metrics", ""));
    }
    System.out.println("simulated vLLM serving " + model + " at " + sim.baseUrl() + " (" + profile + ")");
    Runtime.getRuntime().addShutdownHook(new Thread(sim::close));
    new CountDownLatch(1).await();
  }
}
