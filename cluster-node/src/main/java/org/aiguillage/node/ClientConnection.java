package org.aiguillage.node;

import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.Done;

/**
 * One client connection's end, told to the requests it is serving at that moment (decision 003). A request listens
 * only while it waits for its answer to start: a connection kept alive for hours by Open WebUI or an SDK serves
 * thousands of requests, and a callback each left on one future for the connection's life would keep every
 * finished request (its actor, its ticket, its answer) reachable until the client hangs up.
 */
final class ClientConnection {

  private final Set<CompletableFuture<Done>> listening = ConcurrentHashMap.newKeySet();
  private volatile boolean closed;

  /**
   * A signal that completes if the connection closes before {@code answered} completes. From then on the
   * connection forgets it; a streamed answer learns of the client leaving through its own stream's cancellation.
   */
  CompletionStage<Done> goneBefore(CompletionStage<?> answered) {
    CompletableFuture<Done> gone = new CompletableFuture<>();
    listening.add(gone);
    if (closed) {
      gone.complete(Done.getInstance());
    }
    answered.whenComplete((a, failure) -> listening.remove(gone));
    return gone;
  }

  /** The connection ended: every request still waiting hears it. */
  void close() {
    closed = true;
    listening.forEach(gone -> gone.complete(Done.getInstance()));
    listening.clear();
  }

  /** Requests waiting on this connection right now. */
  int listening() {
    return listening.size();
  }
}
