package org.aiguillage.protocol.accounting;

import org.aiguillage.protocol.CborSerializable;

/**
 * One server call as it is accounted: who asked, who served, what it cost. Made by the agent when the call ends;
 * the ledger keeps it and the key's account settles its token count.
 *
 * @param status 200 for a completed answer, the server's status for its own error, 499 when the client went away,
 *     502 when the server broke the stream after its first event
 * @param queueWaitMillis from the request's arrival to the start of this call
 * @param ttftMillis from the request's arrival to the first event (or the whole answer), queue wait included; -1
 *     when nothing came
 * @param energyJoules the call's energy, its datacentre's overhead (PUE) included: the server's power times this
 *     call's share of its busy time, or an estimate from the model's size and the tokens (see {@code energyMethod})
 * @param audioSeconds the seconds of audio a speech-to-text call heard (as the server said, else as the edge read
 *     the file); 0 for any other call
 * @param co2eGrams the emissions of that energy at its datacentre's carbon intensity; 0 where none is declared
 * @param energyMethod how the energy was had: {@code power} (the server's declared or GPU power), {@code
 *     ecologits} (estimated from the model's size), {@code none}
 */
public record UsageRecord(
    String ticketId,
    String keyId,
    String organization,
    String model,
    String serverId,
    String serverOrganization,
    long promptTokens,
    long completionTokens,
    long queueWaitMillis,
    long ttftMillis,
    long durationMillis,
    int status,
    int priority,
    String routingMode,
    double energyJoules,
    long endedAtMillis,
    double audioSeconds,
    double co2eGrams,
    String energyMethod) implements CborSerializable {

  public UsageRecord {
    energyMethod = energyMethod == null ? (energyJoules > 0 ? "power" : "none") : energyMethod;
  }

  public UsageRecord(String ticketId, String keyId, String organization, String model, String serverId,
      String serverOrganization, long promptTokens, long completionTokens, long queueWaitMillis, long ttftMillis,
      long durationMillis, int status, int priority, String routingMode, double energyJoules, long endedAtMillis,
      double audioSeconds) {
    this(ticketId, keyId, organization, model, serverId, serverOrganization, promptTokens, completionTokens,
        queueWaitMillis, ttftMillis, durationMillis, status, priority, routingMode, energyJoules, endedAtMillis,
        audioSeconds, 0, null);
  }

  public UsageRecord(String ticketId, String keyId, String organization, String model, String serverId,
      String serverOrganization, long promptTokens, long completionTokens, long queueWaitMillis, long ttftMillis,
      long durationMillis, int status, int priority, String routingMode, double energyJoules, long endedAtMillis) {
    this(ticketId, keyId, organization, model, serverId, serverOrganization, promptTokens, completionTokens,
        queueWaitMillis, ttftMillis, durationMillis, status, priority, routingMode, energyJoules, endedAtMillis, 0);
  }

  public long totalTokens() {
    return promptTokens + completionTokens;
  }
}
