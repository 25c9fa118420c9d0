package org.aiguillage.protocol.config;

/** Where the edge listens. {@code AIGUILLAGE_HTTP_PORT} overrides the port (applied by the node). */
public record HttpSettings(String host, Integer port, Long maxBodyBytes) {

  public static final String DEFAULT_HOST = "127.0.0.1";
  public static final int DEFAULT_PORT = 8080;
  /** vLLM accepts long prompts; 16 MiB leaves room for 128k-token contexts and images in base64. */
  public static final long DEFAULT_MAX_BODY_BYTES = 16L * 1024 * 1024;

  public static HttpSettings defaults() {
    return new HttpSettings(DEFAULT_HOST, DEFAULT_PORT, DEFAULT_MAX_BODY_BYTES);
  }

  public HttpSettings {
    host = host == null ? DEFAULT_HOST : host;
    port = port == null ? DEFAULT_PORT : port;
    maxBodyBytes = maxBodyBytes == null ? DEFAULT_MAX_BODY_BYTES : maxBodyBytes;
  }

  public HttpSettings withPort(int newPort) {
    return new HttpSettings(host, newPort, maxBodyBytes);
  }
}
