package org.aiguillage.loadtest.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.aiguillage.loadtest.MainAccess;
import org.aiguillage.loadtest.run.Shape;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fit finds the parameters a reference was made with: the simulator's own sweeps, written as published tables,
 * fitted by the {@code fit} command from its first guess.
 */
class ProfileFitTest {

  private static final List<Integer> LEVELS = List.of(1, 2, 4, 8, 16, 32, 48);
  /** Short prompts up to 128 users: where the step curve ends ({@code itl_batch128_ms}). */
  private static final List<Integer> SHORT_LEVELS = List.of(1, 2, 4, 8, 16, 32, 64, 128);
  private static final int PROMPTS_PER_USER = 3;
  /** The {@code fit} command's client, told only its requests per user. */
  private static final BenchClient CLIENT = BenchClient.SEED.withPromptsPerUser(PROMPTS_PER_USER);

  /** What the simulator makes of {@code truth} in {@code shape}, as a published table. */
  private static String table(SimulatorProfile truth, Shape shape, List<Integer> levels) {
    return VirtualBench.csv(VirtualBench.sweep(truth, shape, levels, CLIENT, 42));
  }

  @Test
  void theFitCommandRecoversTheParametersASyntheticReferenceWasMadeWith(@TempDir Path dir) throws Exception {
    // Prompts of three lengths (the number of steps a prompt takes tells the step's token budget from the cost per
    // token); 4,000 in and 400 out fill the cache at 48 users (245 preemptions), so that its size shows in the
    // figures. A cache that fills from 32 users on (120,000 tokens) thrashes, and the figures move too roughly with the
    // parameters for the search: it stops at a step curve 12 % off.
    SimulatorProfile truth = SimulatorProfile.of(150_000, 40, 0.03, 10, 50, 0.8, 0.02, 1024);
    Files.writeString(dir.resolve("short.csv"), table(truth, Shape.named("300/200"), SHORT_LEVELS));
    Files.writeString(dir.resolve("long.csv"), table(truth, Shape.named("4000/400"), LEVELS));
    Files.writeString(dir.resolve("longer.csv"), table(truth, Shape.named("8000/100"), LEVELS));
    Path fitted = dir.resolve("fitted.properties");

    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    PrintStream stdout = System.out;
    PrintStream stderr = System.err;
    int exit;
    try {
      System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
      exit = MainAccess.execute("fit", "--reference", dir.resolve("short.csv").toString(), "--shape", "300/200",
          "--reference", dir.resolve("long.csv").toString(), "--shape", "4000/400",
          "--reference", dir.resolve("longer.csv").toString(), "--shape", "8000/100",
          "--prompts-per-user", Integer.toString(PROMPTS_PER_USER), "--max-runs", "1500", "--out", fitted.toString());
    } finally {
      System.setOut(stdout);
      System.setErr(stderr);
    }
    assertEquals(0, exit, printed.toString(StandardCharsets.UTF_8));

    SimulatorProfile found = ProfileFiles.read(fitted);
    System.out.println("fitted:\n" + ProfileFit.describe(found) + "made with:\n" + ProfileFit.describe(truth));
    for (ProfileParameter parameter : ProfileParameter.values()) {
      double deviation = parameter.of(found) / parameter.of(truth) - 1;
      assertTrue(Math.abs(deviation) <= 0.10, parameter.key + ": " + parameter.of(found) + " for "
          + parameter.of(truth) + "\n" + printed.toString(StandardCharsets.UTF_8));
    }
    assertTrue(Files.readString(fitted).startsWith("# Fitted by: java -jar loadtest.jar fit"));
  }
}
