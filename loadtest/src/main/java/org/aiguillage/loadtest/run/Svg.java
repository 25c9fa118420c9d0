package org.aiguillage.loadtest.run;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Small, dependency-free SVG charts for the reports. */
final class Svg {

  private static final String[] COLOURS = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"};
  private static final int W = 640;
  private static final int H = 360;
  private static final int LEFT = 70;
  private static final int RIGHT = 20;
  private static final int TOP = 40;
  private static final int BOTTOM = 50;

  private Svg() {}

  /** One line per series over categorical x positions. */
  static String lineChart(String title, String xLabel, String yLabel, List<String> xs,
      Map<String, List<Double>> series) {
    double max = series.values().stream().flatMap(List::stream).filter(d -> !Double.isNaN(d))
        .mapToDouble(Double::doubleValue).max().orElse(1);
    double top = niceCeiling(max);
    StringBuilder sb = frame(title, xLabel, yLabel, top);
    int n = xs.size();
    for (int i = 0; i < n; i++) {
      double x = xAt(i, n);
      sb.append(text(x, H - BOTTOM + 18, xs.get(i), "middle"));
    }
    int c = 0;
    for (Map.Entry<String, List<Double>> s : series.entrySet()) {
      String colour = COLOURS[c % COLOURS.length];
      StringBuilder points = new StringBuilder();
      for (int i = 0; i < s.getValue().size(); i++) {
        double v = s.getValue().get(i);
        if (!Double.isNaN(v)) {
          points.append(fmt(xAt(i, n))).append(',').append(fmt(yAt(v, top))).append(' ');
          sb.append("<circle cx=\"").append(fmt(xAt(i, n))).append("\" cy=\"").append(fmt(yAt(v, top)))
              .append("\" r=\"3\" fill=\"").append(colour).append("\"/>\n");
        }
      }
      sb.append("<polyline fill=\"none\" stroke=\"").append(colour).append("\" stroke-width=\"2\" points=\"")
          .append(points.toString().strip()).append("\"/>\n");
      sb.append(text(W - RIGHT - 150, TOP + 16 * c + 4, "\u25A0 " + s.getKey(), "start")
          .replace("<text ", "<text fill=\"" + colour + "\" "));
      c++;
    }
    return sb.append("</svg>\n").toString();
  }

  /** A histogram of {@code values} in {@code bins} equal bins. */
  static String histogram(String title, String xLabel, List<Double> values, int bins) {
    double max = values.stream().mapToDouble(Double::doubleValue).max().orElse(1);
    double width = niceCeiling(max) / bins;
    int[] counts = new int[bins];
    for (double v : values) {
      counts[Math.min(bins - 1, (int) (v / width))]++;
    }
    int most = 1;
    for (int count : counts) {
      most = Math.max(most, count);
    }
    double top = niceCeiling(most);
    StringBuilder sb = frame(title, xLabel, "requests", top);
    double barWidth = (W - LEFT - RIGHT) / (double) bins;
    for (int i = 0; i < bins; i++) {
      double y = yAt(counts[i], top);
      sb.append("<rect x=\"").append(fmt(LEFT + i * barWidth + 1)).append("\" y=\"").append(fmt(y))
          .append("\" width=\"").append(fmt(barWidth - 2)).append("\" height=\"").append(fmt(H - BOTTOM - y))
          .append("\" fill=\"").append(COLOURS[0]).append("\"/>\n");
      if (i % Math.max(1, bins / 6) == 0) {
        sb.append(text(LEFT + i * barWidth, H - BOTTOM + 18, fmt(i * width), "middle"));
      }
    }
    return sb.append("</svg>\n").toString();
  }

  private static StringBuilder frame(String title, String xLabel, String yLabel, double top) {
    StringBuilder sb = new StringBuilder();
    sb.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(W).append("\" height=\"").append(H)
        .append("\" font-family=\"sans-serif\" font-size=\"12\">\n");
    sb.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
    sb.append(text(W / 2.0, 22, title, "middle").replace("<text ", "<text font-size=\"15\" "));
    sb.append("<line x1=\"").append(LEFT).append("\" y1=\"").append(H - BOTTOM).append("\" x2=\"").append(W - RIGHT)
        .append("\" y2=\"").append(H - BOTTOM).append("\" stroke=\"black\"/>\n");
    sb.append("<line x1=\"").append(LEFT).append("\" y1=\"").append(TOP).append("\" x2=\"").append(LEFT)
        .append("\" y2=\"").append(H - BOTTOM).append("\" stroke=\"black\"/>\n");
    for (int i = 0; i <= 4; i++) {
      double v = top * i / 4;
      double y = yAt(v, top);
      sb.append("<line x1=\"").append(LEFT).append("\" y1=\"").append(fmt(y)).append("\" x2=\"").append(W - RIGHT)
          .append("\" y2=\"").append(fmt(y)).append("\" stroke=\"#ddd\"/>\n");
      sb.append(text(LEFT - 6, y + 4, fmt(v), "end"));
    }
    sb.append(text(W / 2.0, H - 12, xLabel, "middle"));
    sb.append("<text x=\"16\" y=\"").append(H / 2).append("\" text-anchor=\"middle\" transform=\"rotate(-90 16 ")
        .append(H / 2).append(")\">").append(escape(yLabel)).append("</text>\n");
    return sb;
  }

  private static double xAt(int i, int n) {
    return n == 1 ? (LEFT + W - RIGHT) / 2.0 : LEFT + 20 + (W - LEFT - RIGHT - 40) * i / (double) (n - 1);
  }

  private static double yAt(double v, double top) {
    return H - BOTTOM - (H - TOP - BOTTOM) * v / top;
  }

  private static double niceCeiling(double v) {
    if (v <= 0 || Double.isNaN(v)) {
      return 1;
    }
    double magnitude = Math.pow(10, Math.floor(Math.log10(v)));
    for (double step : new double[] {1, 2, 2.5, 5, 10}) {
      if (step * magnitude >= v) {
        return step * magnitude;
      }
    }
    return 10 * magnitude;
  }

  private static String text(double x, double y, String s, String anchor) {
    return "<text x=\"" + fmt(x) + "\" y=\"" + fmt(y) + "\" text-anchor=\"" + anchor + "\">" + escape(s)
        + "</text>\n";
  }

  private static String escape(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
  }

  static String fmt(double v) {
    if (v == Math.rint(v) && Math.abs(v) < 1e9) {
      return Long.toString((long) v);
    }
    return String.format(Locale.ROOT, "%.1f", v);
  }
}
