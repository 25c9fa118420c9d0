package org.aiguillage.priority;

import java.util.LinkedHashMap;
import java.util.Map;

/** Bounded memories: maps that forget their least recently used entry past a size. */
public final class LeastRecentlyUsed {

  private LeastRecentlyUsed() {}

  /** A map of at most {@code most} entries, in access order; not thread-safe (an actor's or a queue's own). */
  public static <K, V> Map<K, V> map(int most) {
    return new LinkedHashMap<>(1024, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<K, V> eldest) {
        return size() > most;
      }
    };
  }
}
