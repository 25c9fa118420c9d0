package org.aiguillage.priority;

import org.aiguillage.protocol.RoutingMode;

/**
 * What the queue orders by. Plain data: the actor layer keeps its payload (the waiting request) beside it.
 *
 * @param priority 1 (lowest) and up; higher goes first; {@link #BATCH} for a batch's line, after every other
 * @param arrivalMillis when the request first arrived; kept across re-enqueues so a ticket keeps its place
 * @param server the one server that may serve it (a follow-up of an answer only that server keeps), or null for any
 */
public record Ticket(
    String id, String keyId, String organization, int priority, RoutingMode routingMode, long arrivalMillis,
    String server) {

  /** The priority of a batch's lines: below every interactive one, and it does not age. */
  public static final int BATCH = 0;

  public boolean batch() {
    return priority <= BATCH;
  }

  public Ticket(String id, String keyId, String organization, int priority, RoutingMode routingMode,
      long arrivalMillis) {
    this(id, keyId, organization, priority, routingMode, arrivalMillis, null);
  }
}
