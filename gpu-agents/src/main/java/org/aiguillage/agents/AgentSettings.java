package org.aiguillage.agents;

import java.time.Duration;

/**
 * How an agent watches its server.
 *
 * @param scrapeInterval how often the agent reads the server's {@code /metrics}
 * @param demandInterval how often the agent repeats its demand, so a queue that moved learns of it
 * @param kvCacheHighWater above this KV-cache use the agent asks for no new work
 * @param maxEventBytes the largest SSE event accepted from the server
 * @param unhealthyBackoff how long a server that failed a call is left without work; each further failure in a
 *     row doubles it, up to 30 s, and its next answer resets it
 * @param firstEventTimeout a streamed call with no event after this long is a stalled server: retried elsewhere
 * @param wholeAnswerTimeout the same for a call that does not stream (its answer comes in one piece, at the end)
 * @param energy what the server's calls cost in energy and emissions
 */
public record AgentSettings(
    Duration scrapeInterval,
    Duration demandInterval,
    double kvCacheHighWater,
    int maxEventBytes,
    Duration unhealthyBackoff,
    Duration firstEventTimeout,
    Duration wholeAnswerTimeout,
    CallEnergy energy) {

  public AgentSettings(Duration scrapeInterval, Duration demandInterval, double kvCacheHighWater, int maxEventBytes,
      Duration unhealthyBackoff, Duration firstEventTimeout, Duration wholeAnswerTimeout) {
    this(scrapeInterval, demandInterval, kvCacheHighWater, maxEventBytes, unhealthyBackoff, firstEventTimeout,
        wholeAnswerTimeout, CallEnergy.UNKNOWN);
  }

  public static AgentSettings defaults() {
    return new AgentSettings(Duration.ofMillis(500), Duration.ofSeconds(1), 0.95, 4 * 1024 * 1024,
        Duration.ofSeconds(1), Duration.ofSeconds(60), Duration.ofMinutes(10));
  }

  public AgentSettings withFirstEventTimeout(Duration timeout) {
    return new AgentSettings(scrapeInterval, demandInterval, kvCacheHighWater, maxEventBytes, unhealthyBackoff,
        timeout, wholeAnswerTimeout, energy);
  }

  public AgentSettings withEnergy(CallEnergy newEnergy) {
    return new AgentSettings(scrapeInterval, demandInterval, kvCacheHighWater, maxEventBytes, unhealthyBackoff,
        firstEventTimeout, wholeAnswerTimeout, newEnergy);
  }
}
