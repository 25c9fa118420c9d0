package org.aiguillage.actors.accounts;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The 60 s window's arithmetic on hand-made timelines. */
class RateWindowTest {

  @Test
  void aReservationReleasedAfterItLeftTheWindowIsNotTakenOffTwice() {
    RateWindow window = new RateWindow();
    window.admit("old", 100, 0);
    window.admit("new", 30, 50_000);
    window.prune(70_000); // "old" left the window
    assertEquals(30, window.tokenCount());

    window.release("old"); // e.g. the request waited out its 120 s queue timeout

    assertEquals(30, window.tokenCount());
    assertEquals(30, window.pendingTokens());
  }

  @Test
  void settlingReplacesTheReservationWithWhatTheServerReported() {
    RateWindow window = new RateWindow();
    window.admit("a", 100, 0);
    window.settle("a", 40, 1_000);
    assertEquals(40, window.tokenCount());
    assertEquals(0, window.pendingTokens());
    window.prune(61_000);
    window.settle("late", 10, 61_000); // admitted before this window existed
    assertEquals(10, window.tokenCount());
  }
}
