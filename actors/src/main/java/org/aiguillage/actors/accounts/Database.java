package org.aiguillage.actors.accounts;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import org.aiguillage.protocol.config.PersistenceSettings;

/**
 * The node's database: the Pekko journal and snapshots (pekko-persistence-jdbc) and the usage ledger, in H2 or
 * PostgreSQL. pekko-persistence-jdbc never creates its tables, so the node does, before its ActorSystem starts.
 */
public final class Database {

  private final PersistenceSettings settings;

  public Database(PersistenceSettings settings) {
    if (!settings.isH2() && !settings.isPostgres()) {
      throw new IllegalArgumentException("persistence.url must be jdbc:h2:... or jdbc:postgresql:..., not "
          + settings.url().replaceAll("[?;].*", ""));
    }
    this.settings = settings;
  }

  public PersistenceSettings settings() {
    return settings;
  }

  public Connection connect() throws SQLException {
    return DriverManager.getConnection(settings.jdbcUrl(), settings.user(), settings.password());
  }

  /** Creates the journal, snapshot and usage tables if missing; safe to run on every start, on every node. */
  public void createSchema() {
    String ddl = resource(settings.isH2() ? "aiguillage/schema/h2.sql" : "aiguillage/schema/postgres.sql");
    SQLException last = null;
    // Several nodes starting together on one PostgreSQL can race on IF NOT EXISTS; a second pass settles it.
    for (int attempt = 0; attempt < 3; attempt++) {
      try (Connection c = connect(); Statement st = c.createStatement()) {
        for (String statement : ddl.replaceAll("(?m)^--.*$", "").split(";")) {
          if (!statement.isBlank()) {
            st.execute(statement);
          }
        }
        return;
      } catch (SQLException e) {
        last = e;
      }
    }
    throw new IllegalStateException("cannot create the tables in " + settings + ": " + last.getMessage(), last);
  }

  /** The Pekko configuration that points the journal, the snapshot store and the read journal here. */
  public Config pekkoConfig() {
    Map<String, Object> db = Map.of(
        "url", settings.jdbcUrl(),
        "user", settings.user(),
        "password", settings.password(),
        "driver", settings.isH2() ? "org.h2.Driver" : "org.postgresql.Driver",
        "numThreads", 4,
        "maxConnections", 4,
        "minConnections", 1,
        "connectionPool", "HikariCP");
    return ConfigFactory.parseMap(Map.of(
            "pekko.persistence.journal.plugin", "jdbc-journal",
            "pekko.persistence.snapshot-store.plugin", "jdbc-snapshot-store",
            "jdbc-journal.use-shared-db", "default",
            "jdbc-snapshot-store.use-shared-db", "default",
            "jdbc-read-journal.use-shared-db", "default",
            "pekko-persistence-jdbc.shared-databases.default.profile",
            settings.isH2() ? "slick.jdbc.H2Profile$" : "slick.jdbc.PostgresProfile$"))
        .withValue("pekko-persistence-jdbc.shared-databases.default.db", ConfigValueFactory.fromMap(db));
  }

  private static String resource(String name) {
    try (InputStream in = Database.class.getClassLoader().getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException("missing resource " + name);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
