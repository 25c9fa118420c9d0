package org.aiguillage.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.Map;
import java.util.Optional;
import org.aiguillage.protocol.config.FederationConfig;
import org.aiguillage.protocol.config.HttpSettings;
import org.aiguillage.protocol.config.ModelConfig;
import org.aiguillage.protocol.config.ServerConfig;

/**
 * How many connections a node holds open, from its file's fleet: every open stream holds two (its client's, and its
 * agent's to the server), and the process may open only so many files. Fixed when the node starts (Pekko binds its
 * server once); docs/configuration.md says how to size a node for its streams.
 */
final class EdgeLimits {

  /** Files a node opens besides its connections: jars, the journal, the cluster's connections, logs. */
  static final int OTHER_FILES = 512;

  private EdgeLimits() {}

  /** The calls the servers in this node's file take at once: the sum of their {@code max_parallel_requests}. */
  static int serverConnections(FederationConfig config) {
    long sum = 0;
    for (ModelConfig model : config.models()) {
      for (ServerConfig server : model.vllmServers()) {
        sum += server.maxParallelRequests();
      }
    }
    return (int) Math.min(Integer.MAX_VALUE / 2, sum);
  }

  /** The most client connections the edge accepts at once: {@code http.max_connections}, else the fleet's and spare. */
  static int maxConnections(FederationConfig config) {
    Integer set = config.http().maxConnections();
    return set != null ? set : HttpSettings.DEFAULT_SPARE_CONNECTIONS + serverConnections(config);
  }

  /** Pekko's side of it: the HTTP server's connection ceiling. */
  static Config pekkoConfig(FederationConfig config) {
    return ConfigFactory.parseMap(Map.of("pekko.http.server.max-connections", maxConnections(config)));
  }

  /**
   * Why this process cannot hold what its configuration lets in, if it cannot: the files it may open (its
   * {@code ulimit -n}) against a connection for each client, one for each server call, and the rest.
   *
   * @param clients the edge's connection ceiling as Pekko has it (a system property may have set it)
   * @param servers the calls this node's agents may hold on their servers (0 on a node without agents)
   * @param maxFiles the process's limit on open files; negative when unknown
   */
  static Optional<String> fileLimitWarning(long clients, long servers, long maxFiles) {
    long needed = clients + servers + OTHER_FILES;
    if (maxFiles < 0 || maxFiles >= needed) {
      return Optional.empty();
    }
    long streams = Math.max(0, (maxFiles - OTHER_FILES) / (servers > 0 ? 2 : 1));
    return Optional.of("this process may open " + maxFiles + " files (ulimit -n), and its configuration lets in "
        + clients + " client connections and " + servers + " server calls (" + needed + " files with the rest): "
        + "past about " + streams + " open streams, new connections will fail. Raise the limit (LimitNOFILE, "
        + "the container runtime's nofile) or lower http.max_connections");
  }

  /** The process's limit on open files, or -1 where the JVM does not tell it. */
  static long processFileLimit() {
    java.lang.management.OperatingSystemMXBean os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
    return os instanceof com.sun.management.UnixOperatingSystemMXBean unix ? unix.getMaxFileDescriptorCount() : -1;
  }
}
