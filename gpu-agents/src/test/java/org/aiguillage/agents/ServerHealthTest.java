package org.aiguillage.agents;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ServerHealthTest {

  private final AtomicLong now = new AtomicLong(1_000_000);

  @Test
  void eachFailureInARowDoublesTheBackOffUpToThirtySecondsAndAnAnswerResetsIt() {
    ServerHealth health = new ServerHealth(false, Duration.ofSeconds(1), now::get);
    assertTrue(health.healthy());

    assertEquals(Duration.ofSeconds(1), health.failed());
    assertFalse(health.healthy());
    now.addAndGet(1_000);
    assertTrue(health.healthy(), "back after its back-off");
    assertEquals(Duration.ofSeconds(2), health.failed());
    assertEquals(Duration.ofSeconds(4), health.failed());
    for (int i = 0; i < 30; i++) {
      health.failed();
    }
    assertEquals(ServerHealth.MAX_BACKOFF, health.failed(), "no more than 30 s, however many failures");

    health.answered();
    assertEquals(Duration.ofSeconds(1), health.failed(), "an answer starts the count again");
  }

  @Test
  void aServerWithMetricsTakesWorkOnlyOnceTheyAnswerAndWhileTheyDo() {
    ServerHealth health = new ServerHealth(true, Duration.ofSeconds(1), now::get);
    assertFalse(health.healthy(), "not seen answering yet");

    assertEquals(ServerHealth.Scrape.FIRST_ANSWER, health.scraped(true));
    assertTrue(health.healthy());
    assertEquals(ServerHealth.Scrape.UNCHANGED, health.scraped(true));
    assertEquals(ServerHealth.Scrape.STOPPED_ANSWERING, health.scraped(false));
    assertFalse(health.healthy());
    assertEquals(ServerHealth.Scrape.UNCHANGED, health.scraped(false), "said once, not at every scrape");
    assertEquals(ServerHealth.Scrape.ANSWERING_AGAIN, health.scraped(true));
    assertTrue(health.healthy());
  }

  @Test
  void aServerDownAtTheFirstScrapeIsSaidSo() {
    ServerHealth health = new ServerHealth(true, Duration.ofSeconds(1), now::get);
    assertEquals(ServerHealth.Scrape.STOPPED_ANSWERING, health.scraped(false));
  }

  @Test
  void aServerMissingItsModelsEndpointGetsNoSuchWorkForAMinute() {
    ServerHealth health = new ServerHealth(false, Duration.ofSeconds(1), now::get);
    health.endpointMissingFromNow();
    assertTrue(health.endpointMissing());
    assertTrue(health.healthy(), "it is up: it serves something else");
    now.addAndGet(ServerHealth.ENDPOINT_RETRY.toMillis() - 1);
    assertTrue(health.endpointMissing());
    now.addAndGet(1);
    assertFalse(health.endpointMissing(), "tried again after a minute");
  }
}
