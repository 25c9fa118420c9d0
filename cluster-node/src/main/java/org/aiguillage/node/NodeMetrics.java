package org.aiguillage.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import kamon.Kamon;
import kamon.prometheus.PrometheusReporter;

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
    return PrometheusReporter.latestScrapeData().getOrElse(() -> "") + JvmMetrics.scrape();
  }
}
