package org.aiguillage.node;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import org.aiguillage.protocol.config.FederationConfigParser;
import org.junit.jupiter.api.Test;

/** {@code http.max_connections} holds: past it the edge accepts no connection until one of the open ones closes. */
class ConnectionCeilingTest {

  @Test
  void aConnectionPastTheCeilingIsServedOnceAnOpenOneCloses() throws Exception {
    try (AiguillageNode node = AiguillageNode.start(FederationConfigParser.parse("""
        http: { port: 0, max_connections: 1 }
        persistence: { url: "jdbc:h2:mem:connection-ceiling" }
        """))) {
      URI base = URI.create(node.baseUrl());
      Socket first = new Socket(base.getHost(), base.getPort());
      assertTrue(health(first).startsWith("HTTP/1.1 200"), "the first connection is served");

      try (Socket second = new Socket(base.getHost(), base.getPort())) {
        second.setSoTimeout(1000);
        assertThrows(SocketTimeoutException.class, () -> health(second), "the second waits while the first is open");

        first.close();
        second.setSoTimeout(10_000);
        assertTrue(readStatusLine(second.getInputStream()).startsWith("HTTP/1.1 200"),
            "the second is served once the first closed");
      }
    }
  }

  /** Asks for {@code /health} on a kept-alive connection and reads the answer's status line. */
  private static String health(Socket socket) throws IOException {
    socket.getOutputStream().write("GET /health HTTP/1.1\r\nHost: edge\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    socket.getOutputStream().flush();
    return readStatusLine(socket.getInputStream());
  }

  private static String readStatusLine(InputStream in) throws IOException {
    StringBuilder line = new StringBuilder();
    for (int c = in.read(); c >= 0 && c != '\n'; c = in.read()) {
      line.append((char) c);
    }
    return line.toString().trim();
  }
}
