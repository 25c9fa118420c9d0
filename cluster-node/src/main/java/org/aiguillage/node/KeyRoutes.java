package org.aiguillage.node;

import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.concurrent.CompletionStage;
import org.aiguillage.actors.accounts.Accounts;
import org.aiguillage.actors.accounts.KeyAccount;
import org.aiguillage.actors.accounts.KeySettings;
import org.aiguillage.protocol.Json;
import org.aiguillage.protocol.config.FederationConfigParser;
import org.aiguillage.protocol.config.KeyConfig;
import org.aiguillage.protocol.openai.ListOf;
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

  /** What a PATCH may change: a key's settings, under their YAML names. */
  private static final List<String> SETTINGS = List.of("name", "organization", "priority", "threshold", "models",
      "requests_per_minute", "tokens_per_minute", "token_budget", "budget_period", "expires_at",
      "default_routing_mode", "enabled", "audio_seconds_per_day", "admin_of");

  private final ActorSystem<?> system;
  private final Accounts accounts;

  KeyRoutes(Materializer materializer, ActorSystem<?> system, Accounts accounts) {
    super(materializer);
    this.system = system;
    this.accounts = accounts;
  }

  /** @param who an organisation's admin sees and changes only its organisation's keys, and makes no admin key */
  Route route(AdminPrincipal who) {
    return pathPrefix("keys", () -> concat(
        pathEnd(() -> concat(
            get(() -> parameterOptional("organization", organization ->
                later(() -> listKeys(who.federation() ? organization.orElse(null) : who.organization())))),
            post(() -> body(body -> completeWithFuture(createKey(who, body)))))),
        path(segment(), id -> concat(
            get(() -> later(() -> accounts.get(id).thenApply(r -> keyReply(scoped(who, r), id)))),
            patch(() -> body(body -> completeWithFuture(updateKey(who, id, body)))),
            delete(() -> later(() -> accounts.get(id).thenCompose(r -> scoped(who, r) instanceof KeyAccount.Found
                ? revoke(id) : done(notFound(id)))))))));
  }

  /** A key of another organisation is, to an organisation's admin, no key at all. */
  private static KeyAccount.KeyReply scoped(AdminPrincipal who, KeyAccount.KeyReply reply) {
    return reply instanceof KeyAccount.Found f && !who.covers(f.key().settings().organization())
        ? new KeyAccount.NotFound() : reply;
  }

  /**
   * What an organisation's admin may not write: another organisation, an admin key (other than the one the key
   * already is: {@code adminOfNow}, null for a new key).
   */
  private static java.util.Optional<HttpResponse> beyond(AdminPrincipal who, KeyConfig key, String adminOfNow) {
    if (who.federation()) {
      return java.util.Optional.empty();
    }
    if (key.adminOf() != null && !key.adminOf().equals(adminOfNow)) {
      return java.util.Optional.of(error(403, OpenAiError.of("Only the federation's admin makes admin keys.",
          "permission_error", "admin_of", "forbidden")));
    }
    if (!who.organization().equals(key.organization())) {
      return java.util.Optional.of(error(403, OpenAiError.of("Your admin key manages organisation '"
          + who.organization() + "' only.", "permission_error", "organization", "forbidden")));
    }
    return java.util.Optional.empty();
  }

  private CompletionStage<HttpResponse> revoke(String id) {
    return accounts.revoke(id).thenApply(r -> {
      if (r instanceof KeyAccount.Found) {
        system.log().info("admin: key {} revoked", id);
      }
      return keyReply(r, id);
    });
  }

  private CompletionStage<HttpResponse> createKey(AdminPrincipal who, byte[] body) {
    KeyConfig key;
    try {
      JsonNode tree = Json.MAPPER.readTree(body);
      if (!(tree instanceof ObjectNode object)) {
        return done(badRequest("The body must be a JSON object with the key's fields (name, organization, ...)."));
      }
      if (object.has("token") || object.has("key")) {
        return done(badRequest("The server makes the key's secret: leave out 'token' and 'key'."));
      }
      if (!who.federation() && !object.has("organization")) {
        object.put("organization", who.organization());
      }
      key = Json.MAPPER.treeToValue(object, KeyConfig.class);
      FederationConfigParser.validateKey(key, "");
      var refused = beyond(who, key, null);
      if (refused.isPresent()) {
        return done(refused.get());
      }
    } catch (Exception e) {
      return done(invalid(e));
    }
    return accounts.create(KeySettings.of(key)).thenApply(made -> {
      system.log().info("admin: key {} created for organisation {}", made.key().id(),
          made.key().settings().organization());
      return json(201, KeyView.of(made.key(), System.currentTimeMillis()).withSecret(made.secret()));
    });
  }

  private CompletionStage<HttpResponse> updateKey(AdminPrincipal who, String id, byte[] body) {
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
      if (!(scoped(who, reply) instanceof KeyAccount.Found found)) {
        return done(notFound(id));
      }
      KeySettings updated;
      try {
        // The key's settings as a tree, the changes laid over them, read back as a key's configuration.
        ObjectNode current = Json.MAPPER.valueToTree(KeyView.of(found.key(), System.currentTimeMillis()));
        current.retain(SETTINGS);
        boolean enabled = changes.has("enabled") ? changes.get("enabled").asBoolean() : current.get("enabled")
            .asBoolean();
        current.remove("enabled");
        ObjectNode merged = current.setAll(changes.deepCopy());
        merged.remove("enabled");
        KeyConfig key = Json.MAPPER.treeToValue(merged, KeyConfig.class);
        FederationConfigParser.validateKey(key, "");
        var refused = beyond(who, key, found.key().settings().adminOf());
        if (refused.isPresent()) {
          return done(refused.get());
        }
        updated = KeySettings.of(key).withEnabled(enabled);
      } catch (Exception e) {
        return done(invalid(e));
      }
      return accounts.update(id, updated).thenApply(r -> keyReply(r, id));
    });
  }

  private CompletionStage<HttpResponse> listKeys(String organization) {
    return accounts.list().thenApply(keys -> {
      long now = System.currentTimeMillis();
      return json(200, new ListOf<>(keys.stream()
          .filter(k -> organization == null || k.settings().organization().equals(organization))
          .map(k -> KeyView.of(k, now)).toList()));
    });
  }

  private HttpResponse keyReply(KeyAccount.KeyReply reply, String id) {
    if (reply instanceof KeyAccount.Found found) {
      return json(200, KeyView.of(found.key(), System.currentTimeMillis()));
    }
    return notFound(id);
  }

  private static HttpResponse notFound(String id) {
    return error(404, OpenAiError.invalidRequest("No key " + id + ".", null, "key_not_found"));
  }
}
