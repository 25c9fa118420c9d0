package org.aiguillage.protocol.config;

/**
 * Where the edge listens, how large a body it takes and how many connections it holds. {@code AIGUILLAGE_HTTP_PORT}
 * overrides the port (applied by the node).
 *
 * @param maxBodyBytes the largest JSON body
 * @param maxAudioBytes the largest audio upload (speech to text), written to disk as it arrives, never held whole
 * @param maxConnections the most client connections the edge holds open; null: {@link #DEFAULT_SPARE_CONNECTIONS}
 *     more than the servers in this node's file take at once (the sum of their {@code max_parallel_requests})
 */
public record HttpSettings(String host, Integer port, Long maxBodyBytes, Long maxAudioBytes, Integer maxConnections) {

  public static final String DEFAULT_HOST = "127.0.0.1";
  public static final int DEFAULT_PORT = 8080;
  /** vLLM accepts long prompts; 16 MiB leaves room for 128k-token contexts and images in base64. */
  public static final long DEFAULT_MAX_BODY_BYTES = 16L * 1024 * 1024;
  /** OpenAI's own limit for an audio file. */
  public static final long DEFAULT_MAX_AUDIO_BYTES = 25L * 1024 * 1024;
  /** Connections beyond the fleet's streams: requests waiting in the queues, clients' idle keep-alive connections. */
  public static final int DEFAULT_SPARE_CONNECTIONS = 4096;

  public static HttpSettings defaults() {
    return new HttpSettings(DEFAULT_HOST, DEFAULT_PORT, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_AUDIO_BYTES, null);
  }

  public HttpSettings {
    host = host == null ? DEFAULT_HOST : host;
    port = port == null ? DEFAULT_PORT : port;
    maxBodyBytes = maxBodyBytes == null ? DEFAULT_MAX_BODY_BYTES : maxBodyBytes;
    maxAudioBytes = maxAudioBytes == null ? DEFAULT_MAX_AUDIO_BYTES : maxAudioBytes;
  }

  public HttpSettings withPort(int newPort) {
    return new HttpSettings(host, newPort, maxBodyBytes, maxAudioBytes, maxConnections);
  }
}
