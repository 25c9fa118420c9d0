package org.aiguillage.protocol.dispatch;

/**
 * The call an agent makes to its server: the path under the server's base URL and the body as the edge rewrote it
 * (model renamed, everything else untouched).
 *
 * @param body the body, or empty when it stays at the edge ({@code bodyAtEdge})
 * @param stream whether the client asked for an SSE stream
 * @param clientWantsUsage whether the client asked for the usage chunk ({@code stream_options.include_usage})
 * @param contentType the body's content type; null for JSON
 * @param bodyAtEdge the body is an upload kept on the edge's disk (audio): the agent asks the request actor for it
 *     as a stream ({@link RequestCommand.OpenBody}), for each attempt, and never holds it whole
 * @param bodyBytes the body's length
 * @param audioSeconds the audio's duration as the edge read it from the file, -1 when it could not
 */
public record UpstreamCall(String path, byte[] body, boolean stream, boolean clientWantsUsage, String contentType,
    boolean bodyAtEdge, long bodyBytes, double audioSeconds) {

  public UpstreamCall(String path, byte[] body, boolean stream, boolean clientWantsUsage) {
    this(path, body, stream, clientWantsUsage, null, false, body.length, -1);
  }

  /** A Responses API call: its answer's id is remembered, so that a follow-up goes to the same server. */
  public boolean isResponses() {
    return path.equals("/v1/responses");
  }
}
