package org.aiguillage.agents;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.aiguillage.agents.SseEvents.Usage;
import org.aiguillage.protocol.RoutingMode;
import org.aiguillage.protocol.dispatch.DispatchTicket;
import org.aiguillage.protocol.dispatch.LoadSnapshot;
import org.aiguillage.protocol.dispatch.ServerState;
import org.aiguillage.protocol.dispatch.TicketInfo;
import org.aiguillage.protocol.dispatch.UpstreamCall;
import org.junit.jupiter.api.Test;

class LiveLoadTest {

  private int tickets;

  private ServerCall call(boolean stream, boolean batch) {
    long now = System.currentTimeMillis();
    TicketInfo info = new TicketInfo("t" + ++tickets, "m", "key", "org", batch ? TicketInfo.BATCH_PRIORITY : 3,
        RoutingMode.ANY, now, now + 60_000, 10, 100);
    return new ServerCall(new DispatchTicket(info,
        new UpstreamCall("/v1/chat/completions", "{}".getBytes(StandardCharsets.UTF_8), stream, false), null));
  }

  @Test
  void theSnapshotCountsTheCallsStillWaitingForTheirFirstToken() {
    LiveLoad load = new LiveLoad();
    load.firstToken(0.2);
    ServerCall waiting = call(true, false);
    ServerCall answering = call(true, false);
    answering.firstEventMillis = answering.startMillis + 50;
    ServerCall wholeYoung = call(false, false);
    ServerCall batchLine = call(false, true);
    long now = waiting.startMillis + 100;

    LoadSnapshot snapshot = load.snapshot(List.of(waiting, answering, wholeYoung, batchLine), 8, ServerState.READY,
        now);

    assertEquals(4, snapshot.inFlight());
    assertEquals(3, snapshot.awaitingFirstToken(), "the waiting stream, and the two whole calls younger than 200 ms");
    assertEquals(1, snapshot.batchCalls());
    assertEquals(100, snapshot.firstTokenWaitMillis(), "only streams count: a whole answer has no first token");
    assertEquals(-1, snapshot.running(), "nothing scraped yet");
  }

  @Test
  void aCallThatStallsTeachesTheServersLimitAtOnceAndTheQueueHearsOfIt() {
    LiveLoad load = new LiveLoad();
    load.firstToken(0.1);
    ServerCall stalled = call(true, false);
    long now = stalled.startMillis + 2_000;

    assertTrue(load.scraped(new ServerLoad(16, 3, 0.5), List.of(stalled), now),
        "a queue while a call waits 2 s for a first token that usually takes 100 ms: the limit is 16");
    assertEquals(16, load.snapshot(List.of(stalled), 64, ServerState.READY, now).batchLimit());
    assertFalse(load.scraped(new ServerLoad(16, 3, 0.5), List.of(stalled), now + 1_000), "nothing new to tell");
  }

  @Test
  void aServerThatStopsAnsweringItsMetricsIsUnknownAgain() {
    LiveLoad load = new LiveLoad();
    load.scraped(new ServerLoad(4, 0, 0.95), List.of(), System.currentTimeMillis());
    assertTrue(load.kvCacheFull(0.9));

    load.scrapeFailed();

    assertFalse(load.kvCacheFull(0.9));
    assertEquals(-1, load.snapshot(List.of(), 8, ServerState.READY, System.currentTimeMillis()).running());
  }

  @Test
  void withoutTheServersHistogramTheAgentsOwnStreamsDrawTheStepCurve() {
    LiveLoad load = new LiveLoad();
    long now = System.currentTimeMillis();
    int[] running = {2, 2, 2, 6, 6, 6};
    List<ServerCall> open = new ArrayList<>();
    for (int i = 0; i < running.length; i++) {
      if (i > 0) {
        // A stream of 33 tokens ended in the interval, at the step of its mean batch: 10 ms + 5 ms per request.
        double batch = (running[i - 1] + running[i]) / 2.0;
        long millis = Math.round(32 * (10 + 5 * batch));
        ServerCall ended = call(true, false);
        ended.firstEventMillis = now - millis;
        load.streamEnded(ended, 200, new Usage(100, 33), 35, now);
      }
      load.scraped(new ServerLoad(running[i], 0, 0.1), open, now);
      now += 1_000;
    }

    LoadSnapshot snapshot = load.snapshot(open, 8, ServerState.READY, now);
    assertEquals(10, snapshot.stepBaseMillis(), 0.1);
    assertEquals(5, snapshot.stepMillisPerCall(), 0.1);
  }
}
