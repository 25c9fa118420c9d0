package org.aiguillage.protocol.config;

import java.util.List;
import java.util.Optional;

/** The whole YAML file of a node. Parse it with {@link FederationConfigParser}. */
public record FederationConfig(HttpSettings http, List<TokenConfig> tokens, List<ModelConfig> models) {

  public FederationConfig {
    http = http == null ? HttpSettings.defaults() : http;
    tokens = tokens == null ? List.of() : List.copyOf(tokens);
    models = models == null ? List.of() : List.copyOf(models);
  }

  public Optional<ModelConfig> model(String name) {
    return models.stream().filter(m -> m.name().equals(name)).findFirst();
  }

  public FederationConfig withHttp(HttpSettings newHttp) {
    return new FederationConfig(newHttp, tokens, models);
  }

}
