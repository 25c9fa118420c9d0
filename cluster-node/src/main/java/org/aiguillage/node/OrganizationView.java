package org.aiguillage.node;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import java.time.Instant;
import java.util.List;
import org.aiguillage.actors.accounts.OrganizationAccount;

/**
 * An organisation as the admin API shows it: what it has (keys, servers) and, when it is recorded through the admin
 * API, its description, limits (null: none) and budget used.
 */
record OrganizationView(String name, String object, boolean recorded, int keys, int activeKeys, List<String> servers,
    @JsonUnwrapped Record record) {

  /** What a recorded organisation adds. */
  record Record(String description, String budgetPeriod, long budgetUsed, String createdAt, Integer requestsPerMinute,
      Long tokensPerMinute, Long tokenBudget) {

    static Record of(OrganizationAccount.Organization o, long now) {
      OrganizationAccount.Settings s = o.settings();
      return new Record(s.description(), s.budgetPeriod(), o.budgetUsedAt(now),
          Instant.ofEpochMilli(o.createdAtMillis()).toString(), s.requestsPerMinute(), s.tokensPerMinute(),
          s.tokenBudget());
    }
  }

  OrganizationView(String name, int keys, int activeKeys, List<String> servers, Record record) {
    this(name, "organization", record != null, keys, activeKeys, List.copyOf(servers), record);
  }
}
