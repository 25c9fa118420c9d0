package org.aiguillage.node;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import org.aiguillage.actors.accounts.KeyAccount;
import org.aiguillage.actors.batch.Batch;
import org.aiguillage.actors.edge.ApiKey;
import org.aiguillage.protocol.batch.BatchObject;
import org.aiguillage.protocol.CborSerializable;
import org.aiguillage.protocol.RoutingMode;
import org.aiguillage.protocol.config.FederationConfigParser;
import org.aiguillage.protocol.dispatch.AgentCommand;
import org.aiguillage.protocol.dispatch.DispatchTicket;
import org.aiguillage.protocol.dispatch.LoadSnapshot;
import org.aiguillage.protocol.dispatch.QueueCommand;
import org.aiguillage.protocol.dispatch.RequestCommand;
import org.aiguillage.protocol.dispatch.TicketInfo;
import org.aiguillage.protocol.dispatch.UpstreamCall;
import org.aiguillage.protocol.openai.OpenAiError;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializers;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.StreamRefs;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Every message that crosses the cluster goes through the node's configured serializer (Jackson CBOR) and comes
 * back equal: what a one-node test never exercises, and several nodes depend on.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MessageSerializationTest {

  private AiguillageNode node;

  @BeforeAll
  void start() {
    node = AiguillageNode.start(FederationConfigParser.parse("""
        http: { port: 0 }
        persistence: { url: "jdbc:h2:mem:serialization" }
        """));
  }

  @AfterAll
  void stop() {
    node.close();
  }

  private Object roundTrip(Object message) {
    Serialization serialization = SerializationExtension.get(node.system().classicSystem());
    var serializer = serialization.findSerializerFor(message);
    assertEquals("JacksonCborSerializer", serializer.getClass().getSimpleName(), "bound to CBOR: "
        + message.getClass());
    byte[] bytes = serialization.serialize(message).get();
    return serialization.deserialize(bytes, serializer.identifier(), Serializers.manifestFor(serializer, message))
        .get();
  }

  @Test
  void aJournaledServerKeepsTheFieldNamesOfEarlierJournalsItsBearerTokenIncluded() throws Exception {
    var added = new org.aiguillage.actors.fleet.FleetRegistry.ServerAdded("m",
        new org.aiguillage.protocol.config.ServerConfig("http://gpu:8000", "s3cret", "univ-a", 4, "vllm", "dc1"),
        "file:dc1");
    byte[] bytes = SerializationExtension.get(node.system().classicSystem()).serialize(added).get();
    var tree = new com.fasterxml.jackson.dataformat.cbor.databind.CBORMapper().readTree(bytes);
    assertEquals("s3cret", tree.path("server").path("token").asText(), tree.toString());
    assertEquals(4, tree.path("server").path("maxParallelRequests").asInt(), tree.toString());
    assertEquals(added, roundTrip(added));
  }

  @Test
  void aServerAddedBeforeOwnersWereRecordedIsReadWithoutOne() throws Exception {
    var serialization = SerializationExtension.get(node.system().classicSystem());
    var added = new org.aiguillage.actors.fleet.FleetRegistry.ServerAdded("m",
        new org.aiguillage.protocol.config.ServerConfig("http://gpu:8000", null, "univ-a", 4, "vllm", "dc1"),
        "file:dc1");
    var serializer = serialization.findSerializerFor(added);
    var cbor = new com.fasterxml.jackson.dataformat.cbor.databind.CBORMapper();
    var tree = (com.fasterxml.jackson.databind.node.ObjectNode) cbor.readTree(serialization.serialize(added).get());
    tree.remove("owner"); // as the journal of an earlier version holds it
    var old = (org.aiguillage.actors.fleet.FleetRegistry.ServerAdded) serialization.deserialize(
        cbor.writeValueAsBytes(tree), serializer.identifier(), Serializers.manifestFor(serializer, added)).get();
    assertEquals(null, old.owner());
    assertEquals("http://gpu:8000", old.server().url());
  }

  @Test
  void everyClusterMessageSurvivesTheWire() {
    TestProbe<RequestCommand> requester = TestProbe.create(node.system());
    TestProbe<QueueCommand> queue = TestProbe.create(node.system());
    TestProbe<AgentCommand> agent = TestProbe.create(node.system());
    TicketInfo info = new TicketInfo("t1", "m", "key-1", "univ-a", 3, RoutingMode.PRIVATE_FIRST, 1, 2, 3, 4,
        "dc1", null, new long[] {1, -2, Long.MAX_VALUE}, "key-1:alice");
    DispatchTicket ticket = new DispatchTicket(info, new UpstreamCall("/v1/chat/completions",
        "{\"model\":\"m\"}".getBytes(), true, false), requester.ref());
    LoadSnapshot snapshot = new LoadSnapshot(1, 2, 3, 4, 0.5, 0.1, 99);

    List<CborSerializable> messages = List.of(
        new QueueCommand.Demand("s1", agent.ref(), "univ-a", "dc1", 3, 7, snapshot),
        new QueueCommand.Withdraw("t1"),
        new QueueCommand.AssignAccepted("t1", "s1"),
        new QueueCommand.AssignRefused("t1", "s1"),
        new QueueCommand.DemandWithdrawn("s1"),
        new AgentCommand.CancelCall("t1"),
        new AgentCommand.Reconfigure(new org.aiguillage.protocol.config.ServerConfig("http://gpu:8000", null,
            "univ-a", 8, "vllm", "dc1")),
        new QueueCommand.ResponseStored("resp_1", "s1"),
        new RequestCommand.Started("t1", "s1", agent.ref()),
        new RequestCommand.UpstreamFailed("t1", "s1", true, "500"),
        new RequestCommand.Rejected("t1", 429, OpenAiError.rateLimited("full", "queue_threshold"), 1));
    for (CborSerializable m : messages) {
      assertEquals(m, roundTrip(m), m.getClass().getSimpleName());
    }

    // Records with a byte[] compare arrays by reference: compare their parts.
    QueueCommand.Enqueue enqueue = (QueueCommand.Enqueue) roundTrip(new QueueCommand.Enqueue(ticket));
    assertEquals(info, enqueue.ticket().info());
    assertEquals(requester.ref(), enqueue.ticket().requester());
    assertArrayEquals(ticket.call().body(), enqueue.ticket().call().body());
    AgentCommand.Assign assign = (AgentCommand.Assign) roundTrip(new AgentCommand.Assign(ticket, queue.ref()));
    assertEquals(queue.ref(), assign.queue());
    RequestCommand.Whole whole = (RequestCommand.Whole) roundTrip(
        new RequestCommand.Whole("t1", "s1", 200, "application/json", new byte[] {1, 2, 3}));
    assertArrayEquals(new byte[] {1, 2, 3}, whole.body());
  }

  @Test
  void aBatchsJournalAndMessagesSurviveTheWire() {
    TestProbe<Batch.Reply> client = TestProbe.create(node.system());
    Batch.Spec spec = new Batch.Spec("batch_1", "univ-a", new KeyAccount.Authenticated(new ApiKey("key-1", "k",
        "univ-a", 3, 10, RoutingMode.ANY, List.of("m")), true), "/v1/chat/completions", "file-1", "24h",
        Map.of("run", "nightly"), 100, 200);
    List<BatchObject.LineError> errors = List.of(new BatchObject.LineError("duplicate_custom_id", "twice",
        "custom_id", 5), new BatchObject.LineError("empty_file", "none", "input_file_id", null));
    List<CborSerializable> messages = List.of(
        new Batch.Created(spec),
        new Batch.ValidationPassed(300, 101),
        new Batch.ValidationFailed(7, errors, 101),
        new Batch.CancelRequested(102),
        new Batch.FinalizingStarted(103, true),
        new Batch.Finished("expired", "file-output-1", null, 250, 50, 104),
        new Batch.Create(spec, client.ref()),
        new Batch.Get(client.ref()),
        new Batch.Cancel(client.ref()),
        new Batch.Resume(),
        new Batch.NotFound());
    for (CborSerializable m : messages) {
      assertEquals(m, roundTrip(m), m.getClass().getSimpleName());
    }
  }

  @Test
  void aStreamedAnswerTravelsAsAStreamRef() throws Exception {
    var ref = Source.single(ByteString.fromString("data: x\n\n"))
        .runWith(StreamRefs.sourceRef(), Materializer.matFromSystem(node.system()));

    RequestCommand.Streaming back = (RequestCommand.Streaming) roundTrip(
        new RequestCommand.Streaming("t1", "s1", 200, ref));

    assertEquals("data: x\n\n", back.events().getSource()
        .runWith(org.apache.pekko.stream.javadsl.Sink.head(), Materializer.matFromSystem(node.system()))
        .toCompletableFuture().get().utf8String());
  }
}
