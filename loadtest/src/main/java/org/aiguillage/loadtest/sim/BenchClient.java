package org.aiguillage.loadtest.sim;

import java.util.Locale;

/**
 * The benchmark client a sweep is played with in virtual time ({@link VirtualBench}): how many requests each user
 * sends at a level, and how long it waits for the next byte of an answer before it gives up. A request given up is a
 * failure, left out of every figure as benchmark tools leave failed requests out, and its user sends the next one.
 *
 * <p>The seed tables' client gave up after 600 s (docs/benchmarks.md, "Simulator profiles"): the read timeout of the
 * OpenAI Python client by default. Without it no engine of the RTX 6000 Pro's cache gives both its published median
 * TTFT at 64 users of shape C (77 s) and at 128 (314 s); with it, the same profile gives 78 s and 304 s.
 *
 * @param promptsPerUser requests per user at each level
 * @param timeoutS seconds without a byte (the first token, or the next) after which a request is given up; 0: never
 */
public record BenchClient(int promptsPerUser, double timeoutS) {

  /** The seed tables' client: 10 requests per user, 600 s without a byte and the request is given up. */
  public static final BenchClient SEED = new BenchClient(10, 600);

  public BenchClient {
    if (promptsPerUser < 1) {
      throw new IllegalArgumentException("requests per user must be at least 1, not " + promptsPerUser);
    }
    if (timeoutS < 0 || Double.isNaN(timeoutS)) {
      throw new IllegalArgumentException("a client timeout is 0 (none) or positive, not " + timeoutS);
    }
  }

  /** The same client, {@code n} requests per user. */
  public BenchClient withPromptsPerUser(int n) {
    return new BenchClient(n, timeoutS);
  }

  /** As the reports say it. */
  public String describe() {
    return String.format(Locale.ROOT, "%d requests per user, %s", promptsPerUser,
        timeoutS == 0 ? "no client timeout" : String.format(Locale.ROOT,
            "a request given up after %.0f s without a byte", timeoutS));
  }
}
