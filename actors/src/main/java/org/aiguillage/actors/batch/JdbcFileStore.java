package org.aiguillage.actors.batch;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.aiguillage.actors.accounts.Database;
import org.aiguillage.protocol.batch.FileObject;
import org.apache.pekko.NotUsed;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * Files in the journal database ({@code aiguillage_files}, {@code aiguillage_file_chunks}): a file's bytes in chunks
 * of 1 MiB, written as they arrive and read one chunk at a time. JDBC blocks: every call runs on {@code blocking}.
 */
public final class JdbcFileStore implements FileStore {

  static final int CHUNK_BYTES = 1024 * 1024;

  private final Database database;
  private final Executor blocking;

  public JdbcFileStore(Database database, Executor blocking) {
    this.database = database;
    this.blocking = blocking;
  }

  @Override
  public Sink<ByteString, CompletionStage<Long>> write(String fileId, long maxBytes) {
    AtomicLong total = new AtomicLong();
    AtomicInteger seq = new AtomicInteger();
    return Flow.of(ByteString.class)
        .map(bytes -> {
          if (total.addAndGet(bytes.size()) > maxBytes) {
            throw new TooLarge(maxBytes);
          }
          return bytes;
        })
        .groupedWeighted(CHUNK_BYTES, bytes -> (long) bytes.size())
        .mapConcat(JdbcFileStore::slices)
        .mapAsync(1, chunk -> run(() -> {
          try (Connection c = database.connect(); PreparedStatement st = c.prepareStatement(
              "INSERT INTO aiguillage_file_chunks (file_id, seq, data) VALUES (?, ?, ?)")) {
            st.setString(1, fileId);
            st.setInt(2, seq.getAndIncrement());
            st.setBytes(3, chunk.toArray());
            st.executeUpdate();
          }
          return (long) chunk.size();
        }))
        .toMat(Sink.<Long, Long>fold(0L, Long::sum), Keep.right())
        .mapMaterializedValue(done -> leavingNothingOnFailure(done, fileId));
  }

  private CompletionStage<Long> leavingNothingOnFailure(CompletionStage<Long> done, String fileId) {
    CompletableFuture<Long> result = new CompletableFuture<>();
    done.whenComplete((bytes, failure) -> {
      if (failure == null) {
        result.complete(bytes);
      } else {
        run(() -> deleteChunks(fileId)).whenComplete((v, f) -> result.completeExceptionally(failure));
      }
    });
    return result;
  }

  /** A group of arrivals as chunks of at most {@link #CHUNK_BYTES}. */
  private static List<ByteString> slices(List<ByteString> group) {
    ByteString all = ByteString.emptyByteString();
    for (ByteString b : group) {
      all = all.concat(b);
    }
    List<ByteString> out = new ArrayList<>();
    for (int from = 0; from < all.size(); from += CHUNK_BYTES) {
      out.add(all.slice(from, Math.min(all.size(), from + CHUNK_BYTES)).compact());
    }
    return out;
  }

  @Override
  public CompletionStage<FileObject> register(String fileId, String organization, String filename, String purpose,
      long bytes) {
    long createdAt = System.currentTimeMillis() / 1000;
    return run(() -> {
      try (Connection c = database.connect(); PreparedStatement st = c.prepareStatement(
          "INSERT INTO aiguillage_files (id, organization, filename, purpose, bytes, created_at) "
              + "VALUES (?, ?, ?, ?, ?, ?)")) {
        st.setString(1, fileId);
        st.setString(2, organization);
        st.setString(3, filename.length() > 1024 ? filename.substring(0, 1024) : filename);
        st.setString(4, purpose);
        st.setLong(5, bytes);
        st.setLong(6, createdAt);
        st.executeUpdate();
      }
      return FileObject.of(fileId, bytes, createdAt, filename, purpose);
    });
  }

  @Override
  public CompletionStage<Optional<FileObject>> get(String fileId, String organization) {
    return run(() -> {
      try (Connection c = database.connect(); PreparedStatement st = c.prepareStatement(
          "SELECT id, bytes, created_at, filename, purpose FROM aiguillage_files WHERE id = ? AND organization = ?")) {
        st.setString(1, fileId);
        st.setString(2, organization);
        try (ResultSet rs = st.executeQuery()) {
          return rs.next() ? Optional.of(file(rs)) : Optional.<FileObject>empty();
        }
      }
    });
  }

  @Override
  public CompletionStage<List<FileObject>> list(String organization, Optional<String> purpose, Optional<String> after,
      int limit) {
    return run(() -> {
      String sql = "SELECT id, bytes, created_at, filename, purpose FROM aiguillage_files WHERE organization = ?"
          + (purpose.isPresent() ? " AND purpose = ?" : "")
          + (after.isPresent() ? " AND (created_at, id) < (SELECT created_at, id FROM aiguillage_files WHERE id = ?)"
              : "")
          + " ORDER BY created_at DESC, id DESC LIMIT ?";
      List<FileObject> files = new ArrayList<>();
      try (Connection c = database.connect(); PreparedStatement st = c.prepareStatement(sql)) {
        int i = 1;
        st.setString(i++, organization);
        if (purpose.isPresent()) {
          st.setString(i++, purpose.get());
        }
        if (after.isPresent()) {
          st.setString(i++, after.get());
        }
        st.setInt(i, limit);
        try (ResultSet rs = st.executeQuery()) {
          while (rs.next()) {
            files.add(file(rs));
          }
        }
      }
      return files;
    });
  }

  @Override
  public Source<ByteString, NotUsed> content(String fileId) {
    return Source.unfoldAsync(0, seq -> run(() -> {
      try (Connection c = database.connect(); PreparedStatement st = c.prepareStatement(
          "SELECT data FROM aiguillage_file_chunks WHERE file_id = ? AND seq = ?")) {
        st.setString(1, fileId);
        st.setInt(2, seq);
        try (ResultSet rs = st.executeQuery()) {
          return rs.next() ? Optional.of(Pair.create(seq + 1, ByteString.fromArrayUnsafe(rs.getBytes(1))))
              : Optional.<Pair<Integer, ByteString>>empty();
        }
      }
    }));
  }

  @Override
  public CompletionStage<Boolean> delete(String fileId, String organization) {
    return run(() -> {
      int deleted;
      try (Connection c = database.connect(); PreparedStatement st = c.prepareStatement(
          "DELETE FROM aiguillage_files WHERE id = ? AND organization = ?")) {
        st.setString(1, fileId);
        st.setString(2, organization);
        deleted = st.executeUpdate();
      }
      if (deleted > 0) {
        deleteChunks(fileId);
      }
      return deleted > 0;
    });
  }

  @Override
  public CompletionStage<Void> purge(String fileId) {
    return run(() -> {
      try (Connection c = database.connect(); PreparedStatement st = c.prepareStatement(
          "DELETE FROM aiguillage_files WHERE id = ?")) {
        st.setString(1, fileId);
        st.executeUpdate();
      }
      deleteChunks(fileId);
      return null;
    });
  }

  private Void deleteChunks(String fileId) throws SQLException {
    try (Connection c = database.connect(); PreparedStatement st = c.prepareStatement(
        "DELETE FROM aiguillage_file_chunks WHERE file_id = ?")) {
      st.setString(1, fileId);
      st.executeUpdate();
    }
    return null;
  }

  private static FileObject file(ResultSet rs) throws SQLException {
    return FileObject.of(rs.getString(1), rs.getLong(2), rs.getLong(3), rs.getString(4), rs.getString(5));
  }

  private <T> CompletionStage<T> run(Sql<T> sql) {
    return Sql.on(blocking, sql);
  }
}
