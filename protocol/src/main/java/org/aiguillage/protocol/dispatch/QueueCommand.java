package org.aiguillage.protocol.dispatch;

import org.aiguillage.protocol.CborSerializable;
import org.apache.pekko.actor.typed.ActorRef;

/** Messages a {@code ModelQueue} (one sharded entity per model) understands. */
public interface QueueCommand extends CborSerializable {

  /** A request actor asks for a place in the queue. */
  record Enqueue(DispatchTicket ticket) implements QueueCommand {}

  /**
   * A request actor renews its lease on a waiting ticket. A queue that does not know the ticket (it restarted
   * elsewhere) enqueues it with its original arrival time.
   */
  record Reassert(DispatchTicket ticket) implements QueueCommand {}

  /** The request actor no longer wants the ticket served (client gone, deadline passed). */
  record Withdraw(String ticketId) implements QueueCommand {}

  /**
   * An agent has room. {@code freeSlots} is its own count when it sent this; {@code assignsSeen} is how many
   * {@link AgentCommand.Assign}s it had received by then, so the queue can subtract the ones still in flight.
   */
  record Demand(
      String serverId,
      ActorRef<AgentCommand> agent,
      String organization,
      String datacenter,
      int freeSlots,
      long assignsSeen,
      LoadSnapshot snapshot) implements QueueCommand {}

  /** The agent took the assignment and is calling its server. */
  record AssignAccepted(String ticketId, String serverId) implements QueueCommand {}

  /** The agent's fresh view no longer fits the assignment: the ticket goes back to its place. */
  record AssignRefused(String ticketId, String serverId) implements QueueCommand {}

  /** The agent stops taking work for this model (drain, shutdown, server unhealthy). */
  record DemandWithdrawn(String serverId) implements QueueCommand {}

  /** What the queue knows of its servers and tickets now, for operators. */
  /**
   * A server answered a Responses API call with this response id and keeps it: a follow-up naming it as its
   * {@code previous_response_id} must go to that server.
   */
  record ResponseStored(String responseId, String serverId) implements QueueCommand {}

  record GetFleet(ActorRef<Fleet> replyTo) implements QueueCommand {}

  /**
   * @param waitingTickets tickets waiting for a server
   * @param servers the agents that asked for work lately
   * @param recentWaitP50Millis the median queue wait of the last 5 minutes; -1 when nothing was handed over then
   */
  record Fleet(String model, int waitingTickets, java.util.List<ServerView> servers, long recentWaitP50Millis)
      implements CborSerializable {

    public Fleet(String model, int waitingTickets, java.util.List<ServerView> servers) {
      this(model, waitingTickets, servers, -1);
    }
  }

  /** One server as its queue sees it: its agent's last demand. */
  record ServerView(String serverId, String organization, String datacenter, int credit, LoadSnapshot snapshot,
      long lastDemandMillisAgo) implements CborSerializable {}
}
