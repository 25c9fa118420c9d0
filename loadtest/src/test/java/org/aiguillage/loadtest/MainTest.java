package org.aiguillage.loadtest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The command line: every command's help, bad usage as exit 2, and options handed on as the user wrote them. */
class MainTest {

  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();
  private PrintStream stdout;
  private PrintStream stderr;

  @BeforeEach
  void capture() {
    stdout = System.out;
    stderr = System.err;
    System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  @AfterEach
  void restore() {
    System.setOut(stdout);
    System.setErr(stderr);
  }

  @Test
  void everyCommandHasItsHelp() {
    for (String command : List.of("simulate", "run", "report", "overhead", "predict", "fit")) {
      assertEquals(0, Main.execute(new String[] {command, "--help"}), command);
    }
    String help = out.toString(StandardCharsets.UTF_8);
    for (String option : List.of("--profile", "--call-timings", "--sweep", "--think-time", "--reference", "--from",
        "--server-timings", "--warmup", "--turns", "--system-tokens", "--requests-per-user", "--prompts-per-user", "--max-runs", "--start")) {
      assertTrue(help.contains(option), option + " in:\n" + help);
    }
    assertTrue(!err.toString(StandardCharsets.UTF_8).contains("WARN"), err.toString(StandardCharsets.UTF_8));
  }

  @Test
  void aMissingRequiredOptionOrABadValueIsABadUsage() {
    assertEquals(2, Main.execute(new String[] {"run", "--model", "m"}));
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("--url"), err.toString(StandardCharsets.UTF_8));
    assertEquals(2, Main.execute(new String[] {"run", "--url", "http://127.0.0.1:1", "--model", "m",
        "--reference", "/no/such/file.csv"}));
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("no such file"), err.toString(StandardCharsets.UTF_8));
    assertEquals(2, Main.execute(new String[] {"frobnicate"}));
  }

  @Test
  void aFitTakesEachReferencesShapeFromItsNameOrAsGiven(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws Exception {
    assertEquals("C", Main.shapeOfFile("rtx6000pro-scenario-C.csv"));
    assertEquals("A", Main.shapeOfFile("mine_A.csv"));
    java.nio.file.Path table = java.nio.file.Files.writeString(dir.resolve("sweep.csv"),
        "concurrency,output_tokens_per_s,ttft_ms,itl_ms\n1,100,50,10\n");

    assertEquals(2, Main.execute(new String[] {"fit", "--reference", table.toString()}));
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("--shape is needed for sweep.csv"),
        err.toString(StandardCharsets.UTF_8));
    assertEquals(2, Main.execute(new String[] {"fit", "--reference", table.toString(), "--shape", "A",
        "--fix", "kv_cache=1"}));
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("no parameter 'kv_cache'"));
    assertEquals(2, Main.execute(new String[] {"predict", "--shape", "2000"}));
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("IN/OUT tokens"));
    assertEquals(2, Main.execute(new String[] {"simulate", "--profile", "a100"}));
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("h200, rtx6000pro, fast, steady or steady:MS_PER_TOKEN"));
    assertEquals(2, Main.execute(new String[] {"simulate", "--profile", "steady:fast"}));
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("not 'steady:fast'"));
    assertEquals(5.0, org.aiguillage.loadtest.sim.SimulatorProfile.named("steady:5").itlBatch1Ms());
  }

  @Test
  void optionsReachTheCommandAsWrittenRepeatedOnesIncluded() {
    CommandLine cli = Main.commandLine();
    CommandLine.ParseResult parsed = cli.parseArgs("run", "--url", "http://x", "--model", "m", "--key", "a=sk-1",
        "--key", "b=sk-2,weight=3", "--duration", "2m", "--quiet");
    Options o = Options.matched(parsed.subcommand());
    assertEquals(List.of("a=sk-1", "b=sk-2,weight=3"), o.all("key"));
    assertEquals(java.time.Duration.ofMinutes(2), o.duration("duration", "30s"));
    assertTrue(o.has("quiet"));
    assertEquals(Map.of("url", "http://x", "model", "m", "key", "a=*** b=***", "duration", "2m"), o.asScenario());
  }
}
