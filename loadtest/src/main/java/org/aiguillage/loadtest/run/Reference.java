package org.aiguillage.loadtest.run;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Published figures to hold a sweep against, one row per concurrency: a real server's benchmark table (the seed's
 * H200 scenario A, say) next to what a simulator profile gives. Read from a CSV with a header line:
 *
 * <pre>
 * concurrency,output_tokens_per_s,ttft_ms,itl_ms
 * 1,120.5,45.0,8.1
 * </pre>
 *
 * The TTFT and ITL are compared with the sweep's medians. An empty cell is a figure the table does not give.
 */
public record Reference(String name, List<Row> rows) {

  /** How far ours may be from the reference, either way: the issue's ±25 %. */
  public static final double TOLERANCE = 0.25;

  /** A figure that is not given is {@code NaN}. */
  public record Row(int concurrency, double outputTokensPerS, double ttftMs, double itlMs) {}

  /** One figure of ours next to the reference's. */
  public record Comparison(int concurrency, String figure, double ours, double reference) {
    /** Ours relative to the reference: +0.1 is 10 % above. */
    public double deviation() {
      return ours / reference - 1;
    }

    public boolean within() {
      return Math.abs(deviation()) <= TOLERANCE;
    }
  }

  static final List<String> COLUMNS = List.of("concurrency", "output_tokens_per_s", "ttft_ms", "itl_ms");

  public static Reference parseCsv(String name, String text) {
    List<String> lines = text.lines().map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
    if (lines.isEmpty()) {
      throw new IllegalArgumentException(name + ": no header line (" + String.join(",", COLUMNS) + ")");
    }
    List<String> header = Arrays.stream(lines.get(0).split(",", -1)).map(String::strip).toList();
    int[] at = COLUMNS.stream().mapToInt(header::indexOf).toArray();
    if (at[0] < 0) {
      throw new IllegalArgumentException(name + ": the header has no 'concurrency' column: " + lines.get(0));
    }
    List<Row> rows = new ArrayList<>();
    for (int i = 1; i < lines.size(); i++) {
      String[] cells = lines.get(i).split(",", -1);
      try {
        rows.add(new Row(Integer.parseInt(cell(cells, at[0])), number(cells, at[1]), number(cells, at[2]),
            number(cells, at[3])));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(name + ", line " + (i + 1) + ": not a number: " + lines.get(i));
      }
    }
    return new Reference(name, List.copyOf(rows));
  }

  /** Each figure the reference gives at a concurrency the sweep measured, next to ours. */
  public List<Comparison> compare(List<Summary> sweep) {
    List<Comparison> out = new ArrayList<>();
    for (Row row : rows) {
      Optional<Summary> ours = sweep.stream()
          .filter(s -> s.group().equals("all") && s.concurrency() == row.concurrency()).findFirst();
      if (ours.isEmpty()) {
        continue;
      }
      Summary s = ours.get();
      add(out, row.concurrency(), "output tokens/s", s.outputTokensPerS(), row.outputTokensPerS());
      add(out, row.concurrency(), "TTFT p50 (ms)", s.ttftMs().p50(), row.ttftMs());
      add(out, row.concurrency(), "ITL p50 (ms)", s.itlMs().p50(), row.itlMs());
    }
    return out;
  }

  /** The report's section: ours / the reference's (deviation) per figure, one column per concurrency. */
  public String markdown(List<Summary> sweep) {
    List<Comparison> comparisons = compare(sweep);
    StringBuilder sb = new StringBuilder("\n## Against the reference (").append(name).append(")\n\n");
    if (comparisons.isEmpty()) {
      return sb.append("The reference gives no figure at the concurrencies measured.\n").toString();
    }
    List<Integer> levels = comparisons.stream().map(Comparison::concurrency).distinct().sorted().toList();
    sb.append("| ours / reference |");
    levels.forEach(l -> sb.append(' ').append(l).append(" |"));
    sb.append("\n|---|");
    levels.forEach(l -> sb.append("---:|"));
    sb.append('\n');
    for (String figure : List.of("output tokens/s", "TTFT p50 (ms)", "ITL p50 (ms)")) {
      if (comparisons.stream().noneMatch(c -> c.figure().equals(figure))) {
        continue;
      }
      sb.append("| ").append(figure).append(" |");
      for (int level : levels) {
        sb.append(' ').append(comparisons.stream()
            .filter(c -> c.figure().equals(figure) && c.concurrency() == level).findFirst()
            .map(c -> Reports.num(c.ours()) + " / " + Reports.num(c.reference()) + (Double.isNaN(c.ours())
                ? " (nothing measured **out**)"
                : " (" + String.format(Locale.ROOT, "%+d %%", Math.round(100 * c.deviation()))
                    + (c.within() ? "" : " **out**") + ")"))
            .orElse("-")).append(" |");
      }
      sb.append('\n');
    }
    long out = comparisons.stream().filter(c -> !c.within()).count();
    sb.append('\n').append(out == 0
        ? "Every figure is within ±" + Math.round(TOLERANCE * 100) + " % of the reference."
        : out + " of " + comparisons.size() + " figures are more than ±" + Math.round(TOLERANCE * 100)
            + " % from the reference.").append('\n');
    return sb.toString();
  }

  private static void add(List<Comparison> out, int concurrency, String figure, double ours, double reference) {
    if (!Double.isNaN(reference) && reference > 0) {
      out.add(new Comparison(concurrency, figure, ours, reference));
    }
  }

  private static String cell(String[] cells, int at) {
    return at < 0 || at >= cells.length ? "" : cells[at].strip();
  }

  private static double number(String[] cells, int at) {
    String c = cell(cells, at);
    return c.isEmpty() ? Double.NaN : Double.parseDouble(c);
  }
}
