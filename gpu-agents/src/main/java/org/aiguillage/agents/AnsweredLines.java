package org.aiguillage.agents;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.aiguillage.protocol.dispatch.RequestCommand;

/**
 * The answers an agent gave to batch lines lately, by ticket id (a batch line's id is its batch's and its line's):
 * when the node that ran a batch dies after the server answered a line but before the batch wrote the answer down,
 * the line comes back with the same id, and the agent hands over the answer it kept instead of having the server
 * compute it again. Bounded by bytes and by age, oldest out. Not thread-safe: its agent's.
 */
final class AnsweredLines {

  private record Kept(RequestCommand.Whole answer, long atMillis) {}

  private final long maxBytes;
  private final long maxAgeMillis;
  private final LinkedHashMap<String, Kept> kept = new LinkedHashMap<>();
  private long bytes;

  AnsweredLines(long maxBytes, long maxAgeMillis) {
    this.maxBytes = maxBytes;
    this.maxAgeMillis = maxAgeMillis;
  }

  void keep(RequestCommand.Whole answer, long nowMillis) {
    Kept previous = kept.remove(answer.ticketId());
    if (previous != null) {
      bytes -= previous.answer().body().length;
    }
    kept.put(answer.ticketId(), new Kept(answer, nowMillis));
    bytes += answer.body().length;
    evict(nowMillis);
  }

  /** The answer kept for this ticket, if any and not too old. */
  Optional<RequestCommand.Whole> find(String ticketId, long nowMillis) {
    evict(nowMillis);
    Kept k = kept.get(ticketId);
    return k == null ? Optional.empty() : Optional.of(k.answer());
  }

  long bytes() {
    return bytes;
  }

  private void evict(long nowMillis) {
    for (Iterator<Map.Entry<String, Kept>> it = kept.entrySet().iterator(); it.hasNext(); ) {
      Kept oldest = it.next().getValue();
      if (bytes <= maxBytes && nowMillis - oldest.atMillis() <= maxAgeMillis) {
        return;
      }
      bytes -= oldest.answer().body().length;
      it.remove();
    }
  }
}
