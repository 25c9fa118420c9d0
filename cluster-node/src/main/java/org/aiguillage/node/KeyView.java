package org.aiguillage.node;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;
import java.util.List;
import org.aiguillage.actors.accounts.KeyRecord;
import org.aiguillage.actors.accounts.KeySettings;
import org.aiguillage.actors.accounts.KeyStatus;

/**
 * A key as the admin API shows it: everything but its secret's hash, under the YAML {@code tokens} field names;
 * {@code key}, its secret, only in the answer that creates it. A limit that is not set is {@code null}.
 */
record KeyView(String id, String object, String prefix, KeyStatus status, String source, String createdAt,
    @JsonInclude(JsonInclude.Include.NON_NULL) String revokedAt, String name, String organization, int priority,
    int threshold, String defaultRoutingMode, String budgetPeriod, boolean enabled, List<String> models,
    Integer requestsPerMinute, Long tokensPerMinute, Long tokenBudget, String expiresAt, long budgetUsed,
    Double audioSecondsPerDay, double audioSecondsUsedToday,
    @JsonInclude(JsonInclude.Include.NON_NULL) String adminOf, @JsonInclude(JsonInclude.Include.NON_NULL) String key) {

  static KeyView of(KeyRecord key, long now) {
    KeySettings s = key.settings();
    return new KeyView(key.id(), "api_key", key.prefix(), key.status(now), key.source(),
        Instant.ofEpochMilli(key.createdAtMillis()).toString(),
        key.revokedAtMillis() == null ? null : Instant.ofEpochMilli(key.revokedAtMillis()).toString(),
        s.name(), s.organization(), s.priority(), s.threshold(), s.defaultRoutingMode().wireName(), s.budgetPeriod(),
        s.enabled(), s.models(), s.requestsPerMinute(), s.tokensPerMinute(), s.tokenBudget(), s.expiresAtText(),
        key.budgetUsedAt(now), s.audioSecondsPerDay(), Math.round(key.audioUsedAt(now) * 10) / 10.0, s.adminOf(),
        null);
  }

  /** The view with the secret, for the one answer that shows it. */
  KeyView withSecret(String secret) {
    return new KeyView(id, object, prefix, status, source, createdAt, revokedAt, name, organization, priority,
        threshold, defaultRoutingMode, budgetPeriod, enabled, models, requestsPerMinute, tokensPerMinute,
        tokenBudget, expiresAt, budgetUsed, audioSecondsPerDay, audioSecondsUsedToday, adminOf, secret);
  }
}
