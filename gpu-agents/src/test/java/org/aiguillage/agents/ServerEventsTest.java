package org.aiguillage.agents;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.aiguillage.agents.SseEvents.Usage;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.testkit.TestSubscriber;
import org.apache.pekko.stream.testkit.javadsl.TestSink;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** A server's SSE body through the agent's one stage: bytes as they came, and what the stage sees of them. */
class ServerEventsTest {

  private static final ActorTestKit testKit = ActorTestKit.create();
  private static final Materializer mat = Materializer.matFromSystem(testKit.system());

  private static final String ROLE = "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\n";
  private static final String TOKEN = "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n";
  private static final String USAGE = "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3}}\n\n";
  private static final String DONE = "data: [DONE]\n\n";

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  /** Records what the stage tells; drops the usage chunk, as for a client that did not ask for it. */
  private static final class Told implements ServerEvents.Listener {
    final List<ByteString> first = new CopyOnWriteArrayList<>();
    final List<Usage> usages = new CopyOnWriteArrayList<>();
    final java.util.concurrent.CompletableFuture<ByteString> firstTold = new java.util.concurrent.CompletableFuture<>();

    @Override
    public void firstEvent(ByteString firstEvent) {
      first.add(firstEvent);
      firstTold.complete(firstEvent);
    }

    @Override
    public ByteString usage(ByteString event, Usage usage) {
      usages.add(usage);
      return ByteString.emptyByteString();
    }
  }

  private static Pair<List<ByteString>, ServerEvents.Ended> run(Source<ByteString, ?> body, Told told)
      throws Exception {
    Pair<CompletionStage<ServerEvents.Ended>, CompletionStage<List<ByteString>>> ran = body
        .viaMat(new ServerEvents(1024, 64 * 1024, told), Keep.right())
        .toMat(Sink.seq(), Keep.both())
        .run(mat);
    List<ByteString> out = ran.second().toCompletableFuture().get(5, TimeUnit.SECONDS);
    return Pair.create(out, ran.first().toCompletableFuture().get(5, TimeUnit.SECONDS));
  }

  private static String joined(List<ByteString> elements) {
    return elements.stream().map(ByteString::utf8String).reduce("", String::concat);
  }

  private static List<ByteString> cut(String body, int... at) {
    List<ByteString> chunks = new ArrayList<>();
    int from = 0;
    for (int to : at) {
      chunks.add(ByteString.fromString(body.substring(from, to)));
      from = to;
    }
    chunks.add(ByteString.fromString(body.substring(from)));
    return chunks;
  }

  @Test
  void passesTheServersBytesOnAsTheyCameCutOnlyAtAnEventsEnd() throws Exception {
    String body = ROLE + TOKEN + TOKEN + TOKEN + USAGE + DONE;
    // Read as the network would: one event alone, two together, one cut in the middle, the usage cut across "usage".
    int usageAt = body.indexOf("usage");
    List<ByteString> chunks = cut(body, ROLE.length(), ROLE.length() + 2 * TOKEN.length(),
        ROLE.length() + 2 * TOKEN.length() + 10, usageAt + 3);
    Told told = new Told();

    Pair<List<ByteString>, ServerEvents.Ended> ran = run(Source.from(chunks), told);

    assertEquals(ROLE + TOKEN + TOKEN + TOKEN + DONE, joined(ran.first()), "everything but the usage chunk");
    for (ByteString element : ran.first()) {
      assertTrue(element.utf8String().endsWith("\n\n"), "no element ends inside an event: " + element.utf8String());
    }
    assertEquals(List.of(ByteString.fromString(ROLE)), told.first, "the first event alone, told once");
    assertEquals(List.of(new Usage(5, 3)), told.usages);
    assertEquals(new Usage(5, 3), ran.second().usage());
    assertEquals(6, ran.second().events(), "role, 3 tokens, usage, [DONE]");
    assertFalse(ran.second().interrupted());
    assertNull(ran.second().cancelCause());
  }

  @Test
  void aServerFailingMidAnswerEndsItInBandAfterWhatItSent() throws Exception {
    Told told = new Told();
    List<ByteString> chunks = new ArrayList<>(cut(ROLE + TOKEN + "data: {\"choi", ROLE.length()));
    ByteString reset = ByteString.fromString("reset");
    chunks.add(reset);
    Source<ByteString, ?> body = Source.from(chunks).map(chunk -> {
      if (chunk == reset) {
        throw new RuntimeException("connection reset");
      }
      return chunk;
    });

    Pair<List<ByteString>, ServerEvents.Ended> ran = run(body, told);

    assertEquals(ROLE + TOKEN + SseEvents.BROKEN_STREAM_END.utf8String(), joined(ran.first()),
        "the half-sent event is dropped, the rest stands");
    assertTrue(ran.second().interrupted());
    assertEquals(2, ran.second().events());
  }

  @Test
  void aServerFailingBeforeAnyEventIsToldAsTheFirstEvent() throws Exception {
    Told told = new Told();

    Pair<List<ByteString>, ServerEvents.Ended> ran = run(Source.failed(new RuntimeException("refused")), told);

    assertSame(SseEvents.BROKEN_STREAM_END, told.first.get(0), "the agent retries elsewhere on this");
    assertTrue(ran.second().interrupted());
  }

  @Test
  void anEventLongerThanAllowedEndsTheAnswerAsAFailingServers() throws Exception {
    Told told = new Told();
    String tooLong = "data: " + "y".repeat(2000);

    Pair<List<ByteString>, ServerEvents.Ended> ran = run(Source.from(cut(ROLE + tooLong, ROLE.length(),
        ROLE.length() + 900)), told);

    assertEquals(ROLE + SseEvents.BROKEN_STREAM_END.utf8String(), joined(ran.first()));
    assertTrue(ran.second().interrupted());
  }

  @Test
  void aLastEventWithoutItsBlankLineIsStillAnEvent() throws Exception {
    Pair<List<ByteString>, ServerEvents.Ended> ran = run(Source.single(ByteString.fromString(ROLE + "data: [DONE]")),
        new Told());

    assertEquals(ROLE + DONE, joined(ran.first()));
    assertEquals(2, ran.second().events());
  }

  @Test
  void readsAheadOfTheClientsSideSoTheFirstEventIsSeenBeforeAnyoneCollectsIt() throws Exception {
    Told told = new Told();
    // The server's chunks come from a source fused with the stage: all three are read before the client's first
    // request reaches it.
    TestSubscriber.Probe<ByteString> client = Source.from(List.of(ByteString.fromString(ROLE),
            ByteString.fromString(TOKEN), ByteString.fromString(TOKEN)))
        .via(new ServerEvents(1024, 64 * 1024, told))
        .runWith(TestSink.probe(testKit.system().classicSystem()), mat);

    assertEquals(ROLE, told.firstTold.get(3, TimeUnit.SECONDS).utf8String(), "seen with no demand from the client");
    assertEquals(1, told.first.size());
    client.request(1);
    assertEquals(ROLE + TOKEN + TOKEN, client.expectNext().utf8String(), "what waited, passed on as one element");
    client.request(1);
    client.expectComplete();
  }
}
