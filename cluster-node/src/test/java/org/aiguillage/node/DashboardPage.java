package org.aiguillage.node;

import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * A Grafana dashboard rendered as a plain HTML page from its JSON: its panels on Grafana's 24-column grid, each a
 * table of the series its queries returned (legend, labels, value), with a bar per value. No Grafana needed to see
 * what the queries give, and a page a headless browser can photograph.
 */
final class DashboardPage {

  /** One series of an instant query's answer. */
  record Series(Map<String, String> labels, double value) {}

  /** One query of a panel and what Prometheus answered: the series, or the error. */
  record Query(String expr, String legendFormat, List<Series> series, String error) {}

  /** A panel, or a row (a heading across the grid, no queries). */
  record Panel(String title, String description, String unit, int width, boolean row, List<Query> queries) {}

  private static final Pattern ORDERED = Pattern.compile("\\s*(sort|sort_desc|topk|bottomk)\\s*\\(");
  private static final Pattern LEGEND_LABEL = Pattern.compile("\\{\\{\\s*([A-Za-z_][A-Za-z0-9_]*)\\s*}}");

  private DashboardPage() {}

  static String html(String title, String description, List<Panel> panels, Instant at) {
    StringBuilder out = new StringBuilder(16_384);
    out.append("""
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>%s</title>
        <style>
          body { background: #111217; color: #ccccdc; font: 13px/1.4 system-ui, sans-serif; margin: 16px; }
          h1 { font-size: 20px; margin: 0 0 4px; color: #fff; }
          .meta { color: #8e8e9e; margin-bottom: 12px; }
          .grid { display: grid; grid-template-columns: repeat(24, 1fr); gap: 8px; }
          .row { grid-column: span 24; font-size: 15px; color: #fff; margin-top: 8px;
                 border-bottom: 1px solid #2c3235; }
          .panel { background: #181b1f; border: 1px solid #2c3235; border-radius: 3px; padding: 8px;
                   overflow: hidden; }
          .panel h2 { font-size: 13px; margin: 0 0 2px; color: #fff; }
          .panel .desc { color: #8e8e9e; font-size: 11px; margin: 0 0 6px; }
          code { display: block; color: #6e9fff; font-size: 10.5px; word-break: break-all; margin: 4px 0; }
          table { border-collapse: collapse; width: 100%%; font-size: 11.5px; }
          td { padding: 1px 4px; border-top: 1px solid #22252b; vertical-align: top; }
          td.v { text-align: right; white-space: nowrap; width: 1%%; color: #fff; }
          td.l { color: #8e8e9e; font-size: 10.5px; }
          .bar { height: 4px; background: #73bf69; margin-top: 1px; }
          .none, .error { color: #f2495c; }
        </style></head><body>
        """.formatted(escape(title)));
    out.append("<h1>").append(escape(title)).append("</h1>\n<div class=\"meta\">").append(escape(description))
        .append(" Instant queries to Prometheus at ").append(at).append(".</div>\n<div class=\"grid\">\n");
    for (Panel panel : panels) {
      if (panel.row()) {
        out.append("<div class=\"row\">").append(escape(panel.title())).append("</div>\n");
        continue;
      }
      out.append("<div class=\"panel\" style=\"grid-column: span ").append(Math.max(1, Math.min(24, panel.width())))
          .append("\"><h2>").append(escape(panel.title())).append("</h2><p class=\"desc\">")
          .append(escape(panel.description())).append("</p>\n");
      double max = panel.queries().stream().flatMap(q -> q.series().stream()).mapToDouble(Series::value)
          .filter(v -> Double.isFinite(v) && v > 0).max().orElse(0);
      for (Query query : panel.queries()) {
        out.append("<code>").append(escape(query.expr())).append("</code>\n<table>\n");
        if (query.error() != null) {
          out.append("<tr><td class=\"error\">").append(escape(query.error())).append("</td></tr>\n");
        } else if (query.series().isEmpty()) {
          out.append("<tr><td class=\"none\">no data</td></tr>\n");
        }
        if (query.legendFormat() == null || query.legendFormat().isBlank()) {
          labelColumns(out, query, panel.unit());
        } else {
          // Prometheus's order, where the query sets it; otherwise by legend, as a reader looks for a series.
          List<Series> series = query.series();
          if (!ORDERED.matcher(query.expr()).lookingAt()) {
            series = series.stream().sorted(Comparator.comparing(s -> legend(query.legendFormat(), s.labels())))
                .toList();
          }
          for (Series s : series) {
            double share = max > 0 && Double.isFinite(s.value()) && s.value() > 0 ? s.value() / max : 0;
            out.append("<tr><td>").append(escape(legend(query.legendFormat(), s.labels())))
                .append("<div class=\"bar\" style=\"width: ")
                .append(String.format(Locale.ROOT, "%.1f", share * 100)).append("%\"></div></td><td class=\"l\">")
                .append(escape(labels(s.labels()))).append("</td><td class=\"v\">")
                .append(escape(format(s.value(), panel.unit()))).append("</td></tr>\n");
          }
        }
        out.append("</table>\n");
      }
      out.append("</div>\n");
    }
    return out.append("</div></body></html>\n").toString();
  }

  /** A query without a legend, as Grafana's table panel shows it: a column per label, then the value. */
  private static void labelColumns(StringBuilder out, Query query, String unit) {
    Set<String> columns = new TreeSet<>();
    query.series().forEach(s -> columns.addAll(s.labels().keySet()));
    columns.removeAll(Set.of("__name__", "job"));
    if (query.series().isEmpty()) {
      return;
    }
    out.append("<tr>");
    columns.forEach(c -> out.append("<td class=\"l\">").append(escape(c)).append("</td>"));
    out.append("<td class=\"l\"></td></tr>\n");
    for (Series s : query.series()) {
      out.append("<tr>");
      columns.forEach(c -> out.append("<td>").append(escape(s.labels().getOrDefault(c, ""))).append("</td>"));
      out.append("<td class=\"v\">").append(escape(format(s.value(), unit))).append("</td></tr>\n");
    }
  }

  /** The series' name as Grafana's legend would show it: {@code {{label}}} replaced by its value. */
  static String legend(String format, Map<String, String> labels) {
    if (format == null || format.isBlank()) {
      return labels(labels);
    }
    Matcher m = LEGEND_LABEL.matcher(format);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      m.appendReplacement(out, Matcher.quoteReplacement(labels.getOrDefault(m.group(1), "")));
    }
    return m.appendTail(out).toString().trim();
  }

  private static String labels(Map<String, String> labels) {
    return labels.entrySet().stream().sorted(Map.Entry.comparingByKey())
        .map(e -> e.getKey() + "=\"" + e.getValue() + "\"").collect(Collectors.joining(", ", "{", "}"));
  }

  /** A value in the panel's Grafana unit, as Grafana would write it, near enough. */
  static String format(double v, String unit) {
    if (Double.isNaN(v)) {
      return "NaN";
    }
    return switch (unit == null ? "" : unit) {
      case "s" -> v < 1 ? String.format(Locale.ROOT, "%.1f ms", v * 1000) : String.format(Locale.ROOT, "%.2f s", v);
      case "percentunit" -> String.format(Locale.ROOT, "%.1f %%", v * 100);
      case "bytes" -> String.format(Locale.ROOT, "%.1f MiB", v / (1024 * 1024));
      case "reqps" -> String.format(Locale.ROOT, "%.3f req/s", v);
      case "watth" -> String.format(Locale.ROOT, "%.4f Wh", v);
      case "watt" -> String.format(Locale.ROOT, "%.2f W", v);
      case "massg" -> String.format(Locale.ROOT, "%.4f g", v);
      default -> v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v)
          : String.format(Locale.ROOT, "%.3f", v);
    };
  }

  private static String escape(String s) {
    return s == null ? "" : s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
  }
}
