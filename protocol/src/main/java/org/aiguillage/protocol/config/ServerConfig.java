package org.aiguillage.protocol.config;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * One inference server of a model, as in the federation's Helm values ({@code vllm_servers} entries).
 *
 * @param url base URL of the server, without {@code /v1}
 * @param bearerToken the bearer token the server expects, if any ({@code token} in the YAML); never logged
 * @param organization the organisation that owns the server (its tickets go first there)
 * @param maxParallelRequests the most calls this dispatcher keeps open on the server at once
 * @param type how to read its load: {@code vllm}, {@code sglang}, {@code ollama} or {@code openai}
 * @param datacenter where the server runs
 * @param powerWatts the server's power draw while it serves, for each call's energy; without it, its {@code gpu}'s
 *     (see {@link GpuPower}); without either, calls get an estimate from the model's size
 * @param maxWaiting the agent asks for work only while the server's own queue holds at most this many requests
 *     (from its metrics); -1: ignore the server's queue
 * @param gpu what the server runs on, {@code h200} or {@code 4x h100}: gives its power when {@code power_watts} is
 *     not set
 */
public record ServerConfig(
    String url,
    @JsonProperty("token") String bearerToken,
    String organization,
    Integer maxParallelRequests,
    String type,
    String datacenter,
    Double powerWatts,
    Integer maxWaiting,
    String gpu) {

  public static final int DEFAULT_MAX_PARALLEL_REQUESTS = 16;

  public ServerConfig(String url, String bearerToken, String organization, Integer maxParallelRequests, String type,
      String datacenter) {
    this(url, bearerToken, organization, maxParallelRequests, type, datacenter, null, null, null);
  }

  public ServerConfig(String url, String bearerToken, String organization, Integer maxParallelRequests, String type,
      String datacenter, Double powerWatts, Integer maxWaiting) {
    this(url, bearerToken, organization, maxParallelRequests, type, datacenter, powerWatts, maxWaiting, null);
  }

  public ServerConfig withDatacenter(String newDatacenter) {
    return new ServerConfig(url, bearerToken, organization, maxParallelRequests, type, newDatacenter, powerWatts,
        maxWaiting, gpu);
  }

  public ServerConfig {
    url = url == null ? null : stripTrailingSlash(url);
    organization = organization == null ? "shared" : organization;
    maxParallelRequests = maxParallelRequests == null ? DEFAULT_MAX_PARALLEL_REQUESTS : maxParallelRequests;
    type = type == null ? "vllm" : type;
    datacenter = datacenter == null ? "default" : datacenter;
    maxWaiting = maxWaiting == null ? 0 : maxWaiting;
  }

  /** The power calls share: {@code power_watts}, else its GPUs' board power; empty when neither is known. */
  public java.util.OptionalDouble servingWatts() {
    if (powerWatts != null) {
      return java.util.OptionalDouble.of(powerWatts);
    }
    return gpu == null ? java.util.OptionalDouble.empty() : GpuPower.watts(gpu);
  }

  private static String stripTrailingSlash(String url) {
    String u = url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
    return u.endsWith("/v1") ? u.substring(0, u.length() - 3) : u;
  }

  @Override
  public String toString() {
    return "ServerConfig[url=" + url + ", organization=" + organization + ", maxParallelRequests="
        + maxParallelRequests + ", type=" + type + "]";
  }
}
