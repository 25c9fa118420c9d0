package org.aiguillage.agents;

import java.util.function.LongSupplier;

/**
 * Shares a server's busy time among the calls it runs: while n calls run, each gets 1/n of every second. It keeps
 * one running sum, the seconds a call running since the server's start would have had; a call's share is that sum
 * at its end less the sum at its start, so no call is visited when another starts or ends.
 *
 * <p>Thread-safe: the agent starts and ends calls, and a stream's stage reads a call's share so far when the usage
 * chunk passes.
 */
final class EnergyMeter {

  private final LongSupplier nanoTime;
  private double shareSeconds;
  private long accruedAt;
  private int running;

  EnergyMeter(LongSupplier nanoTime) {
    this.nanoTime = nanoTime;
    this.accruedAt = nanoTime.getAsLong();
  }

  /** A call starts: what its share is counted from. */
  synchronized double start() {
    accrue();
    running++;
    return shareSeconds;
  }

  /** A call that started at {@code mark} ends: its share of the server's time, in seconds. */
  synchronized double end(double mark) {
    accrue();
    running = Math.max(0, running - 1);
    return shareSeconds - mark;
  }

  /** The share so far of a call that started at {@code mark} and still runs. */
  synchronized double shareSince(double mark) {
    accrue();
    return shareSeconds - mark;
  }

  synchronized int running() {
    return running;
  }

  private void accrue() {
    long now = nanoTime.getAsLong();
    if (running > 0) {
      shareSeconds += (now - accruedAt) / 1e9 / running;
    }
    accruedAt = now;
  }
}
