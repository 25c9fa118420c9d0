package org.aiguillage.loadtest.run;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.aiguillage.loadtest.sim.SimulatorProfile;
import org.aiguillage.loadtest.sim.SimulatorStats;
import org.aiguillage.loadtest.sim.VllmSimulator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A short scenario against a simulated server: the report must agree with what the server saw. */
class LoadRunEndToEndTest {

  @Test
  void aShortClosedLoopReportsExactlyWhatTheSimulatedServerServed(@TempDir Path out) throws Exception {
    try (VllmSimulator server = VllmSimulator.start("m", SimulatorProfile.fast())) {
      LoadRunner runner = new LoadRunner(new LoadRunner.Plan(new LoadClient(server.baseUrl(), "m", true),
          List.of(KeyClass.parse("students=none,weight=3"), KeyClass.parse("staff=none")),
          new Shape("test", 50, 10, 20, 5), 7, Duration.ofSeconds(30)), null);

      List<RequestRecord> records = runner.closedLoop(4, Duration.ofMillis(200), Duration.ofSeconds(1),
          Duration.ofMillis(200));
      Results results = new Results(Map.of("users", "4"), 200, 50, records);
      Reports.write(results, out);

      SimulatorStats seen = server.stats();
      Summary all = Reports.summaries(results).get(0);
      assertEquals(seen.completed(), all.completed(), "every request the server completed, and no other");
      assertEquals(all.requests(), all.completed());
      long reportedTokens = records.stream().mapToLong(RequestRecord::outputTokens).sum();
      assertEquals(seen.generationTokens(), reportedTokens, "output tokens as the server counted them");
      assertEquals(seen.promptTokens(), records.stream().mapToLong(RequestRecord::promptTokens).sum());
      assertTrue(records.stream().allMatch(r -> r.chunkTimesMs().size() == r.outputTokens()));
      assertEquals(3, Reports.summaries(results).size(), "all, staff, students");
      for (String file : List.of("results.json", "report.json", "summary.csv", "requests.csv", "report.md",
          "throughput.svg", "ttft.svg", "ttft-distribution.svg")) {
        assertTrue(Files.size(out.resolve(file)) > 0, file);
      }
    }
  }

  @Test
  void aSweepByRequestsPerUserSendsExactlyThatManyAtEachLevelAsVllmsBenchmarkDoes() throws Exception {
    try (VllmSimulator server = VllmSimulator.start("m", SimulatorProfile.fast())) {
      LoadRunner runner = new LoadRunner(new LoadRunner.Plan(new LoadClient(server.baseUrl(), "m", true),
          List.of(KeyClass.parse("none")), new Shape("test", 20, 0, 5, 0), 7, Duration.ofSeconds(30)), null);

      List<RequestRecord> records = runner.sweep(List.of(1, 4), 3);

      assertEquals(3, records.stream().filter(r -> r.concurrency() == 1).count());
      assertEquals(12, records.stream().filter(r -> r.concurrency() == 4).count());
      assertTrue(records.stream().allMatch(RequestRecord::ok));
      assertEquals(15, server.stats().completed());
    }
  }

  @Test
  void multiTurnSessionsResendTheirGrowingHistoryWhichTheServersPrefixCacheFinds() throws Exception {
    try (VllmSimulator server = VllmSimulator.start("m", SimulatorProfile.fast())) {
      LoadRunner runner = new LoadRunner(new LoadRunner.Plan(new LoadClient(server.baseUrl(), "m", true),
          List.of(KeyClass.parse("none")), new Shape("turn", 20, 0, 10, 0), 7, Duration.ofSeconds(30),
          Duration.ZERO, new Conversation.MultiTurn(1, 200, 3)), null);

      List<RequestRecord> records = runner.closedLoop(1, 7);

      // Chat template: 4 tokens a message. Turn 1: system (200) and user (20); each later turn adds the answer
      // (10) and a user message (20). A new session after 3 turns.
      assertEquals(List.of(228, 266, 304, 228, 266, 304, 228),
          records.stream().map(RequestRecord::promptTokens).toList());
      String metrics = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
          java.net.URI.create(server.baseUrl() + "/metrics")).build(),
          java.net.http.HttpResponse.BodyHandlers.ofString()).body();
      double hits = metrics.lines().filter(l -> l.startsWith("vllm:prefix_cache_hits_total{"))
          .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
      // Every turn but a session's first finds the previous turn's prompt cached (its full blocks).
      assertTrue(hits >= 6 * 192, "prefix-cache hits: " + hits + "\n" + metrics);
    }
  }

  @Test
  void theSameResultsAlwaysRenderTheSameReport(@TempDir Path a, @TempDir Path b) throws Exception {
    List<RequestRecord> records = List.of(
        new RequestRecord("x", 1, 0, 50, 90, List.of(50.0, 70.0, 90.0), 5, 3, 200, "", "", 0),
        new RequestRecord("x", 1, 100, 160, 200, List.of(160.0, 180.0, 200.0), 5, 3, 200, "", "", 0));
    Results results = new Results(Map.of("users", "1"), 200, 50, records);
    Reports.write(results, a);

    Reports.render(Reports.read(a.resolve("results.json")), b);

    for (String file : List.of("report.json", "summary.csv", "requests.csv", "report.md", "throughput.svg",
        "ttft.svg", "ttft-distribution.svg")) {
      assertArrayEquals(Files.readAllBytes(a.resolve(file)), Files.readAllBytes(b.resolve(file)), file);
    }
  }

  @Test
  void aUserWithAThinkTimePausesBetweenAnAnswerAndItsNextRequest() throws Exception {
    try (VllmSimulator server = VllmSimulator.start("m", SimulatorProfile.fast())) {
      LoadRunner runner = new LoadRunner(new LoadRunner.Plan(new LoadClient(server.baseUrl(), "m", true),
          List.of(KeyClass.parse("a=none")), new Shape("test", 10, 0, 4, 0), 3, Duration.ofSeconds(30),
          Duration.ofMillis(100)), null);

      List<RequestRecord> records = runner.closedLoop(1, Duration.ZERO, Duration.ofSeconds(1), Duration.ZERO);

      // Answers take a few ms here: without a pause one user sends a hundred requests a second.
      assertTrue(records.size() >= 3 && records.size() <= 25, records.size() + " requests");
      double pauses = 0;
      for (int i = 1; i < records.size(); i++) {
        pauses += records.get(i).startMs() - records.get(i - 1).endMs();
      }
      assertTrue(pauses / (records.size() - 1) >= 40, "mean pause " + pauses / (records.size() - 1) + " ms");
    }
  }

  @Test
  void theSameSeedSendsTheSamePrompts() {
    assertEquals(LoadClient.prompt(new java.util.Random(42), 30), LoadClient.prompt(new java.util.Random(42), 30));
  }
}
