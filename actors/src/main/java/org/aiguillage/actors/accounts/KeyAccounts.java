package org.aiguillage.actors.accounts;

import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.aiguillage.protocol.accounting.UsageRecord;
import org.aiguillage.protocol.config.TokenConfig;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.stream.javadsl.Sink;

/**
 * The key accounts as the edge and the admin API use them: asks to the sharded {@link KeyAccount} entities. A
 * secret goes no further than this class: it is hashed here and only its hash travels.
 */
public final class KeyAccounts {

  /** A key just made: its secret, shown this once, and its record. */
  public record NewKey(String secret, KeyRecord key) {}

  private final ActorSystem<?> system;
  private final ClusterSharding sharding;
  private final Duration timeout;

  public KeyAccounts(ActorSystem<?> system, Duration timeout) {
    this.system = system;
    this.sharding = ClusterSharding.get(system);
    this.timeout = timeout;
  }

  private EntityRef<KeyAccount.Command> account(String keyId) {
    return sharding.entityRefFor(KeyAccount.TYPE_KEY, keyId);
  }

  public CompletionStage<KeyAccount.Authentication> authenticate(String secret) {
    String hash = KeySecrets.hash(secret);
    return account(KeySecrets.idOfHash(hash))
        .ask(replyTo -> new KeyAccount.Authenticate(hash, replyTo), timeout);
  }

  public CompletionStage<KeyAccount.Admission> admit(String keyId, String ticketId, long estimatedTokens) {
    return account(keyId).ask(replyTo -> new KeyAccount.Admit(ticketId, estimatedTokens, replyTo), timeout);
  }

  public void settle(UsageRecord usage) {
    account(usage.keyId()).tell(new KeyAccount.Settle(usage.ticketId(), usage.totalTokens()));
  }

  public void release(String keyId, String ticketId) {
    account(keyId).tell(new KeyAccount.Release(ticketId));
  }

  /** Makes or updates a key of the YAML file (validated by the parser). */
  public CompletionStage<Done> seed(TokenConfig token) {
    String hash = KeySecrets.hash(token.token());
    return account(KeySecrets.idOfHash(hash))
        .ask(replyTo -> new KeyAccount.Seed(hash, KeySettings.of(token), replyTo), timeout);
  }

  /** Makes a key with a new secret (another one if its id is taken, which 2^-48 odds make rare). */
  public CompletionStage<NewKey> create(KeySettings settings) {
    return create(settings, 3);
  }

  private CompletionStage<NewKey> create(KeySettings settings, int attempts) {
    String secret = KeySecrets.generate();
    String hash = KeySecrets.hash(secret);
    return account(KeySecrets.idOfHash(hash))
        .<KeyAccount.KeyReply>ask(replyTo -> new KeyAccount.Create(KeySecrets.prefixOf(secret), hash, settings,
            replyTo), timeout)
        .thenCompose(reply -> {
          if (reply instanceof KeyAccount.Found found) {
            return CompletableFuture.completedFuture(new NewKey(secret, found.key()));
          }
          if (attempts > 1) {
            return create(settings, attempts - 1);
          }
          return CompletableFuture.failedFuture(new IllegalStateException("no free key id after 3 tries"));
        });
  }

  public CompletionStage<KeyAccount.KeyReply> get(String keyId) {
    return account(keyId).ask(KeyAccount.Get::new, timeout);
  }

  public CompletionStage<KeyAccount.KeyReply> update(String keyId, KeySettings settings) {
    return account(keyId).ask(replyTo -> new KeyAccount.Update(settings, replyTo), timeout);
  }

  public CompletionStage<KeyAccount.KeyReply> revoke(String keyId) {
    return account(keyId).ask(KeyAccount.Revoke::new, timeout);
  }

  /** Every key in the journal, oldest first. */
  public CompletionStage<List<KeyRecord>> list() {
    JdbcReadJournal journal = PersistenceQuery.get(system.classicSystem())
        .getReadJournalFor(JdbcReadJournal.class, JdbcReadJournal.Identifier());
    String prefix = KeyAccount.TYPE_KEY.name() + "|";
    return journal.currentPersistenceIds()
        .filter(id -> id.startsWith(prefix))
        .mapAsync(8, id -> get(id.substring(prefix.length())))
        .filter(reply -> reply instanceof KeyAccount.Found)
        .map(reply -> ((KeyAccount.Found) reply).key())
        .runWith(Sink.seq(), system)
        .thenApply(keys -> keys.stream().sorted(Comparator.comparingLong(KeyRecord::createdAtMillis)
            .thenComparing(KeyRecord::id)).toList());
  }
}
