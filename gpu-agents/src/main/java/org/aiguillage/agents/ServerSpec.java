package org.aiguillage.agents;

import org.aiguillage.protocol.config.ModelConfig;
import org.aiguillage.protocol.config.ServerConfig;

/**
 * One server of one model, as an agent fronts it.
 *
 * @param serverId stable id of the (model, server) pair, used in metrics and the admin API
 * @param model the model's client-facing name (the queue it pulls from)
 */
public record ServerSpec(String serverId, String model, ServerConfig server) {

  public static ServerSpec of(ModelConfig model, ServerConfig server) {
    java.net.URI uri = java.net.URI.create(server.url());
    int port = uri.getPort() > 0 ? uri.getPort() : "https".equals(uri.getScheme()) ? 443 : 80;
    return new ServerSpec(model.name() + "@" + uri.getHost() + ":" + port + uri.getPath(), model.name(), server);
  }

  public boolean hasMetrics() {
    return server.type().equals("vllm") || server.type().equals("sglang");
  }
}
