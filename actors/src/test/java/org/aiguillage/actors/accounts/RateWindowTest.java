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

  @Test
  void anAccountWithoutLimitsKeepsOnlyItsLastMinuteOfSettledCalls() {
    // Nothing is admitted (no limit), every call is settled: the window held each one for ever before (issue 24).
    RateWindow window = new RateWindow();
    for (int i = 0; i < 20_000; i++) {
      window.settle("t" + i, 64, i * 100L); // 10 calls a second for 2,000 s
    }
    assertEquals(600, window.size(), "one minute of calls at 10 a second");
    window.settle("last", 64, 20_000 * 100L + RateWindow.WINDOW_MILLIS);
    assertEquals(1, window.size());
  }

  @Test
  void admittedAndSettledCallsLeaveNothingBehindOnceTheirMinuteHasPassed() {
    RateWindow window = new RateWindow();
    for (int i = 0; i < 10_000; i++) {
      long now = i * 100L;
      window.admit("t" + i, 200, now);
      if (i % 10 == 0) {
        window.release("t" + i); // refused further on: never reached a server
      } else {
        window.settle("t" + i, 64, now + 50);
      }
    }
    window.prune(10_000 * 100L + RateWindow.WINDOW_MILLIS);
    assertEquals(0, window.size());
    assertEquals(0, window.pendingTokens());
  }

  @Test
  void aCallThatUsedNoTokensTakesNoRoomInAWindowThatNeverAdmittedIt() {
    RateWindow window = new RateWindow();
    window.settle("cancelled-in-queue", 0, 1_000);
    assertEquals(0, window.size());
  }
}
