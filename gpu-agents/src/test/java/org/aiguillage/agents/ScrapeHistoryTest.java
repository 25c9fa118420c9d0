package org.aiguillage.agents;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ScrapeHistoryTest {

  private final ScrapeHistory scrapes = new ScrapeHistory();

  @Test
  void aServerQueueingScrapeAfterScrapeAtTheSameRunningCountShowsItsBatchLimit() {
    scrapes.observe(new ServerLoad(16, 5, 0.4), 21, false, 0);
    scrapes.observe(new ServerLoad(16, 7, 0.4), 23, false, 500);
    assertEquals(-1, scrapes.batchLimit(), "not yet: two scrapes could be chance");

    scrapes.observe(new ServerLoad(16, 4, 0.4), 20, false, 1_000);

    assertEquals(16, scrapes.batchLimit());
  }

  @Test
  void oneScrapeShowingAQueueWhileACallOfOursWaitsFarLongerThanUsualShowsTheBatchLimit() {
    scrapes.observe(new ServerLoad(16, 5, 0.4), 21, true, 0);

    assertEquals(16, scrapes.batchLimit());
  }

  @Test
  void requestsWaitingOnlyForTheNextEngineStepTeachNothing() {
    // A server with room under load: a few requests between arrival and the next step, at varying running counts.
    int[][] seen = {{40, 2}, {44, 1}, {43, 0}, {47, 3}, {47, 0}, {50, 1}, {49, 2}, {49, 1}, {52, 0}};
    long now = 0;
    for (int[] s : seen) {
      scrapes.observe(new ServerLoad(s[0], s[1], 0.3), s[0] + s[1], false, now += 500);
    }

    assertEquals(-1, scrapes.batchLimit());
  }

  @Test
  void aServerQueueingLongPromptsBelowWhatItRanLatelyTeachesNoLimit() {
    // Past capacity with 10,000-token prompts: each step's budget goes to the prompts it runs, the rest wait, at
    // whatever running count those prompts leave; calls of ours wait long for their first token.
    int[][] seen = {{30, 4}, {16, 9}, {16, 11}, {16, 8}, {22, 6}, {19, 12}};
    long now = 0;
    for (int[] s : seen) {
      scrapes.observe(new ServerLoad(s[0], s[1], 0.3), s[0] + s[1], true, now += 500);
    }
    assertEquals(30, scrapes.batchLimit(), "learnt at the most it ran, not below");

    ScrapeHistory fresh = new ScrapeHistory();
    fresh.observe(new ServerLoad(30, 0, 0.3), 30, false, 0);
    for (int i = 1; i <= ScrapeHistory.CONFIRMATIONS; i++) {
      fresh.observe(new ServerLoad(16, 9, 0.3), 25, true, i * 500L);
    }
    assertEquals(-1, fresh.batchLimit(), "16 is not a ceiling for a server that ran 30");
    fresh.observe(new ServerLoad(16, 9, 0.95), 25, true, 2_500);
    assertEquals(16, fresh.batchLimit(), "with its KV cache full, it is");
  }

  @Test
  void aLearnedLimitRisesWhenTheServerRunsMoreAndIsForgottenWhenNotSeenAgain() {
    for (int i = 0; i < ScrapeHistory.CONFIRMATIONS; i++) {
      scrapes.observe(new ServerLoad(16, 5, 0.4), 21, false, i * 500L);
    }
    scrapes.observe(new ServerLoad(20, 0, 0.4), 20, false, 2_000);
    assertEquals(20, scrapes.batchLimit(), "it ran 20: its limit is at least that");

    scrapes.observe(new ServerLoad(8, 0, 0.2), 8, false, ScrapeHistory.MEMORY_MILLIS + 1_001);

    assertEquals(-1, scrapes.batchLimit());
  }

  @Test
  void callsOnTheServerThatAreNotTheAgentsAreCountedAsOthers() {
    scrapes.observe(new ServerLoad(12, 3, 0.4), 5, false, 0);
    assertEquals(10, scrapes.otherCalls());

    // Calls the agent opened after the server counted: never below zero.
    scrapes.observe(new ServerLoad(2, 0, 0.1), 6, false, 500);
    assertEquals(0, scrapes.otherCalls());
  }

  @Test
  void aServerWithoutMetricsOrWhoseScrapeFailsTellsNothing() {
    for (int i = 0; i < ScrapeHistory.CONFIRMATIONS; i++) {
      scrapes.observe(new ServerLoad(16, 5, 0.4), 0, false, i * 500L);
    }

    scrapes.observe(ServerLoad.UNKNOWN, 3, false, 2_000);
    assertEquals(0, scrapes.otherCalls());
    scrapes.forget();

    assertEquals(-1, scrapes.batchLimit());
  }

  @Test
  void aServerIsBackloggedWhenItsQueueOutlastsAScrapeIntervalNotWhenOneScrapeCatchesArrivals() {
    scrapes.observe(new ServerLoad(45, 2, 0.3), 47, false, 0);
    assertFalse(scrapes.backlogged(0), "two requests between arrival and their first engine step");
    scrapes.observe(new ServerLoad(46, 0, 0.3), 46, false, 500);
    scrapes.observe(new ServerLoad(16, 3, 0.3), 19, false, 1_000);
    assertFalse(scrapes.backlogged(0));

    scrapes.observe(new ServerLoad(16, 5, 0.3), 21, false, 1_500);

    assertTrue(scrapes.backlogged(0));
    assertFalse(scrapes.backlogged(5), "up to 5 waiting tolerated");
    assertFalse(scrapes.backlogged(-1), "-1: the server's queue is ignored");
  }
}
