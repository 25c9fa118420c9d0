package org.aiguillage.loadtest.run;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Writes a run's reports: {@code results.json} (what was measured), {@code report.json} and {@code summary.csv}
 * (the figures), {@code requests.csv} (one row per request), {@code report.md} (a table laid out like the seed's,
 * one column per concurrency or key class, with the formulas), and SVG charts.
 */
public final class Reports {

  static final ObjectMapper JSON = new ObjectMapper()
      .registerModule(new Jdk8Module())
      .enable(SerializationFeature.INDENT_OUTPUT)
      .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);

  private Reports() {}

  /** The summaries of a run: one per concurrency level, then one per key class and level when there are several. */
  public static List<Summary> summaries(Results results) {
    List<Summary> out = new ArrayList<>();
    Map<Integer, List<RequestRecord>> byLevel = results.records().stream()
        .collect(Collectors.groupingBy(RequestRecord::concurrency, TreeMap::new, Collectors.toList()));
    TreeSet<String> labels = results.records().stream().map(RequestRecord::label)
        .collect(Collectors.toCollection(TreeSet::new));
    byLevel.forEach((level, records) -> {
      out.add(LoadMetrics.summarize("all", level, records, results.ttftSloMs(), results.itlSloMs()));
      if (labels.size() > 1) {
        for (String label : labels) {
          List<RequestRecord> mine = records.stream().filter(r -> r.label().equals(label)).toList();
          out.add(LoadMetrics.summarize(label, level, mine, results.ttftSloMs(), results.itlSloMs()));
        }
      }
    });
    return out;
  }

  public static void write(Results results, Path dir) throws IOException {
    write(results, dir, Optional.empty());
  }

  /** @param reference published figures the report puts ours next to */
  public static void write(Results results, Path dir, Optional<Reference> reference) throws IOException {
    Files.createDirectories(dir);
    JSON.writeValue(dir.resolve("results.json").toFile(), results);
    render(results, dir, reference);
  }

  /** Renders every report from the results alone. */
  public static void render(Results results, Path dir) throws IOException {
    render(results, dir, Optional.empty());
  }

  /** Renders every report from the results and the reference alone. */
  public static void render(Results results, Path dir, Optional<Reference> reference) throws IOException {
    Files.createDirectories(dir);
    List<Summary> summaries = summaries(results);
    Map<String, Object> report = new LinkedHashMap<>();
    report.put("scenario", new TreeMap<>(results.scenario()));
    report.put("slo", Map.of("ttft_ms", results.ttftSloMs(), "itl_ms", results.itlSloMs()));
    report.put("formulas", LoadMetrics.FORMULAS.lines().map(l -> l.substring(2)).toList());
    report.put("summaries", summaries);
    reference.ifPresent(r -> report.put("reference", Map.of("name", r.name(), "tolerance", Reference.TOLERANCE,
        "comparisons", r.compare(summaries))));
    JSON.writeValue(dir.resolve("report.json").toFile(), report);
    write(dir.resolve("summary.csv"), summaryCsv(summaries));
    write(dir.resolve("requests.csv"), requestsCsv(results.records()));
    write(dir.resolve("report.md"), markdown(results, summaries)
        + reference.map(r -> r.markdown(summaries)).orElse(""));
    List<Summary> overall = summaries.stream().filter(s -> s.group().equals("all")).toList();
    List<String> levels = overall.stream().map(s -> levelName(s.concurrency())).toList();
    Map<String, List<Double>> throughput = new LinkedHashMap<>();
    throughput.put("output tokens/s", overall.stream().map(Summary::outputTokensPerS).toList());
    write(dir.resolve("throughput.svg"), Svg.lineChart("Output throughput", "concurrent users", "tokens/s",
        levels, throughput));
    Map<String, List<Double>> ttft = new LinkedHashMap<>();
    ttft.put("TTFT p50", overall.stream().map(s -> s.ttftMs().p50()).toList());
    ttft.put("TTFT p99", overall.stream().map(s -> s.ttftMs().p99()).toList());
    write(dir.resolve("ttft.svg"), Svg.lineChart("Time to first token", "concurrent users", "ms", levels, ttft));
    write(dir.resolve("ttft-distribution.svg"), Svg.histogram("TTFT distribution (all requests)", "TTFT (ms)",
        results.records().stream().filter(RequestRecord::ok).map(RequestRecord::ttftMs).toList(), 30));
  }

  static String markdown(Results results, List<Summary> summaries) {
    StringBuilder sb = new StringBuilder();
    sb.append("# Load test report\n\n");
    sb.append("| scenario | |\n|---|---|\n");
    new TreeMap<>(results.scenario()).forEach((k, v) -> sb.append("| ").append(k).append(" | ").append(v)
        .append(" |\n"));
    sb.append('\n');
    boolean byClass = summaries.stream().anyMatch(s -> !s.group().equals("all"));
    List<Summary> columns = byClass ? summaries : summaries.stream().filter(s -> s.group().equals("all")).toList();
    sb.append("| Concurrency |");
    columns.forEach(s -> sb.append(' ').append(levelName(s.concurrency()))
        .append(byClass ? " " + s.group() : "").append(" |"));
    sb.append("\n|---|");
    columns.forEach(s -> sb.append("---:|"));
    sb.append('\n');
    row(sb, "Requests completed", columns, s -> s.completed() + "/" + s.requests());
    row(sb, "Output throughput (tok/s)", columns, s -> num(s.outputTokensPerS()));
    row(sb, "Output per user (tok/s)", columns, s -> num(s.outputTokensPerSPerUser()));
    row(sb, "Requests/s", columns, s -> num2(s.requestsPerS()));
    row(sb, "Goodput (req/s)", columns, s -> num2(s.goodputPerS()));
    row(sb, "TTFT p50 (ms)", columns, s -> num(s.ttftMs().p50()));
    row(sb, "TTFT p90 (ms)", columns, s -> num(s.ttftMs().p90()));
    row(sb, "TTFT p99 (ms)", columns, s -> num(s.ttftMs().p99()));
    row(sb, "ITL p50 (ms)", columns, s -> num(s.itlMs().p50()));
    row(sb, "ITL p90 (ms)", columns, s -> num(s.itlMs().p90()));
    row(sb, "ITL p99 (ms)", columns, s -> num(s.itlMs().p99()));
    row(sb, "TPOT p50 (ms)", columns, s -> num(s.tpotMs().p50()));
    row(sb, "E2E p50 (ms)", columns, s -> num(s.e2eMs().p50()));
    row(sb, "E2E p99 (ms)", columns, s -> num(s.e2eMs().p99()));
    row(sb, "Errors", columns, s -> s.errorsByStatus().isEmpty() ? "0" : s.errorsByStatus().entrySet().stream()
        .map(e -> e.getKey() + ": " + e.getValue()).collect(Collectors.joining(", ")));
    sb.append("\nSLO for goodput: TTFT <= ").append(num(results.ttftSloMs())).append(" ms and TPOT <= ")
        .append(num(results.itlSloMs())).append(" ms.\n\n## Definitions\n\n").append(LoadMetrics.FORMULAS)
        .append("\n\n![throughput](throughput.svg) ![ttft](ttft.svg) ![ttft distribution](ttft-distribution.svg)\n");
    return sb.toString();
  }

  private static void row(StringBuilder sb, String name, List<Summary> columns, Function<Summary, String> cell) {
    sb.append("| ").append(name).append(" |");
    columns.forEach(s -> sb.append(' ').append(cell.apply(s)).append(" |"));
    sb.append('\n');
  }

  static String summaryCsv(List<Summary> summaries) {
    StringBuilder sb = new StringBuilder("group,concurrency,requests,completed,duration_s,requests_per_s,"
        + "output_tokens_per_s,output_tokens_per_s_per_user,goodput_per_s,ttft_p50_ms,ttft_p90_ms,ttft_p99_ms,"
        + "itl_p50_ms,itl_p90_ms,itl_p99_ms,tpot_p50_ms,e2e_p50_ms,e2e_p90_ms,e2e_p99_ms,errors\n");
    for (Summary s : summaries) {
      sb.append(String.join(",", s.group(), Integer.toString(s.concurrency()), Integer.toString(s.requests()),
          Integer.toString(s.completed()), num2(s.durationS()), num2(s.requestsPerS()), num2(s.outputTokensPerS()),
          num2(s.outputTokensPerSPerUser()), num2(s.goodputPerS()), num2(s.ttftMs().p50()), num2(s.ttftMs().p90()),
          num2(s.ttftMs().p99()), num2(s.itlMs().p50()), num2(s.itlMs().p90()), num2(s.itlMs().p99()),
          num2(s.tpotMs().p50()), num2(s.e2eMs().p50()), num2(s.e2eMs().p90()), num2(s.e2eMs().p99()),
          s.errorsByStatus().entrySet().stream().map(e -> e.getKey() + ":" + e.getValue())
              .collect(Collectors.joining(" ")))).append('\n');
    }
    return sb.toString();
  }

  static String requestsCsv(List<RequestRecord> records) {
    StringBuilder sb = new StringBuilder("label,concurrency,start_ms,ttft_ms,e2e_ms,tpot_ms,prompt_tokens,"
        + "output_tokens,status,error\n");
    for (RequestRecord r : records) {
      sb.append(String.join(",", r.label(), Integer.toString(r.concurrency()), num2(r.startMs()),
          r.ok() ? num2(r.ttftMs()) : "", num2(r.e2eMs()), r.ok() ? num2(r.tpotMs()) : "",
          Integer.toString(r.promptTokens()), Integer.toString(r.outputTokens()), Integer.toString(r.status()),
          '"' + r.error().replace("\"", "'") + '"')).append('\n');
    }
    return sb.toString();
  }

  static String levelName(int concurrency) {
    return concurrency == 0 ? "open loop" : Integer.toString(concurrency);
  }

  static String num(double v) {
    return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.1f", v);
  }

  static String num2(double v) {
    return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.2f", v);
  }

  private static void write(Path file, String text) throws IOException {
    Files.writeString(file, text, StandardCharsets.UTF_8);
  }

  public static Results read(Path resultsJson) throws IOException {
    return JSON.readValue(resultsJson.toFile(), Results.class);
  }
}
