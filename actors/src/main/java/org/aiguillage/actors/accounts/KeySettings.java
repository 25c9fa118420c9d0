package org.aiguillage.actors.accounts;

import java.time.Instant;
import java.util.List;
import org.aiguillage.protocol.CborSerializable;
import org.aiguillage.protocol.RoutingMode;
import org.aiguillage.protocol.config.FederationConfigParser;
import org.aiguillage.protocol.config.KeyConfig;

/**
 * What an operator sets on a key (everything but its secret). Nullable limits mean "no limit".
 *
 * @param expiresAtMillis epoch milliseconds after which the key stops working; null: never
 * @param audioSecondsPerDay seconds of audio its speech-to-text calls may send per UTC day; null: no budget
 * @param adminOf the organisation this key administers (null: none)
 */
public record KeySettings(
    String name,
    String organization,
    int priority,
    int threshold,
    List<String> models,
    Integer requestsPerMinute,
    Long tokensPerMinute,
    Long tokenBudget,
    String budgetPeriod,
    Long expiresAtMillis,
    RoutingMode defaultRoutingMode,
    boolean enabled,
    Double audioSecondsPerDay,
    String adminOf) implements CborSerializable {

  public KeySettings(String name, String organization, int priority, int threshold, List<String> models,
      Integer requestsPerMinute, Long tokensPerMinute, Long tokenBudget, String budgetPeriod, Long expiresAtMillis,
      RoutingMode defaultRoutingMode, boolean enabled, Double audioSecondsPerDay) {
    this(name, organization, priority, threshold, models, requestsPerMinute, tokensPerMinute, tokenBudget,
        budgetPeriod, expiresAtMillis, defaultRoutingMode, enabled, audioSecondsPerDay, null);
  }

  public KeySettings {
    models = models == null ? List.of() : List.copyOf(models);
  }

  /** From a YAML {@code tokens} entry or an admin API body, validated by the caller. */
  public static KeySettings of(KeyConfig t) {
    return new KeySettings(t.name(), t.organization(), t.priority(), t.threshold(), t.models(),
        t.requestsPerMinute(), t.tokensPerMinute(), t.tokenBudget(), t.budgetPeriod(),
        t.expiresAt() == null ? null : FederationConfigParser.parseInstant(t.expiresAt()).toEpochMilli(),
        t.defaultRoutingMode(), true, t.audioSecondsPerDay(), t.adminOf());
  }

  public KeySettings withEnabled(boolean newEnabled) {
    return new KeySettings(name, organization, priority, threshold, models, requestsPerMinute, tokensPerMinute,
        tokenBudget, budgetPeriod, expiresAtMillis, defaultRoutingMode, newEnabled, audioSecondsPerDay, adminOf);
  }

  /** Whether a call must be admitted by the key's account: it has a limit or a budget. */
  public boolean limited() {
    return requestsPerMinute != null || tokensPerMinute != null || tokenBudget != null || audioSecondsPerDay != null;
  }

  public boolean allows(String model) {
    return models.isEmpty() || models.contains(model);
  }

  public boolean expiredAt(long nowMillis) {
    return expiresAtMillis != null && nowMillis >= expiresAtMillis;
  }

  public String expiresAtText() {
    return expiresAtMillis == null ? null : Instant.ofEpochMilli(expiresAtMillis).toString();
  }
}
