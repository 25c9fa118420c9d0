package org.aiguillage.loadtest.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.aiguillage.loadtest.sim.CallTimings;
import org.aiguillage.loadtest.sim.SimulatorProfile;
import org.aiguillage.loadtest.sim.VllmSimulator;
import org.junit.jupiter.api.Test;

/** Each request's TTFT cut where the server saw it: before the server, the server's own, after it. */
class TtftSplitTest {

  /** A request sent at {@code sentUs} (wall clock) whose first token reached the client {@code ttftMs} later. */
  private static RequestRecord record(String id, long sentUs, double ttftMs) {
    return new RequestRecord("x", 1, 0, ttftMs, ttftMs + 10, List.of(ttftMs, ttftMs + 10), 5, 2, 200, "", id,
        sentUs);
  }

  @Test
  void splitsEachTtftIntoBeforeTheServerTheServersOwnAndAfter() {
    // a: sent at 1 s, reached the server 2 ms later, first token left 30 ms after that, client read it at 35 ms.
    // b: sent at 2 s, reached the server 1 ms later, first token after 50 ms, client read it at 52 ms.
    List<RequestRecord> records = List.of(record("a", 1_000_000, 35), record("b", 2_000_000, 52),
        record("not-seen-by-the-server", 3_000_000, 40));
    Map<String, long[]> timings = Map.of(
        "a", new long[] {1_002_000, 1_032_000},
        "b", new long[] {2_001_000, 2_051_000});

    OverheadBenchmark.TtftSplit split = OverheadBenchmark.split(records, timings).orElseThrow();

    assertEquals(2, split.matched());
    assertEquals(List.of(30.0, 50.0), List.of(split.serverMs().p50() - 10, split.serverMs().max()));
    assertEquals(List.of(1.5, 2.0), List.of(split.beforeMs().p50(), split.beforeMs().max()));
    assertEquals(List.of(2.0, 3.0), List.of(split.afterMs().p50(), split.afterMs().max()), "b: 52-1-50, a: 35-2-30");
    assertEquals(List.of(3.5, 5.0), List.of(split.outsideMs().p50(), split.outsideMs().max()), "b: 1+1, a: 2+3");
  }

  @Test
  void noTimingsNoSplit() {
    assertTrue(OverheadBenchmark.split(List.of(record("a", 1, 10)), new HashMap<>()).isEmpty());
  }

  @Test
  void theSimulatorsTimingsMatchWhatTheClientSaw() throws Exception {
    try (VllmSimulator server = VllmSimulator.start("m", SimulatorProfile.fast())) {
      server.recordCallTimings();
      LoadRunner runner = new LoadRunner(new LoadRunner.Plan(new LoadClient(server.baseUrl(), "m", true),
          List.of(KeyClass.parse("a=none")), new Shape("test", 20, 0, 8, 0), 1, Duration.ofSeconds(30)), null);

      List<RequestRecord> records = runner.closedLoop(3, Duration.ZERO, Duration.ofMillis(500), Duration.ZERO);
      String body = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
          URI.create(server.baseUrl() + "/simulator/timings")).build(), HttpResponse.BodyHandlers.ofString()).body();
      Map<String, long[]> timings = CallTimings.parse(body);

      assertEquals(records.size(), timings.size(), "one line per streamed call");
      Optional<OverheadBenchmark.TtftSplit> split = OverheadBenchmark.split(records, timings);
      assertEquals(records.size(), split.orElseThrow().matched(), "every request found by its answer's id");
      assertTrue(split.get().beforeMs().mean() >= 0 && split.get().afterMs().mean() >= 0);
      assertTrue(split.get().outsideMs().max() <= records.stream().mapToDouble(RequestRecord::ttftMs).max()
          .orElseThrow());
      assertEquals("", HttpClient.newHttpClient().send(HttpRequest.newBuilder(
          URI.create(server.baseUrl() + "/simulator/timings")).build(), HttpResponse.BodyHandlers.ofString())
          .body(), "what was handed over is forgotten");
    }
  }
}
