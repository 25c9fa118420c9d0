package org.aiguillage.node;

import java.sql.Connection;
import java.sql.Statement;
import org.aiguillage.actors.accounts.Database;
import org.aiguillage.protocol.config.PersistenceSettings;

/**
 * The PostgreSQL the tests use, as in production: 127.0.0.1:5432, database {@code test}, user {@code postgres}
 * ({@code AIGUILLAGE_TEST_POSTGRES_URL} overrides). Tests that use it are never skipped: without it, they fail.
 */
final class PostgresForTests {

  private PostgresForTests() {}

  static String url() {
    return System.getenv().getOrDefault("AIGUILLAGE_TEST_POSTGRES_URL", "jdbc:postgresql://127.0.0.1:5432/test");
  }

  /** The YAML {@code persistence} section's value. */
  static String persistence() {
    return "{ url: \"" + url() + "\", user: postgres }";
  }

  /**
   * The test database outlives test runs: the fleet registry would remember the simulated servers of earlier runs
   * (on other ports, long gone). A test that owns the registry there starts it afresh; keys need no such care (each
   * run makes its own).
   */
  static void freshFleetRegistry() throws Exception {
    Database database = new Database(new PersistenceSettings(url(), "postgres", ""));
    database.createSchema();
    try (Connection c = database.connect(); Statement st = c.createStatement()) {
      st.execute("DELETE FROM public.event_journal WHERE persistence_id = 'FleetRegistry|fleet'");
      st.execute("DELETE FROM public.snapshot WHERE persistence_id = 'FleetRegistry|fleet'");
    }
  }
}
