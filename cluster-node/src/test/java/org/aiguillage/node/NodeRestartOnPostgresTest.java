package org.aiguillage.node;

/**
 * The restart on PostgreSQL, as in production: 127.0.0.1:5432, database {@code test} (override with {@code
 * AIGUILLAGE_TEST_POSTGRES_URL}). Never skipped: without PostgreSQL, this fails.
 */
class NodeRestartOnPostgresTest extends NodeRestartTest {

  @Override
  String persistence() {
    String url = System.getenv().getOrDefault("AIGUILLAGE_TEST_POSTGRES_URL", "jdbc:postgresql://127.0.0.1:5432/test");
    return "{ url: \"" + url + "\", user: postgres }";
  }
}
