package org.aiguillage.loadtest.sim;

import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * vLLM's KV cache: a fixed number of blocks of {@link SimulatorProfile#BLOCK_TOKENS} tokens, with its automatic
 * prefix caching. A full block of a prompt is known by the hash of its tokens and of every token before it, so two
 * prompts that begin alike share their first blocks. A block no request holds any more stays cached, and is
 * evicted least recently used first only when a request needs the room; a request whose prompt begins with cached
 * blocks takes them and skips their prefill. Not thread-safe: the {@link Scheduler} owns it.
 */
final class KvCache {

  private final long totalBlocks;
  private final boolean prefixCaching;
  /** Blocks that requests hold, each once however many share it. */
  private long held;
  /** Hashed blocks that requests hold, by hash: how many requests hold each. */
  private final Map<Long, Integer> shared = new HashMap<>();
  /** Hashed blocks no request holds, least recently used first: free room that still answers a prefix. */
  private final LinkedHashMap<Long, Boolean> cached = new LinkedHashMap<>(16, 0.75f, true);
  private long queriedTokens;
  private long hitTokens;

  KvCache(long totalBlocks, boolean prefixCaching) {
    this.totalBlocks = totalBlocks;
    this.prefixCaching = prefixCaching;
  }

  long totalBlocks() {
    return totalBlocks;
  }

  /** Blocks not held by a request (cached ones included: they are given up when room is needed). */
  long freeBlocks() {
    return totalBlocks - held;
  }

  /** How many of {@code hashes}' leading blocks the cache has, at most {@code limit}. */
  int cachedPrefix(long[] hashes, int limit) {
    if (!prefixCaching) {
      return 0;
    }
    int n = 0;
    while (n < Math.min(limit, hashes.length) && (shared.containsKey(hashes[n]) || cached.containsKey(hashes[n]))) {
      n++;
    }
    return n;
  }

  /** Of a cached prefix of {@code n} blocks, how many other requests already hold (taking them costs no room). */
  long heldByOthers(long[] hashes, int n) {
    long count = 0;
    for (int i = 0; i < n; i++) {
      if (shared.containsKey(hashes[i])) {
        count++;
      }
    }
    return count;
  }

  /**
   * A request takes its cached prefix of {@code hit} blocks, and the room for its next {@code fresh} hashed blocks
   * (registered under their hashes, so that the next request with this prefix finds them) and {@code anonymous}
   * others. The caller checked the room ({@link #freeBlocks}, less {@link #heldByOthers}).
   *
   * @return the prompt tokens found in the cache
   */
  long take(long[] hashes, int hit, int fresh, long anonymous, int promptTokens) {
    long found = Math.min((long) hit * SimulatorProfile.BLOCK_TOKENS, promptTokens);
    queriedTokens += promptTokens;
    hitTokens += found;
    holdHashed(hashes, 0, hit + fresh);
    grow(anonymous);
    return found;
  }

  /**
   * A request holds {@code count} of its prompt's blocks under their hashes, from {@code from}: its cached prefix when
   * it is admitted, then the chunks it computes, step by step (so that the next request with this prefix finds them).
   */
  void holdHashed(long[] hashes, int from, int count) {
    for (int i = from; i < from + count; i++) {
      hold(hashes[i]);
    }
    evictBeyondRoom();
  }

  /** More room for a request's output. */
  void grow(long anonymous) {
    held += anonymous;
    evictBeyondRoom();
  }

  /** A request ends or is preempted: its hashed blocks stay cached, the others are free. */
  void release(long[] hashes, int hashed, long anonymous) {
    for (int i = 0; i < hashed; i++) {
      long h = hashes[i];
      int left = shared.merge(h, -1, Integer::sum);
      if (left <= 0) {
        shared.remove(h);
        held--;
        if (prefixCaching) {
          cached.put(h, Boolean.TRUE);
        }
      }
    }
    held -= anonymous;
  }

  /** Prompt tokens looked up in the cache, and found: vLLM's {@code prefix_cache_queries} and {@code _hits}. */
  long queriedTokens() {
    return queriedTokens;
  }

  long hitTokens() {
    return hitTokens;
  }

  /** Cached blocks no request holds. */
  int cachedBlocks() {
    return cached.size();
  }

  private void hold(long h) {
    Integer holders = shared.get(h);
    if (holders != null) {
      shared.put(h, holders + 1);
      return;
    }
    cached.remove(h);
    shared.put(h, 1);
    held++;
  }

  /** Cached blocks live in the free room: when requests take it, the least recently used go. */
  private void evictBeyondRoom() {
    Iterator<Long> lru = cached.keySet().iterator();
    while (cached.size() > totalBlocks - held && lru.hasNext()) {
      lru.next();
      lru.remove();
    }
  }
}
