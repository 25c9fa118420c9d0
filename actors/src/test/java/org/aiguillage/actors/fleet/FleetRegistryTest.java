package org.aiguillage.actors.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.util.List;
import org.aiguillage.protocol.config.ModelConfig;
import org.aiguillage.protocol.config.ServerConfig;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** The fleet registry's rules, on the persistence test kit (every event and reply must serialise). */
class FleetRegistryTest {

  private static final ActorTestKit testKit = ActorTestKit.create(EventSourcedBehaviorTestKit.config()
      .withFallback(ConfigFactory.parseString("""
          pekko.actor.serialization-bindings { "org.aiguillage.protocol.CborSerializable" = jackson-cbor }
          """)));

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  private static ModelConfig model(String name, String... urls) {
    return new ModelConfig(name, name, null, java.util.Arrays.stream(urls)
        .map(u -> new ServerConfig(u, null, "univ-a", 8, null, null)).toList(), null, null, null);
  }

  @Test
  void seedingAddsWhatItNeverSawAndARemovedServerStaysRemoved() {
    var registry = EventSourcedBehaviorTestKit.<FleetRegistry.Command, FleetRegistry.Event, FleetRegistry.State>create(
        testKit.system(), FleetRegistry.create(PersistenceId.ofUniqueId("fleet-" + System.nanoTime())));
    registry.<FleetRegistry.Reply>runCommand(r -> new FleetRegistry.Seed(List.of(model("m", "http://a:1",
        "http://b:1")), r));
    var added = registry.<FleetRegistry.Reply>runCommand(r -> new FleetRegistry.AddServer("m",
        new ServerConfig("http://c:1", null, "univ-b", 4, null, null), r));
    assertEquals(3, added.state().registrations());
    registry.<FleetRegistry.Reply>runCommand(r -> new FleetRegistry.RemoveServer("m", "http://a:1", r));

    registry.restart();
    var reseeded = registry.<FleetRegistry.Reply>runCommand(r -> new FleetRegistry.Seed(List.of(model("m",
        "http://a:1", "http://b:1")), r));
    assertTrue(reseeded.hasNoEvents(), "the YAML does not bring back what an operator removed");
    var fleet = assertInstanceOf(FleetRegistry.Fleet.class, reseeded.reply()).state();
    assertEquals(List.of("http://b:1", "http://c:1"), fleet.models().get(0).withServers().vllmServers().stream()
        .map(ServerConfig::url).toList());
  }

  @Test
  void anUnknownModelOrADuplicateServerIsRefusedWithAStatus() {
    var registry = EventSourcedBehaviorTestKit.<FleetRegistry.Command, FleetRegistry.Event, FleetRegistry.State>create(
        testKit.system(), FleetRegistry.create(PersistenceId.ofUniqueId("fleet-" + System.nanoTime())));
    registry.<FleetRegistry.Reply>runCommand(r -> new FleetRegistry.AddModel(model("m", "http://a:1"), r));
    var duplicate = registry.<FleetRegistry.Reply>runCommand(r -> new FleetRegistry.AddServer("m",
        new ServerConfig("http://a:1", null, "univ-a", 8, null, null), r)).reply();
    var unknown = registry.<FleetRegistry.Reply>runCommand(r -> new FleetRegistry.RemoveModel("nope", r)).reply();
    assertEquals(409, assertInstanceOf(FleetRegistry.Refused.class, duplicate).status());
    assertEquals(404, assertInstanceOf(FleetRegistry.Refused.class, unknown).status());
  }
}
