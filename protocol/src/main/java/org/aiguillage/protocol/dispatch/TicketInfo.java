package org.aiguillage.protocol.dispatch;

import org.aiguillage.protocol.RoutingMode;

/**
 * What the queue needs to order a ticket. Times are epoch milliseconds so that they survive a hop to another node
 * (a re-asserted ticket keeps its original arrival).
 *
 * @param keyId the public id of the API key (never the secret)
 * @param priority effective priority, 1 (lowest) to 5 (highest); {@link #BATCH_PRIORITY} for a batch's line
 * @param maxQueued the key's threshold: the most tickets it may have waiting in this queue
 * @param datacenter the datacentre of the edge the request entered by: between equal servers, one there is chosen
 * @param previousResponseId a Responses API follow-up's {@code previous_response_id}: only the server that answered
 *     that response holds it, so the queue sends the ticket there (null for any other request)
 * @param prefix the hashes of the prompt's blocks ({@code PromptPrefix}): a server sent the same beginning lately
 *     likely holds it in its prefix cache (empty when the request has no prompt to speak of)
 * @param session the conversation the client named (the OpenAI {@code user} field, or {@code x-session-id}): kept on
 *     its server while that server has room (null when none)
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
    String previousResponseId,
    long[] prefix,
    String session) {

  private static final long[] NO_PREFIX = new long[0];

  /** A batch's lines: below every interactive priority, served only where a server has room left. */
  public static final int BATCH_PRIORITY = 0;

  public TicketInfo {
    prefix = prefix == null ? NO_PREFIX : prefix;
  }

  public TicketInfo(String id, String model, String keyId, String organization, int priority,
      RoutingMode routingMode, long arrivalMillis, long deadlineMillis, int estimatedTokens, int maxQueued,
      String datacenter, String previousResponseId) {
    this(id, model, keyId, organization, priority, routingMode, arrivalMillis, deadlineMillis, estimatedTokens,
        maxQueued, datacenter, previousResponseId, NO_PREFIX, null);
  }

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

  /** Whether this is a batch's line ({@code POST /v1/batches}). */
  public boolean batch() {
    return priority <= BATCH_PRIORITY;
  }

  /**
   * This request as a batch's line: the lowest class, waiting until {@code deadlineMillis} (its batch's expiry), not
   * counted against its key's threshold of waiting tickets (its batch sends a bounded number at once), under the id
   * of its batch and line ({@code lineId}), the same each time the line is sent.
   */
  public TicketInfo asBatchLine(String lineId, long deadlineMillis) {
    return new TicketInfo(lineId, model, keyId, organization, BATCH_PRIORITY, routingMode, arrivalMillis, deadlineMillis,
        estimatedTokens, Integer.MAX_VALUE, datacenter, previousResponseId, prefix, session);
  }

  /** Value equality, the prefix's blocks compared by content (a record compares arrays by identity). */
  @Override
  public boolean equals(Object o) {
    return o instanceof TicketInfo t && id.equals(t.id) && java.util.Objects.equals(model, t.model)
        && java.util.Objects.equals(keyId, t.keyId) && java.util.Objects.equals(organization, t.organization)
        && priority == t.priority && routingMode == t.routingMode && arrivalMillis == t.arrivalMillis
        && deadlineMillis == t.deadlineMillis && estimatedTokens == t.estimatedTokens && maxQueued == t.maxQueued
        && java.util.Objects.equals(datacenter, t.datacenter)
        && java.util.Objects.equals(previousResponseId, t.previousResponseId)
        && java.util.Arrays.equals(prefix, t.prefix) && java.util.Objects.equals(session, t.session);
  }

  @Override
  public int hashCode() {
    return java.util.Objects.hash(id, model, keyId, organization, priority, routingMode, arrivalMillis,
        deadlineMillis, estimatedTokens, maxQueued, datacenter, previousResponseId, java.util.Arrays.hashCode(prefix),
        session);
  }

  @Override
  public String toString() {
    return "TicketInfo[id=" + id + ", model=" + model + ", keyId=" + keyId + ", organization=" + organization
        + ", priority=" + priority + ", routingMode=" + routingMode + ", arrivalMillis=" + arrivalMillis
        + ", deadlineMillis=" + deadlineMillis + ", estimatedTokens=" + estimatedTokens + ", maxQueued=" + maxQueued
        + ", datacenter=" + datacenter + ", previousResponseId=" + previousResponseId + ", prefix=" + prefix.length
        + " blocks, session=" + session + "]";
  }
}
