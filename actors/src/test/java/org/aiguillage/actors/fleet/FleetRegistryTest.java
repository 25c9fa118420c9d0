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

  private static EventSourcedBehaviorTestKit<FleetRegistry.Command, FleetRegistry.Event, FleetRegistry.State>
      registry() {
    return EventSourcedBehaviorTestKit.create(testKit.system(),
        FleetRegistry.create(PersistenceId.ofUniqueId("fleet-" + System.nanoTime())));
  }

  private static FleetRegistry.Applied apply(
      EventSourcedBehaviorTestKit<FleetRegistry.Command, FleetRegistry.Event, FleetRegistry.State> registry,
      ModelConfig... models) {
    return assertInstanceOf(FleetRegistry.Applied.class, registry.<FleetRegistry.Reply>runCommand(r ->
        new FleetRegistry.Apply("file:default", List.of(models), r)).reply());
  }

  private static List<String> urls(FleetRegistry.State state, String model) {
    return state.model(model).orElseThrow().withServers().vllmServers().stream().map(ServerConfig::url).toList();
  }

  @Test
  void whatTheFileOwnsFollowsTheFileAndWhatTheApiMadeStays() {
    var registry = registry();
    apply(registry, model("m", "http://a:1", "http://b:1"), model("old", "http://a:1"));
    registry.<FleetRegistry.Reply>runCommand(r -> new FleetRegistry.AddServer("m",
        new ServerConfig("http://c:1", null, "univ-b", 4, null, null), r));
    registry.<FleetRegistry.Reply>runCommand(r -> new FleetRegistry.AddModel(model("mine", "http://d:1"), r));

    registry.restart();
    FleetRegistry.Applied applied = apply(registry, model("m", "http://b:1"));

    assertEquals(List.of("http://b:1", "http://c:1"), urls(applied.state(), "m"), "a:1 left the file; c:1 is the API's");
    assertTrue(applied.state().model("old").isEmpty(), "a model removed from the file is removed");
    assertTrue(applied.state().model("mine").isPresent(), "the API's model stays");
    assertTrue(applied.changes().contains("server http://a:1 of m removed: it drains"), applied.changes().toString());
    assertTrue(applied.changes().contains("model old removed: its servers drain"), applied.changes().toString());
    assertTrue(apply(registry, model("m", "http://b:1")).changes().isEmpty(), "the same file again changes nothing");
  }

  @Test
  void anApiChangeToTheFilesServerIsAnOverrideUntilTheFileChangesThatValue() {
    var registry = registry();
    apply(registry, model("m", "http://a:1"));
    registry.<FleetRegistry.Reply>runCommand(r -> new FleetRegistry.SetServer("m", "http://a:1",
        new FleetRegistry.ServerOverride(2, null), r));
    FleetRegistry.Applied same = apply(registry, model("m", "http://a:1"));
    assertEquals(2, same.state().model("m").orElseThrow().withServers().vllmServers().get(0).maxParallelRequests());
    assertTrue(same.changes().get(0).contains("override kept"), same.changes().toString());

    ModelConfig raised = new ModelConfig("m", "m", null, List.of(new ServerConfig("http://a:1", null, "univ-a", 32,
        null, null)), null, null, null);
    FleetRegistry.Applied changed = apply(registry, raised);
    assertEquals(32, changed.state().model("m").orElseThrow().withServers().vllmServers().get(0)
        .maxParallelRequests(), "the file changed the ceiling: its value wins, the override goes");
    assertTrue(changed.changes().contains("server http://a:1 of m changed: max_parallel_requests 8 -> 32"),
        changed.changes().toString());
  }

  @Test
  void theApiCannotRemoveWhatTheFileOwns() {
    var registry = registry();
    apply(registry, model("m", "http://a:1"));
    var server = registry.<FleetRegistry.Reply>runCommand(r -> new FleetRegistry.RemoveServer("m", "http://a:1", r));
    var model = registry.<FleetRegistry.Reply>runCommand(r -> new FleetRegistry.RemoveModel("m", r));
    assertEquals(409, assertInstanceOf(FleetRegistry.Refused.class, server.reply()).status());
    assertEquals(409, assertInstanceOf(FleetRegistry.Refused.class, model.reply()).status());
  }

  @Test
  void aDatabaseOfAnotherConfigurationIsSaidSo() {
    var registry = registry();
    apply(registry, model("theirs", "http://a:1"));
    FleetRegistry.Applied applied = apply(registry, model("ours", "http://b:1"));
    assertTrue(applied.warnings().get(0).startsWith("this database held another configuration's fleet"),
        applied.warnings().toString());
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
