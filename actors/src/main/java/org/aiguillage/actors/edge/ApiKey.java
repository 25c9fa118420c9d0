package org.aiguillage.actors.edge;

import java.util.List;
import org.aiguillage.protocol.CborSerializable;
import org.aiguillage.protocol.RoutingMode;
import org.aiguillage.protocol.config.Lifecycle;

/**
 * An API key as the edge knows it: never the secret, only its public id.
 *
 * @param id public id, safe to log and show ({@code key-} and the first hex digits of the secret's hash)
 * @param models the models this key may use; empty: all
 */
public record ApiKey(String id, String name, String organization, int priority, int threshold,
    RoutingMode defaultRoutingMode, List<String> models) implements CborSerializable {

  public ApiKey {
    models = models == null ? List.of() : List.copyOf(models);
  }

  public ApiKey(String id, String name, String organization, int priority, int threshold,
      RoutingMode defaultRoutingMode) {
    this(id, name, organization, priority, threshold, defaultRoutingMode, List.of());
  }

  public boolean allows(String model) {
    return models.isEmpty() || models.contains(model);
  }

  /** Whether this key may use the model: a model in staging only for keys whose {@code models} name it. */
  public boolean sees(org.aiguillage.protocol.config.ModelConfig model) {
    return model.lifecycle() == Lifecycle.STAGING ? models.contains(model.name()) : allows(model.name());
  }
}
