package org.aiguillage.loadtest;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import org.aiguillage.loadtest.sim.SimulatorProfile;
import org.aiguillage.loadtest.sim.VllmSimulator;

/** {@code java -jar loadtest.jar simulate --port 8001 --model X [options]}: a simulated vLLM server. */
public final class Main {

  private Main() {}

  public static void main(String[] args) throws InterruptedException {
    if (args.length == 0 || !args[0].equals("simulate")) {
      usage();
      System.exit(2);
    }
    Map<String, String> opts = options(args);
    SimulatorProfile profile = switch (opts.getOrDefault("profile", "h200")) {
      case "fast" -> SimulatorProfile.fast();
      case "h200" -> SimulatorProfile.h200();
      default -> throw new IllegalArgumentException("--profile is h200 or fast");
    };
    if (opts.containsKey("max-num-seqs")) {
      profile = profile.withMaxNumSeqs(Integer.parseInt(opts.get("max-num-seqs")));
    }
    if (opts.containsKey("max-model-len")) {
      profile = profile.withMaxModelLen(Integer.parseInt(opts.get("max-model-len")));
    }
    if (opts.containsKey("itl-ms")) {
      String[] p = opts.get("itl-ms").split(",");
      profile = profile.withItl(Double.parseDouble(p[0]), Double.parseDouble(p[p.length - 1]));
    }
    profile = profile.withFaults(Double.parseDouble(opts.getOrDefault("error-rate", "0")),
        Integer.parseInt(opts.getOrDefault("fail-after", "0")),
        Long.parseLong(opts.getOrDefault("slow-start-ms", "0")));
    String model = opts.getOrDefault("model", "demo-model");
    VllmSimulator sim = VllmSimulator.start(opts.getOrDefault("host", "127.0.0.1"),
        Integer.parseInt(opts.getOrDefault("port", "8001")), model, profile,
        Optional.ofNullable(opts.get("api-key")));
    System.out.println("simulated vLLM serving " + model + " at " + sim.baseUrl() + " (" + profile + ")");
    Runtime.getRuntime().addShutdownHook(new Thread(sim::close));
    new CountDownLatch(1).await();
  }

  static Map<String, String> options(String[] args) {
    Map<String, String> opts = new HashMap<>();
    List<String> rest = new ArrayList<>(List.of(args).subList(1, args.length));
    for (int i = 0; i < rest.size(); i++) {
      String a = rest.get(i);
      if (!a.startsWith("--") || i + 1 >= rest.size()) {
        throw new IllegalArgumentException("expected --option value, got " + a);
      }
      opts.put(a.substring(2), rest.get(++i));
    }
    return opts;
  }

  private static void usage() {
    System.err.println("""
        usage: java -jar loadtest.jar simulate [--port 8001] [--model demo-model] [--profile h200|fast]
                 [--max-num-seqs N] [--max-model-len N] [--itl-ms batch1,batch128] [--api-key K]
                 [--error-rate 0.1] [--fail-after N] [--slow-start-ms MS]""");
  }
}
