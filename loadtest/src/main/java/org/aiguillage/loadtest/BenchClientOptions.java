package org.aiguillage.loadtest;

import org.aiguillage.loadtest.sim.BenchClient;
import picocli.CommandLine.Option;

/** The options of {@code predict} and {@code fit} that say which benchmark client plays the sweeps. */
final class BenchClientOptions {
  @Option(names = "--prompts-per-user", description = "requests per user at each level (default 10)")
  String promptsPerUser;
  @Option(names = "--client-timeout", paramLabel = "DURATION", description = "how long the benchmark's client "
      + "waits for a byte before it gives a request up, left out of the figures (default 600s, the seed tables' "
      + "client; 0s: never)") String clientTimeout;

  /** The client these options give: the seed tables', unless told otherwise. */
  static BenchClient of(Options o) {
    return new BenchClient(o.integer("prompts-per-user", BenchClient.SEED.promptsPerUser()),
        o.duration("client-timeout", (long) BenchClient.SEED.timeoutS() + "s").toMillis() / 1000.0);
  }
}
