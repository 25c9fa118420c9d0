package org.aiguillage.actors.accounts;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Every change made through the admin API, in a plain table ({@code aiguillage_audit}): who made it, for which
 * organisation (null: the federation's admin), the request and the status it was answered with.
 */
public final class AuditLog {

  /** One change. */
  public record Entry(long atMillis, String who, String organization, String method, String path, int status) {}

  private final Database database;

  public AuditLog(Database database) {
    this.database = database;
  }

  public void record(Entry e) throws SQLException {
    try (Connection c = database.connect(); PreparedStatement st = c.prepareStatement(
        "INSERT INTO aiguillage_audit (at, who, organization, method, path, status) VALUES (?, ?, ?, ?, ?, ?)")) {
      st.setLong(1, e.atMillis());
      st.setString(2, e.who());
      st.setString(3, e.organization());
      st.setString(4, e.method());
      st.setString(5, e.path().length() > 2048 ? e.path().substring(0, 2048) : e.path());
      st.setInt(6, e.status());
      st.executeUpdate();
    }
  }

  /** The newest {@code limit} entries, those of {@code organization} only when given. */
  public List<Entry> newest(int limit, Optional<String> organization) throws SQLException {
    String sql = "SELECT at, who, organization, method, path, status FROM aiguillage_audit"
        + (organization.isPresent() ? " WHERE organization = ?" : "") + " ORDER BY at DESC LIMIT ?";
    List<Entry> entries = new ArrayList<>();
    try (Connection c = database.connect(); PreparedStatement st = c.prepareStatement(sql)) {
      int i = 1;
      if (organization.isPresent()) {
        st.setString(i++, organization.get());
      }
      st.setInt(i, limit);
      try (ResultSet rs = st.executeQuery()) {
        while (rs.next()) {
          entries.add(new Entry(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getString(4), rs.getString(5),
              rs.getInt(6)));
        }
      }
    }
    return entries;
  }
}
