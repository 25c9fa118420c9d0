package org.aiguillage.priority;

import org.aiguillage.protocol.RoutingMode;

/**
 * What the queue orders by. Plain data: the actor layer keeps its payload (the waiting request) beside it.
 *
 * @param priority 1 (lowest) and up; higher goes first
 * @param arrivalMillis when the request first arrived; kept across re-enqueues so a ticket keeps its place
 */
public record Ticket(
    String id, String keyId, String organization, int priority, RoutingMode routingMode, long arrivalMillis) {}
