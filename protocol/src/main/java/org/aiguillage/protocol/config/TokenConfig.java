package org.aiguillage.protocol.config;

import org.aiguillage.protocol.RoutingMode;

/**
 * An API key from the YAML {@code tokens} section. The secret is hashed as soon as the node reads it.
 *
 * @param priority 1 (lowest) to 5 (highest); the key's ceiling, a request may only lower it
 * @param threshold the most tickets this key may have queued at once, per model
 */
public record TokenConfig(
    String token,
    String name,
    String organization,
    Integer priority,
    Integer threshold,
    RoutingMode defaultRoutingMode) {

  public static final int DEFAULT_PRIORITY = 3;
  public static final int DEFAULT_THRESHOLD = 1000;

  public TokenConfig {
    priority = priority == null ? DEFAULT_PRIORITY : priority;
    threshold = threshold == null ? DEFAULT_THRESHOLD : threshold;
    defaultRoutingMode = defaultRoutingMode == null ? RoutingMode.ANY : defaultRoutingMode;
  }

  @Override
  public String toString() {
    // Never print the secret.
    return "TokenConfig[name=" + name + ", organization=" + organization + ", priority=" + priority + "]";
  }
}
