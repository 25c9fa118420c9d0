package org.aiguillage.node;

import org.junit.jupiter.api.BeforeEach;

/** The reload on PostgreSQL, as in production ({@link PostgresForTests}). Never skipped. */
class ConfigReloadOnPostgresTest extends ConfigReloadTest {

  @Override
  String persistence() {
    return PostgresForTests.persistence();
  }

  @BeforeEach
  @Override
  void start() throws Exception {
    PostgresForTests.freshFleetRegistry();
    super.start();
  }
}
