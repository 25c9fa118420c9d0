package org.aiguillage.actors.accounts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.util.List;
import org.aiguillage.protocol.RoutingMode;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The key account's rules, on the persistence test kit (which also checks every message and event serialises). */
class KeyAccountTest {

  private static final ActorTestKit testKit = ActorTestKit.create(EventSourcedBehaviorTestKit.config()
      .withFallback(ConfigFactory.parseString("""
          pekko.actor.serialization-bindings { "org.aiguillage.protocol.CborSerializable" = jackson-cbor }
          """)));

  private static final String SECRET = "sk-test-secret-that-is-long-enough-to-show-a-prefix";
  private static final String HASH = KeySecrets.hash(SECRET);

  private EventSourcedBehaviorTestKit<KeyAccount.Command, KeyAccount.Event, KeyAccount.State> account;

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  @BeforeEach
  void fresh() {
    String id = KeySecrets.idOfHash(HASH);
    account = EventSourcedBehaviorTestKit.create(testKit.system(),
        KeyAccount.create(id, PersistenceId.of("KeyAccount", id + "-" + System.nanoTime())));
  }

  private static KeySettings settings(Integer rpm, Long tpm, Long budget) {
    return new KeySettings("lab", "univ-a", 3, 100, List.of(), rpm, tpm, budget, "day", null, RoutingMode.ANY, true,
        null);
  }

  private void create(KeySettings settings) {
    var result = account.<KeyAccount.KeyReply>runCommand(replyTo ->
        new KeyAccount.Create(KeySecrets.prefixOf(SECRET), HASH, settings, replyTo));
    assertInstanceOf(KeyAccount.Found.class, result.reply());
  }

  private KeyAccount.Admission admit(String ticket, long tokens) {
    return account.<KeyAccount.Admission>runCommand(replyTo -> new KeyAccount.Admit(ticket, tokens, replyTo))
        .reply();
  }

  @Test
  void aKeyAuthenticatesWithTheHashOfItsSecretAndNothingElse() {
    create(settings(null, null, null));
    var ok = account.<KeyAccount.Authentication>runCommand(r -> new KeyAccount.Authenticate(HASH, r)).reply();
    assertEquals("univ-a", assertInstanceOf(KeyAccount.Authenticated.class, ok).key().organization());
    var wrong = account.<KeyAccount.Authentication>runCommand(r ->
        new KeyAccount.Authenticate(KeySecrets.hash(SECRET + "x"), r)).reply();
    assertInstanceOf(KeyAccount.AuthenticationRefused.class, wrong);
  }

  @Test
  void aRevokedKeyIsRefusedAndStaysRevokedAfterARestart() {
    create(settings(null, null, null));
    account.runCommand(KeyAccount.Revoke::new);
    account.restart();
    var refused = account.<KeyAccount.Authentication>runCommand(r -> new KeyAccount.Authenticate(HASH, r)).reply();
    assertEquals("This API key has been revoked.",
        assertInstanceOf(KeyAccount.AuthenticationRefused.class, refused).message());
  }

  @Test
  void requestsPerMinuteAdmitsExactlyTheLimitAndSaysWhenItResets() {
    create(settings(3, null, null));
    for (int i = 0; i < 3; i++) {
      assertInstanceOf(KeyAccount.Admitted.class, admit("t" + i, 10));
    }
    var denied = assertInstanceOf(KeyAccount.Denied.class, admit("t3", 10));
    assertEquals(429, denied.status());
    assertEquals("rate_limit_exceeded", denied.error().error().code());
    assertEquals(0, denied.limits().remainingRequests());
    assertTrue(denied.limits().resetRequestsMillis() > 50_000, "the oldest request leaves the window in ~60 s");
    assertTrue(denied.retryAfterSeconds() >= 50);
  }

  @Test
  void tokensAreReservedAtAdmissionAndSettledToWhatTheServerReported() {
    create(settings(null, 100L, null));
    assertInstanceOf(KeyAccount.Admitted.class, admit("a", 60));
    // Both in flight would exceed the limit: refused before the first one has even finished.
    assertInstanceOf(KeyAccount.Denied.class, admit("b", 60));
    account.runCommand(new KeyAccount.Settle("a", 20));
    var admitted = assertInstanceOf(KeyAccount.Admitted.class, admit("c", 60));
    assertEquals(100 - 20 - 60, admitted.limits().remainingTokens());
  }

  @Test
  void aRequestLargerThanTheTokenLimitIsToldSo() {
    create(settings(null, 100L, null));
    var denied = assertInstanceOf(KeyAccount.Denied.class, admit("a", 150));
    assertTrue(denied.error().message().startsWith("Request too large"), denied.error().message());
  }

  @Test
  void theTokenBudgetSurvivesARestartAndRefusesWithInsufficientQuota() {
    create(settings(null, null, 100L));
    assertInstanceOf(KeyAccount.Admitted.class, admit("a", 10));
    assertTrue(account.runCommand(new KeyAccount.Settle("a", 100)).hasNoEvents(), "written once a second");
    // Already counted before it is written:
    assertInstanceOf(KeyAccount.Denied.class, admit("b0", 10));
    var written = account.runCommand(new KeyAccount.FlushUsage());
    assertEquals(new KeyAccount.TokensUsed(100, 1, ((KeyAccount.TokensUsed) written.event()).atMillis()),
        written.event());
    account.restart();
    var denied = assertInstanceOf(KeyAccount.Denied.class, admit("b", 10));
    assertEquals("insufficient_quota", denied.error().error().code());
  }

  @Test
  void theTokenWindowIsRebuiltFromTheCallsReplayedAtRecovery() {
    create(settings(null, 100L, null));
    admit("a", 90);
    account.runCommand(new KeyAccount.Settle("a", 90));
    account.runCommand(new KeyAccount.FlushUsage());
    account.restart();
    assertInstanceOf(KeyAccount.Denied.class, admit("b", 20));
  }

  @Test
  void seedingFromTheYamlIsIdempotentAndFollowsTheFileButKeepsARevocation() {
    var first = account.<org.apache.pekko.Done>runCommand(r -> new KeyAccount.Seed(HASH, settings(null, null, null), r));
    assertInstanceOf(KeyAccount.Created.class, first.event());
    var again = account.<org.apache.pekko.Done>runCommand(r -> new KeyAccount.Seed(HASH, settings(null, null, null), r));
    assertTrue(again.hasNoEvents());
    account.runCommand(KeyAccount.Revoke::new);
    var changed = account.<org.apache.pekko.Done>runCommand(r -> new KeyAccount.Seed(HASH, settings(5, null, null), r));
    assertInstanceOf(KeyAccount.Updated.class, changed.event());
    assertTrue(changed.state().key().revoked());
    assertEquals(5, changed.state().key().settings().requestsPerMinute());
  }
}
