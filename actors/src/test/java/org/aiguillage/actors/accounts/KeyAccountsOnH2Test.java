package org.aiguillage.actors.accounts;

import java.util.UUID;
import org.aiguillage.protocol.config.PersistenceSettings;

class KeyAccountsOnH2Test extends KeyAccountsJournalTest {

  private final String url = "jdbc:h2:mem:accounts-" + UUID.randomUUID();

  @Override
  PersistenceSettings database() {
    return new PersistenceSettings(url, null, null);
  }
}
