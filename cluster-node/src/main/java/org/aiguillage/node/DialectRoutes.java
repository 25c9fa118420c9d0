package org.aiguillage.node;

import java.util.function.Supplier;
import org.aiguillage.actors.accounts.Accounts;
import org.aiguillage.protocol.config.FederationConfig;
import org.apache.pekko.stream.Materializer;

/**
 * What the routes of a client dialect (OpenAI's, Ollama's, Anthropic's) stand on: the configuration in force (its
 * models), the key accounts that say who asks, and the dispatch of model calls to the queues.
 */
abstract class DialectRoutes extends EdgeDirectives {

  protected final Supplier<FederationConfig> config;
  protected final Accounts accounts;
  protected final Dispatch dispatch;

  DialectRoutes(Materializer materializer, Supplier<FederationConfig> config, Accounts accounts, Dispatch dispatch) {
    super(materializer);
    this.config = config;
    this.accounts = accounts;
    this.dispatch = dispatch;
  }
}
