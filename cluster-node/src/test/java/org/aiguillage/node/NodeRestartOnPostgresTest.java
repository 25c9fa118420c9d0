package org.aiguillage.node;

import org.junit.jupiter.api.BeforeEach;

/** The restart on PostgreSQL, as in production ({@link PostgresForTests}). Never skipped. */
class NodeRestartOnPostgresTest extends NodeRestartTest {

  @Override
  String persistence() {
    return PostgresForTests.persistence();
  }

  @BeforeEach
  void freshFleetRegistry() throws Exception {
    PostgresForTests.freshFleetRegistry();
  }
}
