package org.aiguillage.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import kamon.Kamon;
import kamon.prometheus.PrometheusReporter;
import kamon.status.Status;
import kamon.tag.Tag;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Kamon with its Prometheus reporter, served at {@code /metrics} on the node's own HTTP port (not Kamon's embedded
 * server on 9095), so several nodes can share a host. Kamon is global to the JVM: the first node to start sets it up.
 */
final class NodeMetrics {

  private static boolean started;

  private NodeMetrics() {}

  static synchronized void start() {
    if (started) {
      return;
    }
    Config config = ConfigFactory.parseString("""
        kamon.metric.tick-interval = 1 second
        kamon.prometheus.start-embedded-http-server = no
        kamon.prometheus.buckets.time-buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
          5, 10, 30, 60, 120, 300]
        """).withFallback(ConfigFactory.defaultReference());
    // init (not registerModule) also starts the ticker that hands snapshots to the reporters.
    Kamon.init(config);
    started = true;
  }

  /** Kamon's metrics (the node's own), then the process's (heap, collections, threads, descriptors, memory). */
  static String scrape() {
    return withoutGoneGauges(PrometheusReporter.latestScrapeData().getOrElse(() -> ""), liveGauges())
        + JvmMetrics.scrape();
  }

  /**
   * The reporter's text without the gauges whose instruments were removed. Kamon's Prometheus reporter keeps every
   * gauge's last value for years once seen: a queue that moved to another node, a removed server's agent, would go
   * on saying their last figures here (a model with no server, for ever). The series of a gauge metric are kept
   * only while Kamon still holds an instrument with their labels.
   *
   * @param live each gauge metric's name, and the label sets of its instruments
   */
  static String withoutGoneGauges(String text, Map<String, Set<Map<String, String>>> live) {
    StringBuilder out = new StringBuilder(text.length());
    for (String line : text.split("\n", -1)) {
      if (!line.isEmpty() && line.charAt(0) != '#') {
        int brace = line.indexOf('{');
        int space = line.indexOf(' ');
        int nameEnd = brace >= 0 && (space < 0 || brace < space) ? brace : space;
        Set<Map<String, String>> instruments = nameEnd > 0 ? live.get(line.substring(0, nameEnd)) : null;
        if (instruments != null && !instruments.contains(labels(line, nameEnd))) {
          continue;
        }
      }
      out.append(line).append('\n');
    }
    return out.length() > 0 ? out.substring(0, out.length() - 1) : "";
  }

  private static Map<String, Set<Map<String, String>>> liveGauges() {
    Map<String, Set<Map<String, String>>> live = new HashMap<>();
    for (Status.Metric metric : CollectionConverters.asJava(Kamon.status().metricRegistry().metrics())) {
      if (metric.instrumentType().name().equals("gauge")) {
        Set<Map<String, String>> instruments = live.computeIfAbsent(metric.name(), n -> new HashSet<>());
        for (Status.Instrument instrument : CollectionConverters.asJava(metric.instruments())) {
          Map<String, String> labels = new HashMap<>();
          for (Tag tag : CollectionConverters.asJava(instrument.tags().all())) {
            labels.put(tag.key(), String.valueOf(Tag.unwrapValue(tag)));
          }
          instruments.add(labels);
        }
      }
    }
    return live;
  }

  /** The labels of a sample line, {@code name{k="v",...} value}, unescaped; empty when it has none. */
  private static Map<String, String> labels(String line, int nameEnd) {
    Map<String, String> labels = new HashMap<>();
    if (line.charAt(nameEnd) != '{') {
      return labels;
    }
    int i = nameEnd + 1;
    while (i < line.length() && line.charAt(i) != '}') {
      int eq = line.indexOf('=', i);
      String key = line.substring(i, eq);
      StringBuilder value = new StringBuilder();
      int j = eq + 2; // past ="
      while (line.charAt(j) != '"') {
        char c = line.charAt(j++);
        if (c == '\\') {
          char next = line.charAt(j++);
          value.append(next == 'n' ? '\n' : next);
        } else {
          value.append(c);
        }
      }
      labels.put(key, value.toString());
      i = j + 1;
      if (i < line.length() && line.charAt(i) == ',') {
        i++;
      }
    }
    return labels;
  }
}
