package org.aiguillage.actors.batch;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.aiguillage.actors.accounts.Database;
import org.aiguillage.protocol.Json;
import org.aiguillage.protocol.batch.BatchObject;
import org.apache.pekko.NotUsed;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.javadsl.Source;

/**
 * What batches keep beside their entities' journals, in the journal database: each settled line's result, written
 * once ({@code aiguillage_batch_results}, keyed by batch and line), and each batch as its entity last described it
 * ({@code aiguillage_batches}: the list clients page through, and the batches every node carries on). JDBC blocks:
 * every call runs on {@code blocking}.
 */
public final class BatchStore {

  /** A settled line: its output line ({@code ok}) or its error line, as the batch's files will hold it. */
  public record Result(int line, boolean ok, String body) {}

  private static final String UNIQUE_VIOLATION = "23505";

  private final Database database;
  private final Executor blocking;

  public BatchStore(Database database, Executor blocking) {
    this.database = database;
    this.blocking = blocking;
  }

  /** Records a line's result unless it has one: true when this call wrote it. */
  public CompletionStage<Boolean> settle(String batchId, Result result) {
    return run(() -> {
      try (Connection c = database.connect(); PreparedStatement st = c.prepareStatement(
          "INSERT INTO aiguillage_batch_results (batch_id, line, ok, body) VALUES (?, ?, ?, ?)")) {
        st.setString(1, batchId);
        st.setInt(2, result.line());
        st.setBoolean(3, result.ok());
        st.setString(4, result.body());
        st.executeUpdate();
        return true;
      } catch (SQLException e) {
        if (UNIQUE_VIOLATION.equals(e.getSQLState())) {
          return false;
        }
        throw e;
      }
    });
  }

  /** The lines settled so far, and how many of them succeeded. */
  public record Settled(BitSet lines, long ok, long failed) {}

  public CompletionStage<Settled> settled(String batchId) {
    return run(() -> {
      BitSet lines = new BitSet();
      long ok = 0;
      long failed = 0;
      try (Connection c = database.connect(); PreparedStatement st = c.prepareStatement(
          "SELECT line, ok FROM aiguillage_batch_results WHERE batch_id = ?")) {
        st.setString(1, batchId);
        try (ResultSet rs = st.executeQuery()) {
          while (rs.next()) {
            lines.set(rs.getInt(1));
            if (rs.getBoolean(2)) {
              ok++;
            } else {
              failed++;
            }
          }
        }
      }
      return new Settled(lines, ok, failed);
    });
  }

  /** The batch's output lines ({@code ok}) or error lines, in line order, read a page at a time. */
  public Source<String, NotUsed> results(String batchId, boolean ok) {
    int page = 500;
    return Source.unfoldAsync(0, after -> run(() -> {
      List<Result> rows = new ArrayList<>();
      try (Connection c = database.connect(); PreparedStatement st = c.prepareStatement(
          "SELECT line, body FROM aiguillage_batch_results WHERE batch_id = ? AND ok = ? AND line > ? "
              + "ORDER BY line LIMIT ?")) {
        st.setString(1, batchId);
        st.setBoolean(2, ok);
        st.setInt(3, after);
        st.setInt(4, page);
        try (ResultSet rs = st.executeQuery()) {
          while (rs.next()) {
            rows.add(new Result(rs.getInt(1), ok, rs.getString(2)));
          }
        }
      }
      return rows.isEmpty() ? Optional.<Pair<Integer, List<Result>>>empty()
          : Optional.of(Pair.create(rows.get(rows.size() - 1).line(), rows));
    })).mapConcat(rows -> rows).map(Result::body);
  }

  /** Writes the batch as its entity describes it now. */
  public CompletionStage<Void> describe(BatchObject batch, String organization, String keyId) {
    return run(() -> {
      String body = new String(Json.bytes(batch), java.nio.charset.StandardCharsets.UTF_8);
      try (Connection c = database.connect()) {
        int updated;
        try (PreparedStatement st = c.prepareStatement(
            "UPDATE aiguillage_batches SET status = ?, body = ? WHERE id = ?")) {
          st.setString(1, batch.status());
          st.setString(2, body);
          st.setString(3, batch.id());
          updated = st.executeUpdate();
        }
        if (updated == 0) {
          try (PreparedStatement st = c.prepareStatement("INSERT INTO aiguillage_batches "
              + "(id, organization, key_id, status, created_at, body, input_file_id) VALUES (?, ?, ?, ?, ?, ?, ?)")) {
            st.setString(1, batch.id());
            st.setString(2, organization);
            st.setString(3, keyId);
            st.setString(4, batch.status());
            st.setLong(5, batch.createdAt());
            st.setString(6, body);
            st.setString(7, batch.inputFileId());
            st.executeUpdate();
          } catch (SQLException e) {
            if (!UNIQUE_VIOLATION.equals(e.getSQLState())) {
              throw e;
            }
          }
        }
      }
      return null;
    });
  }

  /** Whether the batch exists and belongs to {@code organization} (null: any). */
  public CompletionStage<Boolean> exists(String batchId, String organization) {
    return run(() -> {
      try (Connection c = database.connect(); PreparedStatement st = c.prepareStatement(
          "SELECT 1 FROM aiguillage_batches WHERE id = ?" + (organization == null ? "" : " AND organization = ?"))) {
        st.setString(1, batchId);
        if (organization != null) {
          st.setString(2, organization);
        }
        try (ResultSet rs = st.executeQuery()) {
          return rs.next();
        }
      }
    });
  }

  /** A batch as listed, with whose it is. */
  public record Listed(String organization, String keyId, BatchObject batch) {}

  /**
   * Batches newest first, as last described: an organisation's ({@code organization} null: all), of one status when
   * given, after the batch {@code after}.
   */
  public CompletionStage<List<Listed>> list(String organization, Optional<String> status, Optional<String> after,
      int limit) {
    return run(() -> {
      String sql = "SELECT organization, key_id, body FROM aiguillage_batches WHERE 1 = 1"
          + (organization != null ? " AND organization = ?" : "")
          + (status.isPresent() ? " AND status = ?" : "")
          + (after.isPresent() ? " AND (created_at, id) < (SELECT created_at, id FROM aiguillage_batches WHERE id = ?)"
              : "")
          + " ORDER BY created_at DESC, id DESC LIMIT ?";
      List<Listed> batches = new ArrayList<>();
      try (Connection c = database.connect(); PreparedStatement st = c.prepareStatement(sql)) {
        int i = 1;
        if (organization != null) {
          st.setString(i++, organization);
        }
        if (status.isPresent()) {
          st.setString(i++, status.get());
        }
        if (after.isPresent()) {
          st.setString(i++, after.get());
        }
        st.setInt(i, limit);
        try (ResultSet rs = st.executeQuery()) {
          while (rs.next()) {
            batches.add(new Listed(rs.getString(1), rs.getString(2),
                Json.MAPPER.readValue(rs.getString(3), BatchObject.class)));
          }
        } catch (java.io.IOException e) {
          throw new SQLException("a stored batch does not read back: " + e.getMessage(), e);
        }
      }
      return batches;
    });
  }

  /** The unfinished batch that reads its lines from this file, if any. */
  public CompletionStage<Optional<String>> unfinishedReading(String fileId) {
    return run(() -> {
      try (Connection c = database.connect(); PreparedStatement st = c.prepareStatement(
          "SELECT id FROM aiguillage_batches WHERE input_file_id = ? AND status IN ('validating', 'in_progress', "
              + "'finalizing', 'cancelling')")) {
        st.setString(1, fileId);
        try (ResultSet rs = st.executeQuery()) {
          return rs.next() ? Optional.of(rs.getString(1)) : Optional.<String>empty();
        }
      }
    });
  }

  /** The ids of the batches not finished (validating, in progress, finalizing, cancelling): a node carries them on. */
  public CompletionStage<List<String>> unfinished() {
    return run(() -> {
      List<String> ids = new ArrayList<>();
      try (Connection c = database.connect(); PreparedStatement st = c.prepareStatement(
          "SELECT id FROM aiguillage_batches WHERE status IN ('validating', 'in_progress', 'finalizing', "
              + "'cancelling')")) {
        try (ResultSet rs = st.executeQuery()) {
          while (rs.next()) {
            ids.add(rs.getString(1));
          }
        }
      }
      return ids;
    });
  }

  private <T> CompletionStage<T> run(Sql<T> sql) {
    return Sql.on(blocking, sql);
  }
}
