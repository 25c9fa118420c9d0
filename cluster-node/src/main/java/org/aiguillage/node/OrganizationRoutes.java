package org.aiguillage.node;

import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.aiguillage.actors.accounts.Accounts;
import org.aiguillage.actors.accounts.KeyRecord;
import org.aiguillage.actors.accounts.KeyStatus;
import org.aiguillage.actors.accounts.OrganizationAccount;
import org.aiguillage.agents.ServerSpec;
import org.aiguillage.protocol.Json;
import org.aiguillage.protocol.config.FederationConfig;
import org.aiguillage.protocol.config.FederationConfigParser;
import org.aiguillage.protocol.config.ModelConfig;
import org.aiguillage.protocol.config.ServerConfig;
import org.aiguillage.protocol.openai.ListOf;
import org.aiguillage.protocol.openai.OpenAiError;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.stream.Materializer;

/**
 * Organisations: those recorded through this API (their limits and budget), and those known only from keys and
 * servers.
 *
 * <pre>
 *   GET    /admin/organizations          every organisation
 *   POST   /admin/organizations          record one (201; 409 if it exists)
 *   GET    /admin/organizations/{name}   one
 *   PATCH  /admin/organizations/{name}   change a recorded one's description or limits
 * </pre>
 */
final class OrganizationRoutes extends AdminDirectives {

  private final Supplier<FederationConfig> config;
  private final Accounts accounts;

  OrganizationRoutes(Materializer materializer, Supplier<FederationConfig> config, Accounts accounts) {
    super(materializer);
    this.config = config;
    this.accounts = accounts;
  }

  /** @param who an organisation's admin sees its own organisation only, and changes none (their limits are the
   *     federation's) */
  private static final String LIMITS = "An organisation's limits are the federation's to set.";

  Route route(AdminPrincipal who) {
    return pathPrefix("organizations", () -> concat(
        pathEnd(() -> concat(
            get(() -> later(() -> organizationsByName().thenApply(byName -> json(200, new ListOf<>(
                byName.entrySet().stream().filter(e -> who.covers(e.getKey())).map(Map.Entry::getValue)
                    .toList()))))),
            post(() -> federationOnly(who, LIMITS, () ->
                body(body -> completeWithFuture(putOrganization(null, body))))))),
        path(segment(), name -> concat(
            get(() -> later(() -> organizationsByName().thenApply(byName ->
                organizationReply(who.covers(name) ? byName : Map.of(), name)))),
            patch(() -> federationOnly(who, LIMITS, () ->
                body(body -> completeWithFuture(putOrganization(name, body)))))))));
  }

  /** The body of {@code POST /admin/organizations} and {@code PATCH /admin/organizations/{name}}. */
  record OrganizationBody(String name, String description, Integer requestsPerMinute, Long tokensPerMinute,
      Long tokenBudget, String budgetPeriod) {}

  /** Creates ({@code name} null: from the body) or changes an organisation's record. */
  private CompletionStage<HttpResponse> putOrganization(String name, byte[] body) {
    OrganizationBody b;
    try {
      JsonNode tree = Json.MAPPER.readTree(body);
      if (!(tree instanceof ObjectNode object)) {
        return done(badRequest("The body must be a JSON object (name, description, requests_per_minute, ...)."));
      }
      b = Json.MAPPER.treeToValue(object, OrganizationBody.class);
      if (name == null && (b.name() == null || b.name().isBlank())) {
        return done(badRequest("missing field 'name'"));
      }
      if (b.requestsPerMinute() != null && b.requestsPerMinute() < 1 || b.tokensPerMinute() != null
          && b.tokensPerMinute() < 1 || b.tokenBudget() != null && b.tokenBudget() < 1) {
        return done(badRequest("Limits must be at least 1 (leave a field out for no limit)."));
      }
      if (b.budgetPeriod() != null && !FederationConfigParser.BUDGET_PERIODS.contains(b.budgetPeriod())) {
        return done(badRequest("invalid value for 'budget_period': '" + b.budgetPeriod()
            + "' is not one of day, month, week"));
      }
    } catch (Exception e) {
      return done(invalid(e));
    }
    String org = name == null ? b.name().trim() : name;
    return accounts.getOrganization(org).thenCompose(existing -> {
      boolean exists = existing instanceof OrganizationAccount.Found;
      if (name == null && exists) {
        return done(error(409, OpenAiError.invalidRequest("Organisation '" + org + "' exists; change it with PATCH "
            + "/admin/organizations/" + org + ".", "name", "organization_exists")));
      }
      if (name != null && !exists) {
        return done(error(404, OpenAiError.invalidRequest("No organisation " + org + " is recorded; create it "
            + "with POST /admin/organizations.", null, "organization_not_found")));
      }
      OrganizationAccount.Settings settings = exists
          ? merge(((OrganizationAccount.Found) existing).organization().settings(), b)
          : new OrganizationAccount.Settings(b.description(), b.requestsPerMinute(), b.tokensPerMinute(),
              b.tokenBudget(), b.budgetPeriod());
      return accounts.putOrganization(org, settings).thenCompose(put -> organizationsByName()
          .thenApply(byName -> {
            HttpResponse r = organizationReply(byName, org);
            return exists ? r : r.withStatus(201);
          }));
    });
  }

  private static OrganizationAccount.Settings merge(OrganizationAccount.Settings s, OrganizationBody b) {
    return new OrganizationAccount.Settings(b.description() != null ? b.description() : s.description(),
        b.requestsPerMinute() != null ? b.requestsPerMinute() : s.requestsPerMinute(),
        b.tokensPerMinute() != null ? b.tokensPerMinute() : s.tokensPerMinute(),
        b.tokenBudget() != null ? b.tokenBudget() : s.tokenBudget(),
        b.budgetPeriod() != null ? b.budgetPeriod() : s.budgetPeriod());
  }

  private static HttpResponse organizationReply(Map<String, OrganizationView> organizations, String name) {
    OrganizationView org = organizations.get(name);
    return org != null ? json(200, org)
        : error(404, OpenAiError.invalidRequest("No organisation " + name + ".", null, "organization_not_found"));
  }

  /**
   * The organisations the federation knows: those recorded through the admin API (with their limits and
   * budget), and those known from keys and servers.
   */
  private CompletionStage<Map<String, OrganizationView>> organizationsByName() {
    return accounts.list().thenCombine(accounts.organizations(), (keys, recorded) -> {
      long now = System.currentTimeMillis();
      Map<String, Known> byName = new TreeMap<>();
      recorded.forEach(o -> byName.computeIfAbsent(o.name(), name -> new Known()).record =
          OrganizationView.Record.of(o, now));
      for (KeyRecord k : keys) {
        Known org = byName.computeIfAbsent(k.settings().organization(), name -> new Known());
        org.keys++;
        if (k.status(now) == KeyStatus.ACTIVE) {
          org.activeKeys++;
        }
      }
      for (ModelConfig m : config.get().models()) {
        for (ServerConfig s : m.vllmServers()) {
          byName.computeIfAbsent(s.organization(), name -> new Known()).servers.add(ServerSpec.of(m, s).serverId());
        }
      }
      Map<String, OrganizationView> views = new TreeMap<>();
      byName.forEach((name, o) -> views.put(name, new OrganizationView(name, o.keys, o.activeKeys, o.servers,
          o.record)));
      return views;
    });
  }

  /** An organisation while its view is gathered. */
  private static final class Known {
    OrganizationView.Record record;
    int keys;
    int activeKeys;
    final List<String> servers = new ArrayList<>();
  }
}
