package org.aiguillage.loadtest.run;

import java.util.Arrays;
import java.util.Collection;

/** Mean and percentiles of a sample, by linear interpolation between closest ranks (numpy's default). */
public record Percentiles(int count, double mean, double p50, double p90, double p99, double max) {

  public static final Percentiles EMPTY = new Percentiles(0, Double.NaN, Double.NaN, Double.NaN, Double.NaN,
      Double.NaN);

  public static Percentiles of(Collection<Double> values) {
    double[] v = values.stream().filter(d -> !Double.isNaN(d)).mapToDouble(Double::doubleValue).sorted().toArray();
    if (v.length == 0) {
      return EMPTY;
    }
    return new Percentiles(v.length, Arrays.stream(v).average().orElse(Double.NaN), at(v, 50), at(v, 90), at(v, 99),
        v[v.length - 1]);
  }

  static double at(double[] sorted, double percentile) {
    double rank = percentile / 100 * (sorted.length - 1);
    int lo = (int) Math.floor(rank);
    int hi = (int) Math.ceil(rank);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
  }
}
