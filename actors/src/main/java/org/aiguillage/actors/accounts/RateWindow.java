package org.aiguillage.actors.accounts;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * The last 60 seconds of a key's requests and tokens, exact (one entry per request, no buckets). A request's tokens
 * are reserved at admission (its prompt estimate plus {@code max_tokens}, as OpenAI counts) and settled to what the
 * server reported when the call ends, so concurrent requests cannot all slip under a limit before any has finished.
 */
final class RateWindow {

  static final long WINDOW_MILLIS = 60_000;

  private static final class Entry {
    final long atMillis;
    long tokens;
    /** Left the window: its tokens no longer count in {@code tokenSum}. */
    boolean pruned;

    Entry(long atMillis, long tokens) {
      this.atMillis = atMillis;
      this.tokens = tokens;
    }
  }

  private final ArrayDeque<Long> requests = new ArrayDeque<>();
  private final ArrayDeque<Entry> tokens = new ArrayDeque<>();
  private final Map<String, Entry> reserved = new HashMap<>();
  private long tokenSum;
  /** The tokens still reserved by calls not yet settled (kept, not summed on each admission). */
  private long reservedSum;

  void prune(long now) {
    while (!requests.isEmpty() && requests.peekFirst() <= now - WINDOW_MILLIS) {
      requests.pollFirst();
    }
    while (!tokens.isEmpty() && tokens.peekFirst().atMillis <= now - WINDOW_MILLIS) {
      Entry old = tokens.pollFirst();
      old.pruned = true;
      tokenSum -= old.tokens;
    }
  }

  /** Entries held: requests, token entries and reservations (what this window costs in memory). */
  int size() {
    return requests.size() + tokens.size() + reserved.size();
  }

  int requestCount() {
    return requests.size();
  }

  long tokenCount() {
    return tokenSum;
  }

  long pendingTokens() {
    return reservedSum;
  }

  /** Milliseconds until the oldest request leaves the window. */
  long requestsResetMillis(long now) {
    return requests.isEmpty() ? 0 : requests.peekFirst() + WINDOW_MILLIS - now;
  }

  /** Milliseconds until enough tokens leave the window for {@code needed} more to fit under {@code limit}. */
  long tokensResetMillis(long now, long limit, long needed) {
    long over = tokenSum + needed - limit;
    long freed = 0;
    for (Entry e : tokens) {
      if (freed >= over) {
        return e.atMillis + WINDOW_MILLIS - now;
      }
      freed += e.tokens;
      if (freed >= over) {
        return e.atMillis + WINDOW_MILLIS - now;
      }
    }
    return tokens.isEmpty() ? 0 : tokens.peekLast().atMillis + WINDOW_MILLIS - now;
  }

  void admit(String ticketId, long estimatedTokens, long now) {
    requests.addLast(now);
    Entry entry = new Entry(now, estimatedTokens);
    tokens.addLast(entry);
    tokenSum += estimatedTokens;
    reservedSum += estimatedTokens;
    reserved.put(ticketId, entry);
  }

  /**
   * The call ended with {@code actual} tokens. A call this window never admitted (its account has no limit, or it
   * was admitted before the account moved here) is counted now. Pruned here too, not only at admission: an account
   * without limits admits nothing, and its window would otherwise keep every call it ever settled.
   */
  void settle(String ticketId, long actual, long now) {
    prune(now);
    Entry entry = reserved.remove(ticketId);
    if (entry == null) {
      if (actual <= 0) {
        return;
      }
      entry = new Entry(now, 0);
      tokens.addLast(entry);
    } else {
      reservedSum -= entry.tokens;
    }
    if (!entry.pruned) {
      tokenSum += actual - entry.tokens;
      entry.tokens = actual;
    }
  }

  /** The call never reached a server: its reservation goes. */
  void release(String ticketId) {
    Entry entry = reserved.remove(ticketId);
    if (entry != null) {
      reservedSum -= entry.tokens;
      if (!entry.pruned) {
        tokenSum -= entry.tokens;
        entry.tokens = 0;
      }
    }
  }

  /** Tokens of a call that ended {@code atMillis}, seen again while the account recovers. */
  void replay(long tokensUsed, long atMillis, long now) {
    prune(now);
    if (atMillis > now - WINDOW_MILLIS) {
      tokens.addLast(new Entry(atMillis, tokensUsed));
      tokenSum += tokensUsed;
    }
  }
}
