package org.aiguillage.actors.accounts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** An organisation's limits, shared by all its keys, on the persistence test kit. */
class OrganizationAccountTest {

  private static final ActorTestKit testKit = ActorTestKit.create(EventSourcedBehaviorTestKit.config()
      .withFallback(ConfigFactory.parseString("""
          pekko.actor.serialization-bindings { "org.aiguillage.protocol.CborSerializable" = jackson-cbor }
          """)));

  private EventSourcedBehaviorTestKit<OrganizationAccount.Command, OrganizationAccount.Event,
      OrganizationAccount.State> org;

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  @BeforeEach
  void fresh() {
    org = EventSourcedBehaviorTestKit.create(testKit.system(),
        OrganizationAccount.create("univ-x", PersistenceId.of("OrganizationAccount", "univ-x-" + System.nanoTime())));
  }

  private OrganizationAccount.Admission admit(String ticket) {
    return org.<OrganizationAccount.Admission>runCommand(r -> new OrganizationAccount.Admit(ticket, 10, r)).reply();
  }

  @Test
  void anOrganisationWithoutLimitsSaysSoSoEdgesStopAsking() {
    OrganizationAccount.Admission admission = admit("t1");
    assertFalse(admission.limited());
    assertInstanceOf(KeyAccount.Admitted.class, admission.admission());
  }

  @Test
  void itsLimitIsSharedByAllItsKeysAndNamedWhenReached() {
    org.<OrganizationAccount.Reply>runCommand(r -> new OrganizationAccount.Put(new OrganizationAccount.Settings("a university", 2, null, null,
        null), r));
    assertInstanceOf(KeyAccount.Admitted.class, admit("from-key-1").admission());
    assertInstanceOf(KeyAccount.Admitted.class, admit("from-key-2").admission());
    OrganizationAccount.Admission third = admit("from-key-3");
    assertTrue(third.limited());
    KeyAccount.Denied denied = assertInstanceOf(KeyAccount.Denied.class, third.admission());
    assertTrue(denied.error().message().contains("organisation univ-x"), denied.error().message());
  }

  @Test
  void itsBudgetSurvivesARestart() {
    org.<OrganizationAccount.Reply>runCommand(r -> new OrganizationAccount.Put(new OrganizationAccount.Settings(null, null, null, 100L, "day"),
        r));
    admit("a");
    org.runCommand(new OrganizationAccount.Settle("a", 120));
    var written = org.runCommand(new OrganizationAccount.FlushUsage());
    assertInstanceOf(OrganizationAccount.TokensUsed.class, written.event());
    org.restart();
    var found = org.<OrganizationAccount.Reply>runCommand(OrganizationAccount.Get::new).reply();
    assertEquals(120, ((OrganizationAccount.Found) found).organization().budgetUsedAt(System.currentTimeMillis()));
    KeyAccount.Denied denied = assertInstanceOf(KeyAccount.Denied.class, admit("b").admission());
    assertEquals("insufficient_quota", denied.error().error().code());
  }
}
