package org.aiguillage.loadtest.sim;

import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * When each streamed call reached the simulated server whole (its body read: when vLLM could start on it) and when
 * the server sent its first token, in microseconds of the machine's wall clock, so that a load generator on the
 * same machine can split a request's TTFT into the time before the server, the server's own and the time after it
 * (what a dispatcher in front adds). Not a vLLM feature: served at {@code GET /simulator/timings}, which hands over
 * and forgets what was recorded; {@link #parse} reads it back.
 */
public final class CallTimings {

  /** Beyond this many unread calls the oldest are dropped: a simulator nobody asks keeps bounded memory. */
  static final int LIMIT = 200_000;

  private record Timing(String id, long receivedMicros, long firstTokenMicros) {}

  private final ConcurrentLinkedQueue<Timing> unread = new ConcurrentLinkedQueue<>();
  private final AtomicInteger size = new AtomicInteger();

  /** Microseconds since the epoch, on the clock both the simulator and the load generator read. */
  public static long nowMicros() {
    Instant now = Instant.now();
    return now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000;
  }

  CallTimings() {}

  void record(String id, long receivedMicros, long firstTokenMicros) {
    unread.add(new Timing(id, receivedMicros, firstTokenMicros));
    if (size.incrementAndGet() > LIMIT && unread.poll() != null) {
      size.decrementAndGet();
    }
  }

  /** One line per call, {@code id received_us first_token_us}, oldest first; what is returned is forgotten. */
  String drain() {
    StringBuilder sb = new StringBuilder();
    for (Timing t = unread.poll(); t != null; t = unread.poll()) {
      size.decrementAndGet();
      sb.append(t.id()).append(' ').append(t.receivedMicros()).append(' ').append(t.firstTokenMicros()).append('\n');
    }
    return sb.toString();
  }

  /** What {@link #drain} wrote: answer id -> {received, first token}, in epoch microseconds. */
  public static Map<String, long[]> parse(String drained) {
    Map<String, long[]> timings = new HashMap<>();
    drained.lines().map(l -> l.split(" ")).filter(f -> f.length == 3)
        .forEach(f -> timings.put(f[0], new long[] {Long.parseLong(f[1]), Long.parseLong(f[2])}));
    return timings;
  }
}
