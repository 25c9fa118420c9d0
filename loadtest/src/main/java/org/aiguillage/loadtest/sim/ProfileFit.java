package org.aiguillage.loadtest.sim;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.IntStream;
import org.aiguillage.loadtest.run.Reference;
import org.aiguillage.loadtest.run.Shape;
import org.aiguillage.loadtest.run.Summary;

/**
 * Fits a profile's parameters ({@link ProfileParameter}) to published sweeps by simulation: every candidate's sweeps are
 * run in virtual time ({@link VirtualBench}) at the references' concurrencies and shapes, and a Nelder-Mead search
 * in the parameters' logarithms brings the figures (output throughput, TTFT p50, ITL p50) closest to the published
 * ones. The loss is the sum of squared log-ratios, with a steep extra weight on any figure beyond ±20 %, so that no
 * figure is given up to bring the others a little closer, and capped at a factor of two, so that no figure out of
 * reach drags the others. It starts from what the tables say directly (ITL at one
 * and the most users, TTFT at one user of each shape); the search does the rest.
 */
public final class ProfileFit {

  /** A published sweep and the shape of its requests. */
  public record Target(Shape shape, Reference reference) {}

  /** What the fit found: the profile, its loss, and each target's sweep. */
  public record Result(SimulatorProfile profile, double loss, int evaluations, List<List<VirtualBench.Level>> sweeps) {}

  private static final double COMFORT = Math.log(1.2);
  /**
   * A figure twice or half the published one counts as much as one further away: a figure the model cannot reach
   * (as the RTX 6000 Pro's TTFT at 128 users of shape C was before the benchmark's client timeout was modelled,
   * docs/benchmarks.md) must not bend the others towards it.
   */
  private static final double CAP = Math.log(2);

  private final List<Target> targets;
  private final BenchClient client;
  private final long seed;
  private int evaluations;

  /** @param client the published benchmark's client, as the sweeps are played */
  public ProfileFit(List<Target> targets, BenchClient client, long seed) {
    if (targets.isEmpty()) {
      throw new IllegalArgumentException("nothing to fit: give at least one --reference");
    }
    this.targets = List.copyOf(targets);
    this.client = client;
    this.seed = seed;
  }

  /** Each target's sweep of {@code profile}, at the concurrencies its reference gives. */
  public List<List<VirtualBench.Level>> sweeps(SimulatorProfile profile) {
    List<int[]> runs = new ArrayList<>();
    for (int t = 0; t < targets.size(); t++) {
      for (Reference.Row row : targets.get(t).reference().rows()) {
        runs.add(new int[] {t, row.concurrency()});
      }
    }
    // The heaviest levels first, so that the two cores finish together.
    runs.sort(Comparator.comparingInt((int[] r) -> -r[1] * targets.get(r[0]).shape().outputMean()));
    VirtualBench.Level[] levels = new VirtualBench.Level[runs.size()];
    IntStream.range(0, runs.size()).parallel().forEach(i -> {
      int[] r = runs.get(i);
      levels[i] = VirtualBench.run(profile, targets.get(r[0]).shape(), r[1], r[1] * client.promptsPerUser(),
          client.timeoutS(), seed);
    });
    List<List<VirtualBench.Level>> out = new ArrayList<>();
    for (int t = 0; t < targets.size(); t++) {
      List<VirtualBench.Level> mine = new ArrayList<>();
      for (int i = 0; i < runs.size(); i++) {
        if (runs.get(i)[0] == t) {
          mine.add(levels[i]);
        }
      }
      mine.sort(Comparator.comparingInt(VirtualBench.Level::concurrency));
      out.add(mine);
    }
    return out;
  }

  /** How far a profile's sweeps are from the references (0: every figure equal). */
  public double loss(SimulatorProfile profile) {
    return loss(sweeps(profile));
  }

  private double loss(List<List<VirtualBench.Level>> sweeps) {
    evaluations++;
    double loss = 0;
    for (int t = 0; t < targets.size(); t++) {
      List<Summary> summaries = sweeps.get(t).stream().map(VirtualBench.Level::summary).toList();
      for (Reference.Comparison c : targets.get(t).reference().compare(summaries)) {
        double d = Double.isNaN(c.ours()) || c.ours() <= 0 ? CAP : Math.min(CAP, Math.abs(Math.log(c.ours()
            / c.reference())));
        double beyond = Math.max(0, d - COMFORT);
        loss += d * d + 20 * beyond * beyond;
      }
    }
    return loss;
  }

  /** A first guess from the tables alone: the step curve from the ITLs, the prefill and overhead from the TTFTs. */
  public SimulatorProfile firstGuess() {
    Target small = targets.stream().min(Comparator.comparingInt(t -> t.shape().inputMean())).orElseThrow();
    Target large = targets.stream().max(Comparator.comparingInt(t -> t.shape().inputMean())).orElseThrow();
    Reference.Row one = small.reference().rows().stream().min(Comparator.comparingInt(Reference.Row::concurrency))
        .orElseThrow();
    Reference.Row most = small.reference().rows().stream().max(Comparator.comparingInt(Reference.Row::concurrency))
        .orElseThrow();
    double itl1 = positive(one.itlMs(), 10);
    double itlMost = positive(most.itlMs(), itl1 * 4);
    double itl128 = itl1 + (itlMost - itl1) * Math.pow(128.0 / Math.max(2, most.concurrency()), 0.8);
    double prefill = 0.02;
    Reference.Row oneLarge = large.reference().rows().stream()
        .min(Comparator.comparingInt(Reference.Row::concurrency)).orElseThrow();
    int moreTokens = large.shape().inputMean() - small.shape().inputMean();
    if (moreTokens > 0 && oneLarge.ttftMs() > one.ttftMs()) {
      prefill = (oneLarge.ttftMs() - one.ttftMs()) / moreTokens;
    }
    double overhead = Math.max(1, positive(one.ttftMs(), 100) - itl1 - prefill * small.shape().inputMean());
    int users = targets.stream().flatMap(t -> t.reference().rows().stream()).mapToInt(Reference.Row::concurrency)
        .max().orElse(128);
    long kv = 4L * users * (large.shape().inputMean() + large.shape().outputMean());
    // Where throughput falls as users are added, the cache is full: it holds what the batch decodes at once
    // (throughput times the step time) at their mean context (the prompt and half the answer).
    for (Target t : targets) {
      List<Reference.Row> rows = t.reference().rows().stream()
          .sorted(Comparator.comparingInt(Reference.Row::concurrency)).toList();
      for (int i = 1; i < rows.size(); i++) {
        Reference.Row row = rows.get(i);
        if (row.outputTokensPerS() < rows.get(i - 1).outputTokensPerS() && row.itlMs() > 0) {
          double batch = row.outputTokensPerS() * row.itlMs() / 1000;
          kv = Math.min(kv, Math.round(batch * (t.shape().inputMean() + t.shape().outputMean() / 2.0)));
          break;
        }
      }
    }
    return SimulatorProfile.of(kv, overhead, prefill, itl1, Math.max(itl1 * 1.01, itl128), 0.8, 0.005, 2048);
  }

  /**
   * Searches from {@code start}: Nelder-Mead on the parameters' logarithms, scaled to their ranges, restarted from
   * its best point until a restart no longer improves it.
   */
  public Result fit(SimulatorProfile start, int maxEvaluations, Consumer<String> progress) {
    return fit(start, Map.of(), maxEvaluations, progress);
  }

  /** As {@link #fit(SimulatorProfile, int, Consumer)}, the parameters in {@code fixed} held at their values. */
  public Result fit(SimulatorProfile start, Map<ProfileParameter, Double> fixed, int maxEvaluations,
      Consumer<String> progress) {
    double[] values = ProfileParameter.values(start);
    fixed.forEach((parameter, value) -> values[parameter.ordinal()] = value);
    int[] free = Arrays.stream(ProfileParameter.values()).filter(p -> !fixed.containsKey(p))
        .mapToInt(ProfileParameter::ordinal).toArray();
    int n = free.length;
    double[] best = toUnit(values);
    double bestLoss = loss(fromUnit(best));
    if (!fixed.containsKey(ProfileParameter.KV_CACHE_TOKENS)) {
      // The loss is flat in the cache's size until the cache fills at some level: halve it from the start (the
      // most any level could hold) and keep the best, so that the search starts where the cache matters.
      int kv = ProfileParameter.KV_CACHE_TOKENS.ordinal();
      double[] candidate = best.clone();
      for (int k = 1; k <= 8; k++) {
        double[] v = ProfileParameter.values(fromUnit(best));
        v[kv] = values[kv] / Math.pow(2, k / 2.0 + 0.5);
        candidate = toUnit(v);
        double l = loss(fromUnit(candidate));
        if (l < bestLoss) {
          best = candidate;
          bestLoss = l;
        }
      }
      progress.accept(String.format(Locale.ROOT, "cache size scanned: %.0f tokens, loss %.4f",
          ProfileParameter.KV_CACHE_TOKENS.of(fromUnit(best)), bestLoss));
    }
    double step = 0.08;
    for (int restart = 0; restart < 6 && n > 0 && evaluations < maxEvaluations; restart++) {
      double[][] simplex = new double[n + 1][];
      double[] losses = new double[n + 1];
      simplex[0] = best.clone();
      losses[0] = bestLoss;
      for (int i = 0; i < n; i++) {
        double[] p = best.clone();
        int d = free[i];
        p[d] = p[d] + (p[d] + step <= 1 ? step : -step);
        simplex[i + 1] = p;
        losses[i + 1] = loss(fromUnit(p));
      }
      nelderMead(simplex, losses, maxEvaluations, progress);
      int b = argMin(losses);
      boolean improved = losses[b] < bestLoss * 0.995;
      if (losses[b] < bestLoss) {
        best = simplex[b];
        bestLoss = losses[b];
      }
      progress.accept(String.format(Locale.ROOT, "restart %d: loss %.4f after %d runs", restart, bestLoss,
          evaluations));
      if (!improved && restart > 0) {
        break;
      }
      step /= 2;
    }
    SimulatorProfile fitted = fromUnit(best);
    return new Result(fitted, bestLoss, evaluations, sweeps(fitted));
  }

  private void nelderMead(double[][] s, double[] f, int maxEvaluations, Consumer<String> progress) {
    int n = s.length - 1;
    int dims = s[0].length;
    for (int iteration = 0; evaluations < maxEvaluations; iteration++) {
      Integer[] order = IntStream.rangeClosed(0, n).boxed().sorted(Comparator.comparingDouble(i -> f[i]))
          .toArray(Integer[]::new);
      double[][] ss = new double[n + 1][];
      double[] ff = new double[n + 1];
      for (int i = 0; i <= n; i++) {
        ss[i] = s[order[i]];
        ff[i] = f[order[i]];
      }
      System.arraycopy(ss, 0, s, 0, n + 1);
      System.arraycopy(ff, 0, f, 0, n + 1);
      if (f[n] - f[0] < 1e-7 + 1e-3 * f[0]) {
        return;
      }
      if (iteration % 10 == 0) {
        progress.accept(String.format(Locale.ROOT, "  loss %.4f (%d runs)", f[0], evaluations));
      }
      double[] centroid = new double[dims];
      for (int i = 0; i < n; i++) {
        for (int j = 0; j < dims; j++) {
          centroid[j] += s[i][j] / n;
        }
      }
      double[] reflected = along(centroid, s[n], -1);
      double fr = loss(fromUnit(reflected));
      if (fr < f[0]) {
        double[] expanded = along(centroid, s[n], -2);
        double fe = loss(fromUnit(expanded));
        s[n] = fe < fr ? expanded : reflected;
        f[n] = Math.min(fe, fr);
      } else if (fr < f[n - 1]) {
        s[n] = reflected;
        f[n] = fr;
      } else {
        double[] contracted = fr < f[n] ? along(centroid, s[n], -0.5) : along(centroid, s[n], 0.5);
        double fc = loss(fromUnit(contracted));
        if (fc < Math.min(fr, f[n])) {
          s[n] = contracted;
          f[n] = fc;
        } else {
          for (int i = 1; i <= n; i++) {
            s[i] = along(s[0], s[i], 0.5);
            f[i] = loss(fromUnit(s[i]));
          }
        }
      }
    }
  }

  /** centroid + t * (point - centroid), kept within the ranges. */
  private static double[] along(double[] centroid, double[] point, double t) {
    double[] out = new double[centroid.length];
    for (int i = 0; i < out.length; i++) {
      out[i] = Math.max(0, Math.min(1, centroid[i] + t * (point[i] - centroid[i])));
    }
    return out;
  }

  private static int argMin(double[] f) {
    int b = 0;
    for (int i = 1; i < f.length; i++) {
      if (f[i] < f[b]) {
        b = i;
      }
    }
    return b;
  }

  static double[] toUnit(double[] values) {
    ProfileParameter[] ps = ProfileParameter.values();
    double[] u = new double[ps.length];
    for (ProfileParameter p : ps) {
      double v = Math.max(p.min, Math.min(p.max, values[p.ordinal()]));
      u[p.ordinal()] = Math.log(v / p.min) / Math.log(p.max / p.min);
    }
    return u;
  }

  static SimulatorProfile fromUnit(double[] u) {
    ProfileParameter[] ps = ProfileParameter.values();
    double[] v = new double[ps.length];
    for (ProfileParameter p : ps) {
      v[p.ordinal()] = p.min * Math.exp(u[p.ordinal()] * Math.log(p.max / p.min));
    }
    return ProfileParameter.profile(v);
  }

  /** The parameters, one per line, for a report. */
  public static String describe(SimulatorProfile p) {
    StringBuilder sb = new StringBuilder();
    for (ProfileParameter f : ProfileParameter.values()) {
      sb.append(String.format(Locale.ROOT, "%-26s %12.6g%n", f.key, f.of(p)));
    }
    return sb.toString();
  }

  static double positive(double v, double otherwise) {
    return Double.isNaN(v) || v <= 0 ? otherwise : v;
  }
}
