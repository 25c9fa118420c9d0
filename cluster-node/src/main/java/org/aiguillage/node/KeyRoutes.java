package org.aiguillage.node;

import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.concurrent.CompletionStage;
import org.aiguillage.actors.accounts.Accounts;
import org.aiguillage.actors.accounts.KeyAccount;
import org.aiguillage.actors.accounts.KeyRecord;
import org.aiguillage.actors.accounts.KeySettings;
import org.aiguillage.protocol.config.FederationConfigParser;
import org.aiguillage.protocol.config.KeyConfig;
import org.aiguillage.protocol.openai.OpenAiError;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.stream.Materializer;

/**
 * API keys. A key's secret is shown once, in the answer that creates it, and never again.
 *
 * <pre>
 *   GET    /admin/keys[?organization=O]   every key
 *   POST   /admin/keys                    make a key (201, with its secret this once)
 *   GET    /admin/keys/{id}               one key
 *   PATCH  /admin/keys/{id}               change its settings (not its secret)
 *   DELETE /admin/keys/{id}               revoke it
 * </pre>
 */
final class KeyRoutes extends AdminDirectives {

  private final ActorSystem<?> system;
  private final Accounts accounts;

  KeyRoutes(Materializer materializer, ActorSystem<?> system, Accounts accounts) {
    super(materializer);
    this.system = system;
    this.accounts = accounts;
  }

  Route route() {
    return pathPrefix("keys", () -> concat(
        pathEnd(() -> concat(
            get(() -> parameterOptional("organization", organization ->
                later(() -> listKeys(organization.orElse(null))))),
            post(() -> body(body -> completeWithFuture(createKey(body)))))),
        path(segment(), id -> concat(
            get(() -> later(() -> accounts.get(id).thenApply(r -> keyReply(r, id)))),
            patch(() -> body(body -> completeWithFuture(updateKey(id, body)))),
            delete(() -> later(() -> revoke(id)))))));
  }

  private CompletionStage<HttpResponse> revoke(String id) {
    return accounts.revoke(id).thenApply(r -> {
      if (r instanceof KeyAccount.Found) {
        system.log().info("admin: key {} revoked", id);
      }
      return keyReply(r, id);
    });
  }

  private CompletionStage<HttpResponse> createKey(byte[] body) {
    KeyConfig token;
    try {
      JsonNode tree = Json.MAPPER.readTree(body);
      if (!(tree instanceof ObjectNode object)) {
        return done(badRequest("The body must be a JSON object with the key's fields (name, organization, ...)."));
      }
      if (object.has("token") || object.has("key")) {
        return done(badRequest("The server makes the key's secret: leave out 'token' and 'key'."));
      }
      token = Json.MAPPER.treeToValue(object, KeyConfig.class);
      FederationConfigParser.validateKey(token, "");
    } catch (Exception e) {
      return done(invalid(e));
    }
    return accounts.create(KeySettings.of(token)).thenApply(made -> {
      ObjectNode view = view(made.key());
      view.put("key", made.secret());
      system.log().info("admin: key {} created for organisation {}", made.key().id(),
          made.key().settings().organization());
      return json(201, view);
    });
  }

  private CompletionStage<HttpResponse> updateKey(String id, byte[] body) {
    JsonNode patch;
    try {
      patch = Json.MAPPER.readTree(body);
    } catch (Exception e) {
      return done(invalid(e));
    }
    if (!(patch instanceof ObjectNode changes)) {
      return done(badRequest("The body must be a JSON object with the fields to change."));
    }
    if (changes.has("token") || changes.has("key")) {
      return done(badRequest("A key's secret cannot change: revoke it and create another."));
    }
    return accounts.get(id).thenCompose(reply -> {
      if (!(reply instanceof KeyAccount.Found found)) {
        return done(notFound(id));
      }
      KeySettings updated;
      try {
        ObjectNode current = settingsTree(found.key().settings());
        boolean enabled = changes.has("enabled") ? changes.get("enabled").asBoolean() : current.get("enabled")
            .asBoolean();
        current.remove("enabled");
        ObjectNode merged = current.setAll(changes.deepCopy());
        merged.remove("enabled");
        KeyConfig token = Json.MAPPER.treeToValue(merged, KeyConfig.class);
        FederationConfigParser.validateKey(token, "");
        KeySettings s = KeySettings.of(token);
        updated = new KeySettings(s.name(), s.organization(), s.priority(), s.threshold(), s.models(),
            s.requestsPerMinute(), s.tokensPerMinute(), s.tokenBudget(), s.budgetPeriod(), s.expiresAtMillis(),
            s.defaultRoutingMode(), enabled);
      } catch (Exception e) {
        return done(invalid(e));
      }
      return accounts.update(id, updated).thenApply(r -> keyReply(r, id));
    });
  }

  private CompletionStage<HttpResponse> listKeys(String organization) {
    return accounts.list().thenApply(keys -> {
      ObjectNode list = Json.MAPPER.createObjectNode().put("object", "list");
      ArrayNode data = list.putArray("data");
      keys.stream().filter(k -> organization == null || k.settings().organization().equals(organization))
          .forEach(k -> data.add(view(k)));
      return json(200, list);
    });
  }

  private HttpResponse keyReply(KeyAccount.KeyReply reply, String id) {
    if (reply instanceof KeyAccount.Found found) {
      return json(200, view(found.key()));
    }
    return notFound(id);
  }

  /** A key as the admin API shows it: everything but its secret and the secret's hash. */
  private static ObjectNode view(KeyRecord key) {
    long now = System.currentTimeMillis();
    ObjectNode view = Json.MAPPER.createObjectNode().put("id", key.id()).put("object", "api_key")
        .put("prefix", key.prefix()).put("status", key.status(now)).put("source", key.source())
        .put("created_at", Instant.ofEpochMilli(key.createdAtMillis()).toString());
    if (key.revokedAtMillis() != null) {
      view.put("revoked_at", Instant.ofEpochMilli(key.revokedAtMillis()).toString());
    }
    view.setAll(settingsTree(key.settings()));
    view.put("budget_used", key.budgetUsedAt(now));
    return view;
  }

  /** A key's settings under the field names of the YAML {@code tokens} entries. */
  static ObjectNode settingsTree(KeySettings s) {
    ObjectNode node = Json.MAPPER.createObjectNode().put("name", s.name()).put("organization", s.organization())
        .put("priority", s.priority()).put("threshold", s.threshold())
        .put("default_routing_mode", s.defaultRoutingMode().wireName())
        .put("budget_period", s.budgetPeriod()).put("enabled", s.enabled());
    ArrayNode models = node.putArray("models");
    s.models().forEach(models::add);
    putNullable(node, "requests_per_minute", s.requestsPerMinute() == null ? null : s.requestsPerMinute().longValue());
    putNullable(node, "tokens_per_minute", s.tokensPerMinute());
    putNullable(node, "token_budget", s.tokenBudget());
    if (s.expiresAtText() == null) {
      node.putNull("expires_at");
    } else {
      node.put("expires_at", s.expiresAtText());
    }
    return node;
  }

  private static HttpResponse notFound(String id) {
    return error(404, OpenAiError.invalidRequest("No key " + id + ".", null, "key_not_found"));
  }
}
