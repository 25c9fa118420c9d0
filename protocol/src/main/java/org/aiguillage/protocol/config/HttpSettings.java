package org.aiguillage.protocol.config;

/**
 * Where the edge listens, and how large a body it takes. {@code AIGUILLAGE_HTTP_PORT} overrides the port (applied by
 * the node).
 *
 * @param maxBodyBytes the largest JSON body
 * @param maxAudioBytes the largest audio upload (speech to text), written to disk as it arrives, never held whole
 */
public record HttpSettings(String host, Integer port, Long maxBodyBytes, Long maxAudioBytes) {

  public static final String DEFAULT_HOST = "127.0.0.1";
  public static final int DEFAULT_PORT = 8080;
  /** vLLM accepts long prompts; 16 MiB leaves room for 128k-token contexts and images in base64. */
  public static final long DEFAULT_MAX_BODY_BYTES = 16L * 1024 * 1024;
  /** OpenAI's own limit for an audio file. */
  public static final long DEFAULT_MAX_AUDIO_BYTES = 25L * 1024 * 1024;

  public static HttpSettings defaults() {
    return new HttpSettings(DEFAULT_HOST, DEFAULT_PORT, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_AUDIO_BYTES);
  }

  public HttpSettings {
    host = host == null ? DEFAULT_HOST : host;
    port = port == null ? DEFAULT_PORT : port;
    maxBodyBytes = maxBodyBytes == null ? DEFAULT_MAX_BODY_BYTES : maxBodyBytes;
    maxAudioBytes = maxAudioBytes == null ? DEFAULT_MAX_AUDIO_BYTES : maxAudioBytes;
  }

  public HttpSettings withPort(int newPort) {
    return new HttpSettings(host, newPort, maxBodyBytes, maxAudioBytes);
  }
}
