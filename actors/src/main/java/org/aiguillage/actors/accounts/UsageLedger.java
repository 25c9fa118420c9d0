package org.aiguillage.actors.accounts;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.aiguillage.protocol.accounting.UsageRecord;

/**
 * Every call's usage record, in a plain table ({@code aiguillage_usage}) so that usage reports are SQL
 * aggregates over an index on time, the same on H2 and PostgreSQL.
 */
public final class UsageLedger {

  /** What a report may group by, and the column each means. */
  public static final Map<String, String> GROUPS = Map.of(
      "organization", "organization",
      "key", "key_id",
      "model", "model",
      "server", "server_id",
      "server_organization", "server_organization",
      "batch", "CASE WHEN priority <= 0 THEN 'true' ELSE 'false' END");

  /**
   * One group's totals over a period.
   *
   * @param billedTokens its tokens with a batch's (priority 0) counted at the batch price factor
   */
  public record Row(String group, long requests, long errors, long promptTokens, long completionTokens,
      double avgQueueWaitMillis, double avgTtftMillis, double energyWattHours, double audioSeconds,
      double co2eGrams, double billedTokens) {
    public long totalTokens() {
      return promptTokens + completionTokens;
    }
  }

  private final Database database;

  public UsageLedger(Database database) {
    this.database = database;
  }

  public void insert(List<UsageRecord> records) throws SQLException {
    if (records.isEmpty()) {
      return;
    }
    try (Connection c = database.connect(); PreparedStatement st = c.prepareStatement(
        "INSERT INTO aiguillage_usage (ticket_id, key_id, organization, model, server_id, server_organization, "
            + "prompt_tokens, completion_tokens, queue_wait_ms, ttft_ms, duration_ms, status, priority, "
            + "routing_mode, energy_joules, ended_at, audio_seconds, co2e_g, energy_method) "
            + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
      for (UsageRecord r : records) {
        st.setString(1, r.ticketId());
        st.setString(2, r.keyId());
        st.setString(3, r.organization());
        st.setString(4, r.model());
        st.setString(5, r.serverId());
        st.setString(6, r.serverOrganization());
        st.setLong(7, r.promptTokens());
        st.setLong(8, r.completionTokens());
        st.setLong(9, r.queueWaitMillis());
        st.setLong(10, r.ttftMillis());
        st.setLong(11, r.durationMillis());
        st.setInt(12, r.status());
        st.setInt(13, r.priority());
        st.setString(14, r.routingMode());
        st.setDouble(15, r.energyJoules());
        st.setLong(16, r.endedAtMillis());
        st.setDouble(17, r.audioSeconds());
        st.setDouble(18, r.co2eGrams());
        st.setString(19, r.energyMethod());
        st.addBatch();
      }
      st.executeBatch();
    }
  }

  /**
   * Totals per group of the calls that ended in [{@code fromMillis}, {@code toMillis}), largest token count first.
   *
   * @param groupBy one of {@link #GROUPS}' keys
   * @param keyId only this key's calls, if present
   */
  public List<Row> report(long fromMillis, long toMillis, String groupBy, Optional<String> keyId)
      throws SQLException {
    return report(fromMillis, toMillis, groupBy, keyId, Optional.empty(), 1.0);
  }

  /** @param organization only the calls of this organisation's keys, if present */
  public List<Row> report(long fromMillis, long toMillis, String groupBy, Optional<String> keyId,
      Optional<String> organization, double batchPriceFactor) throws SQLException {
    String column = GROUPS.get(groupBy);
    if (column == null) {
      throw new IllegalArgumentException("cannot group by " + groupBy);
    }
    String sql = "SELECT " + column + " AS g, COUNT(*), SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END), "
        + "SUM(prompt_tokens), SUM(completion_tokens), AVG(queue_wait_ms), "
        + "AVG(CASE WHEN ttft_ms >= 0 THEN ttft_ms END), SUM(energy_joules), SUM(audio_seconds), "
        + "SUM(co2e_g), SUM(CASE WHEN priority <= 0 THEN CAST(? AS DOUBLE PRECISION) ELSE 1.0 END "
        + "* (prompt_tokens + completion_tokens)) "
        + "FROM aiguillage_usage "
        + "WHERE ended_at >= ? AND ended_at < ?" + (keyId.isPresent() ? " AND key_id = ?" : "")
        + (organization.isPresent() ? " AND organization = ?" : "")
        + " GROUP BY " + column + " ORDER BY SUM(prompt_tokens) + SUM(completion_tokens) DESC, " + column;
    List<Row> rows = new ArrayList<>();
    try (Connection c = database.connect(); PreparedStatement st = c.prepareStatement(sql)) {
      st.setDouble(1, batchPriceFactor);
      st.setLong(2, fromMillis);
      st.setLong(3, toMillis);
      int next = 4;
      if (keyId.isPresent()) {
        st.setString(next++, keyId.get());
      }
      if (organization.isPresent()) {
        st.setString(next, organization.get());
      }
      try (ResultSet rs = st.executeQuery()) {
        while (rs.next()) {
          rows.add(new Row(rs.getString(1), rs.getLong(2), rs.getLong(3), rs.getLong(4), rs.getLong(5),
              rs.getDouble(6), rs.getDouble(7), rs.getDouble(8) / 3600.0, rs.getDouble(9),
              rs.getDouble(10), rs.getDouble(11)));
        }
      }
    }
    return rows;
  }
}
