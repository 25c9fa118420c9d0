package org.aiguillage.protocol.dispatch;

/**
 * The call an agent makes to its server: the path under the server's base URL and the body as the edge rewrote it
 * (model renamed, everything else untouched).
 *
 * @param stream whether the client asked for an SSE stream
 * @param clientWantsUsage whether the client asked for the usage chunk ({@code stream_options.include_usage})
 */
public record UpstreamCall(String path, byte[] body, boolean stream, boolean clientWantsUsage) {}
