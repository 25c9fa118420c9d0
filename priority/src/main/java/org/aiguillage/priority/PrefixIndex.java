package org.aiguillage.priority;

import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Which prompt blocks ({@link PromptPrefix}) a queue sent to each server lately: what the server's prefix cache
 * likely still holds. Bounded: at most {@code blocksPerServer} blocks per server, the least recently sent forgotten
 * first, as the server's own cache evicts; a server that restarted or whose cache filled is forgotten whole. About
 * 100 bytes a block (docs/routing.md measures it). Not thread-safe: its queue actor owns it.
 */
public final class PrefixIndex {

  private final int blocksPerServer;
  private final Map<String, LinkedHashMap<Long, Boolean>> byServer = new HashMap<>();

  public PrefixIndex(int blocksPerServer) {
    if (blocksPerServer < 1) {
      throw new IllegalArgumentException("blocksPerServer must be at least 1");
    }
    this.blocksPerServer = blocksPerServer;
  }

  /** A prompt of these blocks went to {@code server}: they are its most recent. */
  public void sent(String server, long[] blocks) {
    if (blocks.length == 0) {
      return;
    }
    LinkedHashMap<Long, Boolean> known = byServer.computeIfAbsent(server, s -> new LinkedHashMap<>(64, 0.75f, true));
    for (long b : blocks) {
      known.put(b, Boolean.TRUE);
    }
    Iterator<Long> oldest = known.keySet().iterator();
    while (known.size() > blocksPerServer && oldest.hasNext()) {
      oldest.next();
      oldest.remove();
    }
  }

  /** How many of {@code blocks}' leading blocks {@code server} was sent lately (its cache would skip them). */
  public int cachedPrefix(String server, long[] blocks) {
    LinkedHashMap<Long, Boolean> known = byServer.get(server);
    if (known == null) {
      return 0;
    }
    int n = 0;
    while (n < blocks.length && known.containsKey(blocks[n])) {
      n++;
    }
    return n;
  }

  /** The server restarted, or its cache filled and evicted what it had: nothing of it is known any more. */
  public void forget(String server) {
    byServer.remove(server);
  }

  /** Blocks known, every server's. */
  public long size() {
    return byServer.values().stream().mapToLong(Map::size).sum();
  }
}
