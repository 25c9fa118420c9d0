package org.aiguillage.protocol.dispatch;

import org.aiguillage.protocol.CborSerializable;
import org.aiguillage.protocol.openai.OpenAiError;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.stream.SourceRef;
import org.apache.pekko.util.ByteString;

/** Messages the edge's request actor understands from the queue and the agents. */
public interface RequestCommand extends CborSerializable {

  /** An agent accepted the ticket and is calling its server: the queue's lease ends, the agent's begins. */
  record Started(String ticketId, String serverId, ActorRef<AgentCommand> agent) implements RequestCommand {}

  /**
   * The server's answer to a streamed call, after its first event: SSE frames, one per element, ending with
   * {@code data: [DONE]}. Back-pressured and cancellable across nodes.
   */
  record Streaming(String ticketId, String serverId, int status, SourceRef<ByteString> events)
      implements RequestCommand {}

  /** The server's whole answer to a call that did not stream, or any answer with an error status. */
  record Whole(String ticketId, String serverId, int status, String contentType, byte[] body)
      implements RequestCommand {}

  /**
   * The call failed before anything reached the client. {@code retryable}: the server, not the request, is at
   * fault (connection refused, 5xx, stall), so another server may serve it.
   */
  record UpstreamFailed(String ticketId, String serverId, boolean retryable, String reason)
      implements RequestCommand {}

  /**
   * An agent asks for the body of a call whose body stayed at the edge (an upload: {@link UpstreamCall#bodyAtEdge()}),
   * once for each attempt; the request actor answers with a stream of it from the edge's disk.
   */
  record OpenBody(String ticketId, ActorRef<Upload> replyTo) implements RequestCommand {}

  /** An upload on its way from the edge to an agent: back-pressured, across nodes. */
  record Upload(SourceRef<ByteString> bytes) implements CborSerializable {}

  /** The queue will not serve the ticket: full, no server, unknown model. */
  record Rejected(String ticketId, int status, OpenAiError error, long retryAfterSeconds)
      implements RequestCommand {}
}
