package org.aiguillage.priority.routing;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import org.aiguillage.protocol.RoutingMode;
import org.aiguillage.protocol.dispatch.LoadSnapshot;
import org.aiguillage.protocol.dispatch.ServerState;
import org.aiguillage.protocol.dispatch.TicketInfo;

/** Servers, tickets and a clock the tests move by hand. */
final class Servers {

  static final Duration DEMAND_TIMEOUT = Duration.ofSeconds(3);

  private Servers() {}

  /** A clock that moves only when told. */
  static final class ManualClock extends Clock {
    private long millis = 1_000_000;

    void advance(Duration d) {
      millis += d.toMillis();
    }

    @Override
    public long millis() {
      return millis;
    }

    @Override
    public Instant instant() {
      return Instant.ofEpochMilli(millis);
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }
  }

  /** A server whose agent just asked for {@code free} calls, with {@code inFlight} open of {@code maxParallel}. */
  static ServerLoad server(String id, String org, int free, int inFlight, int maxParallel, Clock clock) {
    return server(id, org, "dc1", free, new LoadSnapshot(inFlight, maxParallel, -1, -1, -1, 0, clock.millis()),
        clock);
  }

  static ServerLoad server(String id, String org, String datacenter, int free, LoadSnapshot snapshot, Clock clock) {
    ServerLoad s = new ServerLoad(id);
    s.demand(org, datacenter, free, 0, snapshot, clock.millis());
    return s;
  }

  /**
   * A snapshot from an agent that knows its server's steps ({@code base + perCall x batch} ms) and its recent time
   * to first token.
   */
  static LoadSnapshot withSteps(int inFlight, int maxParallel, double kv, double ttftSeconds, double base,
      double perCall, long at) {
    return new LoadSnapshot(inFlight, maxParallel, inFlight, 0, kv, ttftSeconds, at, ServerState.READY, 0, -1, base,
        perCall, 0);
  }

  static TicketInfo ticket(String id) {
    return ticket(id, "univ-a", "dc1", null, null);
  }

  static TicketInfo ticket(String id, String org, String datacenter, long[] prefix, String session) {
    return new TicketInfo(id, "m", "key-" + org, org, 3, RoutingMode.ANY, 0, Long.MAX_VALUE, 10, 3, datacenter,
        null, prefix, session);
  }
}
