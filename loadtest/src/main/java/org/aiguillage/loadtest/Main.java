package org.aiguillage.loadtest;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import org.aiguillage.loadtest.run.KeyClass;
import org.aiguillage.loadtest.run.LoadClient;
import org.aiguillage.loadtest.run.LoadRunner;
import org.aiguillage.loadtest.run.OverheadBenchmark;
import org.aiguillage.loadtest.run.Reference;
import org.aiguillage.loadtest.run.Reports;
import org.aiguillage.loadtest.run.RequestRecord;
import org.aiguillage.loadtest.run.Results;
import org.aiguillage.loadtest.run.Shape;
import org.aiguillage.loadtest.sim.SimulatorProfile;
import org.aiguillage.loadtest.sim.VllmSimulator;

/**
 * {@code java -jar loadtest.jar simulate|run|report|overhead}: a simulated vLLM server, and a load generator for
 * any OpenAI-compatible endpoint with its reports.
 */
public final class Main {

  private Main() {}

  public static void main(String[] args) throws Exception {
    String command = args.length == 0 ? "" : args[0];
    try {
      switch (command) {
        case "simulate" -> simulate(new Options(args, 1));
        case "run" -> run(new Options(args, 1));
        case "report" -> report(new Options(args, 1));
        case "overhead" -> overhead(new Options(args, 1));
        default -> {
          usage();
          System.exit(2);
        }
      }
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      usage();
      System.exit(2);
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
    return new LoadRunner.Plan(new LoadClient(url, model, Boolean.parseBoolean(o.get("ignore-eos", "true"))),
        classes, shape, o.integer("seed", 42), o.duration("timeout", "10m"), o.duration("think-time", "0s"));
  }

  private static void run(Options o) throws IOException {
    Optional<Reference> reference = reference(o); // a bad file fails now, not after the run
    LoadRunner runner = new LoadRunner(plan(o, o.require("url"), o.require("model")),
        o.has("quiet") ? null : System.err);
    List<RequestRecord> records;
    if (o.has("sweep")) {
      records = runner.sweep(o.integers("sweep", "1"), o.duration("duration", "30s"));
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
    OverheadBenchmark bench = new OverheadBenchmark(direct, via, Long.parseLong(o.require("pid")),
        Optional.ofNullable(o.get("server-timings", null)));
    // Warm both paths before measuring, so that what is measured is the JIT-compiled steady state a dispatcher
    // serving for days is in: first thousands of short requests (the request path), then the measured load itself
    // at its first level (the per-event path of long streams, which short requests hardly exercise).
    Duration warmup = o.duration("warmup", "60s");
    if (!warmup.isZero()) {
      Options shortOnes = new Options(new String[] {"--input-tokens", "10", "--max-tokens", "4",
          "--key", o.get("key", "none")}, 0);
      int users = o.integers("users", "50,200").get(0);
      for (String[] path : List.of(new String[] {o.require("direct"), o.get("direct-model", o.require("model"))},
          new String[] {o.require("via"), o.require("model")})) {
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

  private static void simulate(Options opts) throws InterruptedException {
    SimulatorProfile profile = switch (opts.get("profile", "h200")) {
      case "fast" -> SimulatorProfile.fast();
      case "h200" -> SimulatorProfile.h200();
      case "steady" -> SimulatorProfile.steady(20);
      default -> throw new IllegalArgumentException("--profile is h200, fast or steady");
    };
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
    if (opts.has("call-timings")) {
      sim.recordCallTimings();
    }
    System.out.println("simulated vLLM serving " + model + " at " + sim.baseUrl() + " (" + profile + ")");
    Runtime.getRuntime().addShutdownHook(new Thread(sim::close));
    new CountDownLatch(1).await();
  }


  private static void usage() {
    System.err.println("""
        usage:
          java -jar loadtest.jar simulate [--port 8001] [--model demo-model] [--profile h200|fast|steady]
                 [--max-num-seqs N] [--max-model-len N] [--itl-ms batch1,batch128] [--api-key K]
                 [--error-rate 0.1] [--fail-after N] [--slow-start-ms MS] [--cut-after-tokens N]
                 [--call-timings]   keep each streamed call's arrival and first token for GET /simulator/timings
          java -jar loadtest.jar run --url URL[,URL...] --model M --key [label=]SECRET[,weight=N][,field=value]...
                 (several URLs: requests take them in turn, skipping one that refuses connections)
                 [--users N --duration 30s --ramp-up 60s --ramp-down 30s]   closed-loop users
                 [--think-time 5s]        each user's mean pause between an answer and its next request
                 [--sweep 1,2,4,8,16,32,64,128 --duration 30s]             one closed loop per level
                 [--rate 5 --duration 60s]                                 open-loop Poisson arrivals
                 [--shape A|B|C | --input-tokens 500 --max-tokens 128] [--seed 42]
                 [--ttft-slo-ms 200 --itl-slo-ms 50] [--out DIR] [--quiet]
                 [--reference FILE.csv]   published figures to put ours next to, within +-25 % or not:
                                          concurrency,output_tokens_per_s,ttft_ms,itl_ms (medians)
          java -jar loadtest.jar report --from DIR/results.json [--out DIR] [--reference FILE.csv]
          java -jar loadtest.jar overhead --direct URL --direct-model M --via URL --model M --key SECRET
                 --pid DISPATCHER_PID [--users 50,200 --ramp-up 2s --duration 20s --rounds 2 --warmup 60s]
                 [--server-timings SIMULATOR_URL]   split each TTFT at the server (simulate --call-timings)
                 [--out DIR]""");
  }
}
