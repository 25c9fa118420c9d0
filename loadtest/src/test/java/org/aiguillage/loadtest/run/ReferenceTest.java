package org.aiguillage.loadtest.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A sweep held against published figures (the seed's table), on hand-made timelines. */
class ReferenceTest {

  /**
   * One user at {@code concurrency}: sent at 0, first token at {@code ttft}, then 9 more tokens {@code itl} apart:
   * 10 tokens over ttft + 9 itl ms.
   */
  private static RequestRecord request(int concurrency, double ttft, double itl) {
    List<Double> chunks = java.util.stream.IntStream.range(0, 10).mapToObj(i -> ttft + i * itl).toList();
    return new RequestRecord("a", concurrency, 0, ttft, chunks.get(9), chunks, 10, 10, 200, "", "", 0);
  }

  private static List<Summary> sweep(RequestRecord... records) {
    return Reports.summaries(new Results(Map.of(), 200, 50, List.of(records)));
  }

  @Test
  void readsTheColumnsByTheirHeaderAndAnEmptyCellIsAFigureNotGiven() {
    Reference reference = Reference.parseCsv("seed.csv", """
        # the seed's H200, scenario A
        ttft_ms,concurrency,itl_ms,output_tokens_per_s
        45.0,1,,110.5
        60,2,9.5,200
        """);

    assertEquals(List.of(1, 2), reference.rows().stream().map(Reference.Row::concurrency).toList());
    assertEquals(110.5, reference.rows().get(0).outputTokensPerS());
    assertEquals(45.0, reference.rows().get(0).ttftMs());
    assertTrue(Double.isNaN(reference.rows().get(0).itlMs()));
    assertEquals(9.5, reference.rows().get(1).itlMs());
  }

  @Test
  void aLineThatIsNotNumbersIsRefusedWithItsLineNumber() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Reference.parseCsv("seed.csv",
        "concurrency,output_tokens_per_s\n1,100\ntwo,200\n"));
    assertTrue(e.getMessage().contains("line 3"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Reference.parseCsv("seed.csv", "ttft_ms\n45\n"));
  }

  @Test
  void eachGivenFigureIsComparedWithOursAtTheSameConcurrencyWithinTwentyFivePercent() {
    // Ours at 1: TTFT 100 ms, ITL 10 ms, 10 tokens in 190 ms = 52.6 tok/s. At 4: TTFT 200, ITL 20.
    List<Summary> ours = sweep(request(1, 100, 10), request(4, 200, 20));
    Reference reference = Reference.parseCsv("seed.csv", """
        concurrency,output_tokens_per_s,ttft_ms,itl_ms
        1,,80,10.5
        4,,100,
        128,9000,500,40
        """);

    List<Reference.Comparison> comparisons = reference.compare(ours);

    // 128 was not measured; empty cells are not compared.
    assertEquals(List.of("1 TTFT p50 (ms)", "1 ITL p50 (ms)", "4 TTFT p50 (ms)"),
        comparisons.stream().map(c -> c.concurrency() + " " + c.figure()).toList());
    assertEquals(0.25, comparisons.get(0).deviation(), 1e-9); // 100 against 80: +25 %, the edge, within
    assertTrue(comparisons.get(0).within());
    assertEquals(10 / 10.5 - 1, comparisons.get(1).deviation(), 1e-9);
    assertTrue(comparisons.get(1).within());
    assertEquals(1.0, comparisons.get(2).deviation(), 1e-9); // 200 against 100: out
    assertFalse(comparisons.get(2).within());
  }

  @Test
  void theReportPutsOursNextToTheReferenceAndSaysWhatIsOut(@TempDir Path dir) throws Exception {
    Results results = new Results(Map.of("sweep", "1,4"), 200, 50, List.of(request(1, 100, 10), request(4, 200, 20)));
    Reference reference = Reference.parseCsv("seed.csv", "concurrency,ttft_ms\n1,90\n4,100\n");

    Reports.render(results, dir, Optional.of(reference));

    String md = Files.readString(dir.resolve("report.md"));
    assertTrue(md.contains("## Against the reference (seed.csv)"), md);
    assertTrue(md.contains("| TTFT p50 (ms) | 100.0 / 90.0 (+11 %) | 200.0 / 100.0 (+100 % **out**) |"), md);
    assertTrue(md.contains("1 of 2 figures are more than ±25 % from the reference."), md);
    JsonNode json = Reports.JSON.readTree(dir.resolve("report.json").toFile());
    assertEquals(2, json.path("reference").path("comparisons").size());
    assertEquals("seed.csv", json.path("reference").path("name").asText());

    // Same input, same report.
    Path again = dir.resolve("again");
    Reports.render(results, again, Optional.of(reference));
    assertEquals(md, Files.readString(again.resolve("report.md")));
  }
}
