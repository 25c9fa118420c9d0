package org.aiguillage.loadtest.run;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The report's figures on hand-made timelines, where every number can be worked out by hand. */
class LoadMetricsTest {

  /** A request sent at {@code start}, whose output chunks arrived at {@code chunks}. */
  private static RequestRecord request(String label, double start, int tokens, double... chunks) {
    List<Double> times = java.util.Arrays.stream(chunks).boxed().toList();
    return new RequestRecord(label, 2, start, chunks[0], chunks[chunks.length - 1], times, 10, tokens, 200, "", "", 0);
  }

  @Test
  void ttftItlTpotAndE2eFollowVllmsDefinitions() {
    // Sent at 0, tokens at 100, 110, 130, 160: TTFT 100, ITLs 10, 20, 30, TPOT (160-100)/3 = 20, E2E 160.
    RequestRecord r = request("a", 0, 4, 100, 110, 130, 160);

    Summary s = LoadMetrics.summarize("all", 1, List.of(r), 200, 50);

    assertEquals(100, s.ttftMs().p50(), 1e-9);
    assertEquals(List.of(10.0, 20.0, 30.0).stream().mapToDouble(d -> d).average().orElseThrow(),
        s.itlMs().mean(), 1e-9);
    assertEquals(20, s.tpotMs().p50(), 1e-9);
    assertEquals(160, s.e2eMs().p50(), 1e-9);
  }

  @Test
  void throughputIsOutputTokensOverTheWindowFromFirstSendToLastEnd() {
    RequestRecord a = request("a", 0, 4, 100, 200, 300, 400);     // ends at 400
    RequestRecord b = request("a", 600, 6, 700, 750, 800, 850, 900, 1000); // ends at 1000

    Summary s = LoadMetrics.summarize("all", 2, List.of(a, b), 200, 50);

    assertEquals(1.0, s.durationS(), 1e-9);
    assertEquals(10, s.outputTokensPerS(), 1e-9);
    assertEquals(2, s.requestsPerS(), 1e-9);
    // per user: (4-1)/0.3 s = 10 tok/s and (6-1)/0.3 s = 16.67 tok/s
    assertEquals((10 + 50 / 3.0) / 2, s.outputTokensPerSPerUser(), 1e-9);
  }

  @Test
  void requestsPooledFromTwoRoundsAreRatedOverBothRounds() {
    // Two rounds of one second each, their times each from their own start: pooled, they overlap.
    RequestRecord first = request("a", 0, 4, 100, 200, 300, 1000);
    RequestRecord second = request("a", 0, 6, 100, 200, 300, 400, 500, 1000);

    Summary pooled = LoadMetrics.summarize("all", 1, List.of(first, second), 200, 50).over(2.0);

    assertEquals(2.0, pooled.durationS(), 1e-9);
    assertEquals(5, pooled.outputTokensPerS(), 1e-9, "10 tokens in two seconds, not in one");
    assertEquals(1, pooled.requestsPerS(), 1e-9);
  }

  @Test
  void goodputCountsOnlyRequestsWithinBothSlos() {
    RequestRecord good = request("a", 0, 3, 150, 190, 230);     // TTFT 150, TPOT 40
    RequestRecord slowStart = request("a", 0, 3, 250, 260, 270); // TTFT 250 > 200
    RequestRecord slowTokens = request("a", 0, 3, 100, 160, 220); // TPOT 60 > 50

    Summary s = LoadMetrics.summarize("all", 3, List.of(good, slowStart, slowTokens), 200, 50);

    assertEquals(1 / s.durationS(), s.goodputPerS(), 1e-9);
  }

  @Test
  void failuresAreCountedByStatusAndLeftOutOfLatencies() {
    RequestRecord ok = request("a", 0, 2, 100, 120);
    RequestRecord rejected = new RequestRecord("a", 2, 0, -1, 5, List.of(), 0, 0, 429, "queue full", "", 0);
    RequestRecord refused = new RequestRecord("a", 2, 0, -1, 1, List.of(), 0, 0, 0, "ConnectException", "", 0);

    Summary s = LoadMetrics.summarize("all", 2, List.of(ok, rejected, refused), 200, 50);

    assertEquals(3, s.requests());
    assertEquals(1, s.completed());
    assertEquals(Map.of("429", 1, "connection", 1), s.errorsByStatus());
    assertEquals(1, s.ttftMs().count());
  }

  @Test
  void percentilesInterpolateBetweenClosestRanksAsNumpyDoes() {
    Percentiles p = Percentiles.of(List.of(1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0));

    assertEquals(5.5, p.p50(), 1e-9);
    assertEquals(9.1, p.p90(), 1e-9);
    assertEquals(9.91, p.p99(), 1e-9);
    assertEquals(5.5, p.mean(), 1e-9);
  }
}
