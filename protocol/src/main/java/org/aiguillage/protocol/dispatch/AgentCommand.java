package org.aiguillage.protocol.dispatch;

import org.aiguillage.protocol.CborSerializable;
import org.apache.pekko.actor.typed.ActorRef;

/** Messages a {@code GpuAgent} (one per inference server) understands from other actors. */
public interface AgentCommand extends CborSerializable {

  /** The queue gives the agent a ticket; the agent accepts (and calls its server) or refuses. */
  record Assign(DispatchTicket ticket, ActorRef<QueueCommand> queue) implements AgentCommand {}

  /** The request actor gave up before the answer started (client gone): abort the server call. */
  record CancelCall(String ticketId) implements AgentCommand {}

  /**
   * Stop taking work and finish the calls in flight (the node is leaving). The agent answers {@code replyTo} once
   * it has none left; {@code stopWhenIdle} then stops it (its singleton moves to another node).
   */
  record Drain(ActorRef<org.apache.pekko.Done> replyTo, boolean stopWhenIdle) implements AgentCommand {}

  /**
   * The server's configuration changed (its file or the admin API: ceilings, organisation, token): calls in flight
   * go on as they are, new work follows {@code server}.
   */
  record Reconfigure(org.aiguillage.protocol.config.ServerConfig server) implements AgentCommand {}
}
