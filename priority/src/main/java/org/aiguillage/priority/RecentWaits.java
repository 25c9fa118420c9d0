package org.aiguillage.priority;

import java.util.Arrays;

/**
 * The queue waits of the last few minutes, for the status page's "queue wait p50 over the last 5 minutes": a ring
 * of the newest waits with their times, so memory stays bounded however busy the model is (at 20 requests a
 * second, 4,096 entries hold the last 3 minutes and a half; the median of those is the answer then).
 */
public final class RecentWaits {

  private final long[] atMillis;
  private final long[] waitMillis;
  private int next;
  private int size;

  public RecentWaits(int capacity) {
    atMillis = new long[capacity];
    waitMillis = new long[capacity];
  }

  public void record(long nowMillis, long wait) {
    atMillis[next] = nowMillis;
    waitMillis[next] = wait;
    next = (next + 1) % atMillis.length;
    size = Math.min(size + 1, atMillis.length);
  }

  /** The median of the waits recorded since {@code sinceMillis}; -1 when there is none. */
  public long median(long sinceMillis) {
    long[] recent = new long[size];
    int n = 0;
    for (int i = 0; i < size; i++) {
      if (atMillis[i] >= sinceMillis) {
        recent[n++] = waitMillis[i];
      }
    }
    if (n == 0) {
      return -1;
    }
    Arrays.sort(recent, 0, n);
    return recent[(n - 1) / 2];
  }
}
