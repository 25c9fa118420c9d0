package org.aiguillage.actors.accounts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.aiguillage.protocol.RoutingMode;
import org.aiguillage.protocol.accounting.UsageRecord;
import org.aiguillage.protocol.config.PersistenceSettings;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.junit.jupiter.api.Test;

/**
 * The key accounts on a real journal (pekko-persistence-jdbc) and the usage ledger on a real database: run on H2
 * and on PostgreSQL by the subclasses, the same tests for both.
 */
abstract class KeyAccountsJournalTest {

  abstract PersistenceSettings database();

  private ActorTestKit startNode(Database db) {
    Config config = db.pekkoConfig().withFallback(ConfigFactory.parseString("""
        pekko.actor.provider = cluster
        pekko.remote.artery.canonical { hostname = "127.0.0.1", port = 0 }
        pekko.cluster.jmx.multi-mbeans-in-same-jvm = on
        pekko.actor.serialization-bindings { "org.aiguillage.protocol.CborSerializable" = jackson-cbor }
        """)).withFallback(ConfigFactory.load());
    ActorTestKit kit = ActorTestKit.create("journal-test", config);
    Cluster cluster = Cluster.get(kit.system());
    cluster.manager().tell(Join.create(cluster.selfMember().address()));
    Accounts.initSharding(kit.system());
    return kit;
  }

  private static KeySettings settings(String name, Long budget) {
    return new KeySettings(name, "univ-a", 4, 50, List.of("mistral"), 100, null, budget, "month", null,
        RoutingMode.PRIVATE_FIRST, true, null);
  }

  @Test
  void keysAndTheirBudgetsSurviveARestartOfTheNode() throws Exception {
    Database db = new Database(database());
    db.createSchema();
    db.createSchema(); // every start runs it: it must be re-runnable
    String name = "lab-" + UUID.randomUUID();
    Accounts.NewKey made;
    ActorTestKit first = startNode(db);
    try {
      Accounts accounts = new Accounts(first.system(), Duration.ofSeconds(10));
      made = accounts.create(settings(name, 1_000L)).toCompletableFuture().get();
      assertTrue(made.secret().startsWith("sk-") && made.secret().length() >= 43, "sk- and 32 random bytes");
      accounts.settle(usage(made.key().id(), "t1", 300));
      // The tokens are written within a second, or when the account stops with its node (below).
      accounts.get(made.key().id()).toCompletableFuture().get();
    } finally {
      first.shutdownTestKit();
    }

    ActorTestKit second = startNode(db);
    try {
      Accounts accounts = new Accounts(second.system(), Duration.ofSeconds(10));
      var auth = accounts.authenticate(made.secret()).toCompletableFuture().get();
      assertEquals(name, assertInstanceOf(KeyAccount.Authenticated.class, auth).key().name());
      KeyRecord key = ((KeyAccount.Found) accounts.get(made.key().id()).toCompletableFuture().get()).key();
      assertEquals(300, key.budgetUsedAt(System.currentTimeMillis()));
      assertEquals(List.of("mistral"), key.settings().models());
      assertTrue(accounts.list().toCompletableFuture().get().stream().anyMatch(k -> k.id().equals(key.id())),
          "the key is listed from the journal");
      accounts.revoke(key.id()).toCompletableFuture().get();
      var refused = accounts.authenticate(made.secret()).toCompletableFuture().get();
      assertInstanceOf(KeyAccount.AuthenticationRefused.class, refused);
    } finally {
      second.shutdownTestKit();
    }
  }

  @Test
  void theUsageLedgerSumsPerGroupOverAPeriod() throws Exception {
    Database db = new Database(database());
    db.createSchema();
    UsageLedger ledger = new UsageLedger(db);
    String key = "key-" + UUID.randomUUID().toString().substring(0, 12);
    long now = System.currentTimeMillis();
    ledger.insert(List.of(usage(key, "a", 100), usage(key, "b", 50),
        new UsageRecord("c", key, "univ-a", "mistral", "srv", "univ-b", 10, 0, 5, -1, 9, 502, 3, "any", 0, now)));
    List<UsageLedger.Row> rows = ledger.report(now - 60_000, now + 60_000, "key", Optional.of(key));
    assertEquals(1, rows.size());
    UsageLedger.Row row = rows.get(0);
    assertEquals(3, row.requests());
    assertEquals(1, row.errors());
    assertEquals(160, row.totalTokens());
    assertEquals(7200.0 * 2 / 3600, row.energyWattHours(), 1e-9);
    assertTrue(ledger.report(now + 60_000, now + 120_000, "key", Optional.of(key)).isEmpty());
  }

  private static UsageRecord usage(String keyId, String ticket, long tokens) {
    return new UsageRecord(ticket, keyId, "univ-a", "mistral", "mistral@h:1", "univ-b", tokens / 2,
        tokens - tokens / 2, 12, 40, 900, 200, 3, "any", 7200.0, System.currentTimeMillis());
  }
}
