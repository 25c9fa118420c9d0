package org.aiguillage.actors.accounts;

import org.aiguillage.protocol.config.PersistenceSettings;

/**
 * The same tests on PostgreSQL: the one CI runs (127.0.0.1:5432, database {@code test}, trust auth; override with
 * {@code AIGUILLAGE_TEST_POSTGRES_URL}). Never skipped: without PostgreSQL, this fails.
 */
class KeyAccountsOnPostgresTest extends KeyAccountsJournalTest {

  static PersistenceSettings postgres() {
    String url = System.getenv().getOrDefault("AIGUILLAGE_TEST_POSTGRES_URL",
        "jdbc:postgresql://127.0.0.1:5432/test");
    return new PersistenceSettings(url, "postgres", "");
  }

  @Override
  PersistenceSettings database() {
    return postgres();
  }
}
