package org.aiguillage.agents;

import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * Whether a server may be given work, as its agent has seen it: its metrics answering, its calls failing before
 * their first byte (each failure in a row doubles the back-off, up to {@link #MAX_BACKOFF}; an answer resets it), and
 * a 404 on its model's path (no work of that kind for {@link #ENDPOINT_RETRY}). Plain Java on an injected clock: the
 * agent asks it, and tells it what happened.
 */
final class ServerHealth {

  static final Duration MAX_BACKOFF = Duration.ofSeconds(30);
  /** How long a server that answered 404 on its model's path gets no work before it is tried again. */
  static final Duration ENDPOINT_RETRY = Duration.ofMinutes(1);

  /** What a scrape changed. */
  enum Scrape {
    /** Its metrics stopped answering (or never did, at the first scrape): no work until they do. */
    STOPPED_ANSWERING,
    /** They answer again after failing: work may come. */
    ANSWERING_AGAIN,
    /** They answered at the first scrape: work may come. */
    FIRST_ANSWER,
    /** As before. */
    UNCHANGED
  }

  private final LongSupplier clockMillis;
  private final Duration firstBackoff;
  private long unhealthyUntilMillis;
  private int consecutiveFailures;
  /**
   * The server's /metrics did not answer at the last scrape (it is down or unreachable), or has not answered yet:
   * an agent whose server exposes metrics takes work once it has seen them answer.
   */
  private boolean scrapeFailing;
  private boolean scrapedOnce;
  private long endpointMissingUntilMillis;

  /**
   * @param scraped whether the server exposes metrics: then it is healthy only once they answered
   * @param firstBackoff the back-off after a first failure
   */
  ServerHealth(boolean scraped, Duration firstBackoff, LongSupplier clockMillis) {
    this.scrapeFailing = scraped;
    this.firstBackoff = firstBackoff;
    this.clockMillis = clockMillis;
  }

  boolean healthy() {
    return !scrapeFailing && clockMillis.getAsLong() >= unhealthyUntilMillis;
  }

  /** It answered 404 on its model's path lately: not this server's kind of work. */
  boolean endpointMissing() {
    return clockMillis.getAsLong() < endpointMissingUntilMillis;
  }

  /** A call failed before its first byte: the server gets no work for the back-off it returns. */
  Duration failed() {
    consecutiveFailures++;
    long backoff = Math.min(MAX_BACKOFF.toMillis(), firstBackoff.toMillis() << Math.min(20, consecutiveFailures - 1));
    unhealthyUntilMillis = clockMillis.getAsLong() + backoff;
    return Duration.ofMillis(backoff);
  }

  /** A call got its answer: the failures in a row are over. */
  void answered() {
    consecutiveFailures = 0;
  }

  void endpointMissingFromNow() {
    endpointMissingUntilMillis = clockMillis.getAsLong() + ENDPOINT_RETRY.toMillis();
  }

  Scrape scraped(boolean answered) {
    boolean wasFailing = scrapeFailing;
    boolean first = !scrapedOnce;
    scrapeFailing = !answered;
    scrapedOnce = true;
    if (scrapeFailing) {
      return first || !wasFailing ? Scrape.STOPPED_ANSWERING : Scrape.UNCHANGED;
    }
    if (wasFailing) {
      return first ? Scrape.FIRST_ANSWER : Scrape.ANSWERING_AGAIN;
    }
    return Scrape.UNCHANGED;
  }
}
