package org.aiguillage.protocol.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import org.aiguillage.protocol.RoutingMode;

/**
 * An API key from the YAML {@code tokens} section, or the body of {@code POST /admin/keys} (same field names; there
 * the server makes the secret). The secret ({@code token} in the YAML) is hashed as soon as the node reads it.
 *
 * @param priority 1 (lowest) to 5 (highest); the key's ceiling, a request may only lower it
 * @param threshold the most tickets this key may have queued at once, per model
 * @param models the models the key may use; empty: all
 * @param requestsPerMinute requests admitted in any 60 s window; null: no limit
 * @param tokensPerMinute prompt plus completion tokens in any 60 s window; null: no limit
 * @param tokenBudget prompt plus completion tokens per {@code budgetPeriod}; null: no budget
 * @param budgetPeriod {@code day}, {@code week} or {@code month} (UTC calendar periods)
 * @param expiresAt ISO-8601 instant or date after which the key stops working; null: never
 * @param audioSecondsPerDay seconds of audio its speech-to-text calls may send per UTC day; null: no budget
 * @param adminOf the organisation this key administers through the admin API (its keys, servers, usage, audit);
 *     null: an API key only. Only the global admin makes such keys.
 */
public record KeyConfig(
    @JsonProperty("token") String secret,
    String name,
    String organization,
    Integer priority,
    Integer threshold,
    RoutingMode defaultRoutingMode,
    List<String> models,
    Integer requestsPerMinute,
    Long tokensPerMinute,
    Long tokenBudget,
    String budgetPeriod,
    String expiresAt,
    Double audioSecondsPerDay,
    String adminOf) {

  public static final int DEFAULT_PRIORITY = 3;
  public static final int DEFAULT_THRESHOLD = 1000;

  public KeyConfig {
    priority = priority == null ? DEFAULT_PRIORITY : priority;
    threshold = threshold == null ? DEFAULT_THRESHOLD : threshold;
    defaultRoutingMode = defaultRoutingMode == null ? RoutingMode.ANY : defaultRoutingMode;
    models = models == null ? List.of() : List.copyOf(models);
    budgetPeriod = budgetPeriod == null ? "month" : budgetPeriod;
  }

  public KeyConfig(String secret, String name, String organization, Integer priority, Integer threshold,
      RoutingMode defaultRoutingMode) {
    this(secret, name, organization, priority, threshold, defaultRoutingMode, null, null, null, null, null, null,
        null, null);
  }

  public KeyConfig(String secret, String name, String organization, Integer priority, Integer threshold,
      RoutingMode defaultRoutingMode, List<String> models, Integer requestsPerMinute, Long tokensPerMinute,
      Long tokenBudget, String budgetPeriod, String expiresAt) {
    this(secret, name, organization, priority, threshold, defaultRoutingMode, models, requestsPerMinute,
        tokensPerMinute, tokenBudget, budgetPeriod, expiresAt, null, null);
  }

  @Override
  public String toString() {
    // Never print the secret.
    return "KeyConfig[name=" + name + ", organization=" + organization + ", priority=" + priority + "]";
  }
}
