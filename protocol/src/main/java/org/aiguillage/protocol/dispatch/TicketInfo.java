package org.aiguillage.protocol.dispatch;

import org.aiguillage.protocol.RoutingMode;

/**
 * What the queue needs to order a ticket. Times are epoch milliseconds so that they survive a hop to another node
 * (a re-asserted ticket keeps its original arrival).
 *
 * @param keyId the public id of the API key (never the secret)
 * @param priority effective priority, 1 (lowest) to 5 (highest)
 * @param maxQueued the key's threshold: the most tickets it may have waiting in this queue
 * @param datacenter the datacentre of the edge the request entered by: between equal servers, one there is chosen
 * @param previousResponseId a Responses API follow-up's {@code previous_response_id}: only the server that answered
 *     that response holds it, so the queue sends the ticket there (null for any other request)
 */
public record TicketInfo(
    String id,
    String model,
    String keyId,
    String organization,
    int priority,
    RoutingMode routingMode,
    long arrivalMillis,
    long deadlineMillis,
    int estimatedTokens,
    int maxQueued,
    String datacenter,
    String previousResponseId) {

  public TicketInfo(String id, String model, String keyId, String organization, int priority,
      RoutingMode routingMode, long arrivalMillis, long deadlineMillis, int estimatedTokens, int maxQueued,
      String datacenter) {
    this(id, model, keyId, organization, priority, routingMode, arrivalMillis, deadlineMillis, estimatedTokens,
        maxQueued, datacenter, null);
  }

  public TicketInfo(String id, String model, String keyId, String organization, int priority,
      RoutingMode routingMode, long arrivalMillis, long deadlineMillis, int estimatedTokens, int maxQueued) {
    this(id, model, keyId, organization, priority, routingMode, arrivalMillis, deadlineMillis, estimatedTokens,
        maxQueued, "default");
  }
}
