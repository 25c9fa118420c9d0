package org.aiguillage.node;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.aiguillage.protocol.config.AdminSettings;
import org.aiguillage.protocol.config.ConfigException;
import org.aiguillage.protocol.config.FederationConfig;
import org.aiguillage.protocol.config.FederationConfigParser;

/**
 * Reads the node's YAML file and applies the environment's overrides ({@code AIGUILLAGE_HTTP_PORT}, {@code
 * AIGUILLAGE_ADMIN_TOKEN}, {@code AIGUILLAGE_CLUSTER_HOST}: the pod's address in Kubernetes).
 */
final class NodeConfigLoader {

  private NodeConfigLoader() {}

  static FederationConfig load(Path file, Map<String, String> env) {
    String yaml;
    try {
      yaml = Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new ConfigException("cannot read the configuration file " + file + ": " + e.getMessage());
    }
    return withEnvironment(FederationConfigParser.parse(yaml), env);
  }

  static FederationConfig withEnvironment(FederationConfig config, Map<String, String> env) {
    String adminToken = env.get("AIGUILLAGE_ADMIN_TOKEN");
    if (adminToken != null && !adminToken.isBlank()) {
      config = config.withAdmin(new AdminSettings(adminToken));
    }
    String clusterHost = env.get("AIGUILLAGE_CLUSTER_HOST");
    if (clusterHost != null && !clusterHost.isBlank()) {
      config = config.withCluster(config.cluster().withHostAndPort(clusterHost.trim(), config.cluster().port()));
    }
    String port = env.get("AIGUILLAGE_HTTP_PORT");
    if (port == null || port.isBlank()) {
      return config;
    }
    try {
      int p = Integer.parseInt(port.trim());
      if (p < 0 || p > 65535) {
        throw new NumberFormatException();
      }
      return config.withHttp(config.http().withPort(p));
    } catch (NumberFormatException e) {
      throw new ConfigException("malformed value for 'AIGUILLAGE_HTTP_PORT': '" + port + "' is not a TCP port");
    }
  }
}
