package org.aiguillage.loadtest.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** vLLM's prefix caching, block by block: shared prefixes, blocks held once, least recently used out. */
class KvCacheTest {

  /** A prompt of {@code shared} words every prompt begins with, then {@code own} words of its own. */
  private static long[] prompt(String own, int sharedWords, int ownWords) {
    List<String> tokens = new ArrayList<>();
    for (int i = 0; i < sharedWords; i++) {
      tokens.add("system" + i);
    }
    for (int i = 0; i < ownWords; i++) {
      tokens.add(own + i);
    }
    return SimulatedText.blockHashes(tokens);
  }

  @Test
  void aPromptThatBeginsLikeAFinishedOneTakesItsCachedBlocks() {
    KvCache cache = new KvCache(100, true);
    long[] first = prompt("a", 64, 32); // 6 full blocks, the first 4 shared
    long[] second = prompt("b", 64, 32);

    cache.take(first, cache.cachedPrefix(first, 6), 6, 1, 100);
    cache.release(first, 6, 1);
    int hit = cache.cachedPrefix(second, 6);
    cache.take(second, hit, 6 - hit, 1, 100);

    assertEquals(4, hit, "the system prompt's 64 tokens");
    assertEquals(200, cache.queriedTokens());
    assertEquals(64, cache.hitTokens());
    assertEquals(100 - 7, cache.freeBlocks(), "the second holds 7 blocks; the first's 2 own blocks stay cached");
    assertEquals(2, cache.cachedBlocks());
  }

  @Test
  void blocksTwoRunningRequestsShareAreHeldOnce() {
    KvCache cache = new KvCache(100, true);
    long[] first = prompt("a", 64, 0);
    long[] second = prompt("b", 64, 16);

    cache.take(first, 0, 4, 0, 64);
    int hit = cache.cachedPrefix(second, 5);

    assertEquals(4, hit);
    assertEquals(4, cache.heldByOthers(second, hit), "taking them needs no room");
    cache.take(second, hit, 1, 0, 80);
    assertEquals(100 - 5, cache.freeBlocks());
    cache.release(first, 4, 0);
    assertEquals(100 - 5, cache.freeBlocks(), "the second still holds the shared four");
    cache.release(second, 5, 0);
    assertEquals(100, cache.freeBlocks());
    assertEquals(5, cache.cachedBlocks());
  }

  @Test
  void cachedBlocksGoLeastRecentlyUsedFirstWhenRequestsNeedTheRoom() {
    KvCache cache = new KvCache(10, true);
    long[] old = prompt("old", 0, 64);
    long[] recent = prompt("recent", 0, 64);
    cache.take(old, 0, 4, 0, 64);
    cache.release(old, 4, 0);
    cache.take(recent, 0, 4, 0, 64);
    cache.release(recent, 4, 0);

    cache.grow(4); // 4 blocks of output: 2 cached blocks must go, the oldest ones

    assertEquals(0, cache.cachedPrefix(old, 4), "the old prompt's first block went");
    assertEquals(4, cache.cachedPrefix(recent, 4));
    assertEquals(6, cache.cachedBlocks());
  }

  @Test
  void withoutPrefixCachingNothingIsFound() {
    KvCache cache = new KvCache(100, false);
    long[] p = prompt("a", 64, 0);
    cache.take(p, 0, 4, 0, 64);
    cache.release(p, 4, 0);

    assertEquals(0, cache.cachedPrefix(p, 4));
    assertEquals(0, cache.cachedBlocks());
    assertEquals(100, cache.freeBlocks());
  }
}
