package org.aiguillage.loadtest.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.aiguillage.loadtest.run.Reference;
import org.aiguillage.loadtest.run.Shape;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The profiles the simulator ships reproduce the published sweeps they were fitted to, within ±25 %, in virtual time
 * and vLLM's benchmark protocol as the seed tables' client played it ({@link BenchClient#SEED}): every figure of
 * both shapes of both GPUs (issue 22).
 */
class ShippedProfilesTest {

  private static final Path SEED = Path.of("src/test/resources/seed-benchmarks");

  @ParameterizedTest(name = "{0}, shape {1}")
  @CsvSource(delimiter = ';', value = {
      "h200; A",
      "h200; C",
      "rtx6000pro; A",
      "rtx6000pro; C"})
  void everyPublishedFigureIsWithinTolerance(String gpu, String shape) throws IOException {
    Reference published = Reference.parseCsv(gpu + "-" + shape,
        Files.readString(SEED.resolve(gpu + "-scenario-" + shape + ".csv")));
    SimulatorProfile profile = SimulatorProfile.named(gpu);

    List<VirtualBench.Level> sweep = VirtualBench.sweep(profile, Shape.named(shape),
        published.rows().stream().map(Reference.Row::concurrency).toList(), BenchClient.SEED, 42);

    Set<String> out = published.compare(sweep.stream().map(VirtualBench.Level::summary).toList()).stream()
        .filter(c -> !c.within()).map(c -> c.figure() + " at " + c.concurrency())
        .collect(Collectors.toCollection(java.util.TreeSet::new));
    assertEquals(Set.of(), out, VirtualBench.markdown(gpu, profile, Shape.named(shape), BenchClient.SEED, sweep,
        java.util.Optional.of(published)));
  }
}
