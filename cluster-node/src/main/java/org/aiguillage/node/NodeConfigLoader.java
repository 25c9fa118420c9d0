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
    return withEnvironment(FederationConfigParser.parse(substitute(yaml, env)), env);
  }

  private static final java.util.regex.Pattern PLACEHOLDER = java.util.regex.Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)}");

  /**
   * {@code ${NAME}} in the file becomes the environment variable NAME, so secrets (server tokens, the database
   * password, the admin token) can come from Kubernetes Secrets and stay out of the ConfigMap. A variable that
   * is not set stops the start, naming it; its value is never printed.
   */
  static String substitute(String yaml, Map<String, String> env) {
    java.util.regex.Matcher m = PLACEHOLDER.matcher(yaml);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      String value = env.get(m.group(1));
      if (value == null) {
        throw new ConfigException("the configuration uses ${" + m.group(1) + "}, and that environment variable is "
            + "not set");
      }
      m.appendReplacement(out, java.util.regex.Matcher.quoteReplacement(value));
    }
    m.appendTail(out);
    return out.toString();
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
