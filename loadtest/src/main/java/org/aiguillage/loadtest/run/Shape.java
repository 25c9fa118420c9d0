package org.aiguillage.loadtest.run;

import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The size of requests: input and output tokens, each normal with a mean and a spread, as in the seed benchmarks'
 * scenarios A (500±75 in, 500±75 out), B (10,000±1,000 in, 500±75 out) and C (10,000±1,000 in, 10,000±1,000 out).
 */
public record Shape(String name, int inputMean, int inputSpread, int outputMean, int outputSpread) {

  private static final Pattern IN_OUT = Pattern.compile("(\\d+)/(\\d+)");

  /** A, B, C, or {@code IN/OUT} tokens (a spread of 10 % around each, as the seed's shapes have). */
  public static Shape named(String name) {
    return switch (name) {
      case "A" -> new Shape("A", 500, 75, 500, 75);
      case "B" -> new Shape("B", 10_000, 1_000, 500, 75);
      case "C" -> new Shape("C", 10_000, 1_000, 10_000, 1_000);
      default -> {
        Matcher m = IN_OUT.matcher(name);
        if (!m.matches()) {
          throw new IllegalArgumentException("--shape is A, B, C or IN/OUT tokens (2000/2000); not '" + name + "'");
        }
        int in = Integer.parseInt(m.group(1));
        int out = Integer.parseInt(m.group(2));
        yield new Shape(name, in, in / 10, out, out / 10);
      }
    };
  }

  public int inputTokens(Random random) {
    return draw(random, inputMean, inputSpread);
  }

  public int outputTokens(Random random) {
    return draw(random, outputMean, outputSpread);
  }

  private static int draw(Random random, int mean, int spread) {
    return Math.max(1, (int) Math.round(mean + random.nextGaussian() * spread));
  }
}
