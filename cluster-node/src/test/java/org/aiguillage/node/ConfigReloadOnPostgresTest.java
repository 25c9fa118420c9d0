package org.aiguillage.node;

import java.sql.Connection;
import java.sql.Statement;
import org.aiguillage.actors.accounts.Database;
import org.aiguillage.protocol.config.PersistenceSettings;
import org.junit.jupiter.api.BeforeEach;

/**
 * The reload on PostgreSQL, as in production (127.0.0.1:5432, database {@code test}; {@code
 * AIGUILLAGE_TEST_POSTGRES_URL} overrides). Never skipped: without PostgreSQL, this fails.
 */
class ConfigReloadOnPostgresTest extends ConfigReloadTest {

  private static String url() {
    return System.getenv().getOrDefault("AIGUILLAGE_TEST_POSTGRES_URL", "jdbc:postgresql://127.0.0.1:5432/test");
  }

  @Override
  String persistence() {
    return "{ url: \"" + url() + "\", user: postgres }";
  }

  /** The test database outlives runs: this test starts the fleet registry afresh (see NodeRestartOnPostgresTest). */
  @BeforeEach
  @Override
  void start() throws Exception {
    Database database = new Database(new PersistenceSettings(url(), "postgres", ""));
    database.createSchema();
    try (Connection c = database.connect(); Statement st = c.createStatement()) {
      st.execute("DELETE FROM public.event_journal WHERE persistence_id = 'FleetRegistry|fleet'");
      st.execute("DELETE FROM public.snapshot WHERE persistence_id = 'FleetRegistry|fleet'");
    }
    super.start();
  }
}
