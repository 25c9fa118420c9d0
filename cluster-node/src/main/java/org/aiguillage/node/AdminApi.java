package org.aiguillage.node;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.aiguillage.actors.accounts.KeyAccount;
import org.aiguillage.actors.accounts.Accounts;
import org.aiguillage.actors.accounts.KeyRecord;
import org.aiguillage.actors.accounts.KeySettings;
import org.aiguillage.actors.accounts.OrganizationAccount;
import org.aiguillage.actors.accounts.UsageLedger;
import org.aiguillage.agents.ServerSpec;
import org.aiguillage.protocol.RoutingMode;
import org.aiguillage.protocol.config.ConfigException;
import org.aiguillage.protocol.config.FederationConfig;
import org.aiguillage.protocol.config.FederationConfigParser;
import org.aiguillage.protocol.config.ModelConfig;
import org.aiguillage.protocol.config.ServerConfig;
import org.aiguillage.protocol.config.KeyConfig;
import org.aiguillage.actors.fleet.FleetRegistry;
import org.aiguillage.protocol.dispatch.QueueCommand;
import org.aiguillage.protocol.openai.OpenAiError;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpMethod;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.Authorization;
import org.apache.pekko.stream.Materializer;

/**
 * The operators' API under {@code /admin/}: keys, organisations, usage, and the cluster (its members; this node
 * asked to leave). Authenticated by the admin token;
 * without one configured, closed. Its answers never hold a secret: a key's secret is shown once, in the answer that
 * creates it, and never again.
 */
final class AdminApi {

  /** Admin bodies are keys, organisations, models and servers: a megabyte is far more than any. */
  private static final long BODY_LIMIT = 1 << 20;
  private static final Duration BODY_TIMEOUT = Duration.ofSeconds(10);
  private static final ObjectMapper JSON = new ObjectMapper()
      .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .registerModule(new SimpleModule().addDeserializer(RoutingMode.class,
          new com.fasterxml.jackson.databind.JsonDeserializer<>() {
            @Override
            public RoutingMode deserialize(com.fasterxml.jackson.core.JsonParser p,
                com.fasterxml.jackson.databind.DeserializationContext ctxt) throws java.io.IOException {
              String text = p.getValueAsString();
              return RoutingMode.fromWireName(text).orElseThrow(() -> new ConfigException(
                  "malformed value for 'default_routing_mode': '" + text
                      + "' is not one of any, private-first, private-only"));
            }
          }));

  private final ActorSystem<?> system;
  private final Materializer materializer;
  private final Supplier<FederationConfig> config;
  private final Accounts accounts;
  private final UsageLedger ledger;
  private final java.util.function.Function<String, org.apache.pekko.actor.typed.RecipientRef<QueueCommand>> queues;
  private final FleetView fleet;

  AdminApi(ActorSystem<?> system, Supplier<FederationConfig> config, Accounts accounts, UsageLedger ledger,
      java.util.function.Function<String, org.apache.pekko.actor.typed.RecipientRef<QueueCommand>> queues,
      FleetView fleet) {
    this.queues = queues;
    this.fleet = fleet;
    this.system = system;
    this.materializer = Materializer.matFromSystem(system);
    this.config = config;
    this.accounts = accounts;
    this.ledger = ledger;
  }

  CompletionStage<HttpResponse> handle(HttpRequest request) {
    // A body that cannot be read (too large, too slow) fails the stage of whichever route reads it.
    return route(request).exceptionally(this::failed);
  }

  private CompletionStage<HttpResponse> route(HttpRequest request) {
    String token = config.get().admin().token();
    if (token == null) {
      return answer(request, error(403, OpenAiError.of("The admin API is closed: set admin.token in the "
          + "configuration or AIGUILLAGE_ADMIN_TOKEN.", "permission_error", null, "admin_closed")));
    }
    Optional<String> presented = request.getHeader(Authorization.class).map(h -> h.value().trim())
        .filter(v -> v.regionMatches(true, 0, "Bearer ", 0, 7)).map(v -> v.substring(7).trim());
    if (presented.isEmpty() || !MessageDigest.isEqual(presented.get().getBytes(StandardCharsets.UTF_8),
        token.getBytes(StandardCharsets.UTF_8))) {
      return answer(request, error(401, OpenAiError.authentication("The admin API needs the admin token as "
          + "'Authorization: Bearer ADMIN_TOKEN'.")));
    }
    String path = request.getUri().path();
    HttpMethod method = request.method();
    try {
      if (path.equals("/admin/keys")) {
        if (method == HttpMethods.POST) {
          return body(request).thenCompose(this::createKey);
        }
        if (method == HttpMethods.GET) {
          return answer(request, listKeys(request.getUri().query().get("organization").orElse(null)));
        }
        return answer(request, notAllowed(method, "GET, POST"));
      }
      if (path.startsWith("/admin/keys/")) {
        String id = path.substring("/admin/keys/".length());
        if (method == HttpMethods.GET) {
          return answer(request, accounts.get(id).thenApply(r -> keyReply(r, id)));
        }
        if (method == HttpMethods.PATCH) {
          return body(request).thenCompose(body -> updateKey(id, body));
        }
        if (method == HttpMethods.DELETE) {
          return answer(request, accounts.revoke(id).thenApply(r -> {
            if (r instanceof KeyAccount.Found) {
              system.log().info("admin: key {} revoked", id);
            }
            return keyReply(r, id);
          }));
        }
        return answer(request, notAllowed(method, "GET, PATCH, DELETE"));
      }
      if (path.equals("/admin/organizations")) {
        if (method == HttpMethods.GET) {
          return answer(request, organizations());
        }
        if (method == HttpMethods.POST) {
          return body(request).thenCompose(body -> putOrganization(null, body));
        }
        return answer(request, notAllowed(method, "GET, POST"));
      }
      if (path.startsWith("/admin/organizations/")) {
        String name = path.substring("/admin/organizations/".length());
        if (method == HttpMethods.GET) {
          return answer(request, organizationsByName().thenApply(byName -> organizationReply(byName, name)));
        }
        if (method == HttpMethods.PATCH) {
          return body(request).thenCompose(body -> putOrganization(name, body));
        }
        return answer(request, notAllowed(method, "GET, PATCH"));
      }
      if (path.equals("/admin/usage") && method == HttpMethods.GET) {
        return answer(request, usage(request));
      }
      if (path.equals("/admin/models")) {
        if (method == HttpMethods.GET) {
          return answer(request, models());
        }
        if (method == HttpMethods.POST) {
          return body(request).thenCompose(this::addModel);
        }
        return answer(request, notAllowed(method, "GET, POST"));
      }
      if (path.startsWith("/admin/models/")) {
        String[] parts = path.substring("/admin/models/".length()).split("/", 3);
        String model = java.net.URLDecoder.decode(parts[0], StandardCharsets.UTF_8);
        if (parts.length == 1 && method == HttpMethods.PATCH) {
          return body(request).thenCompose(b -> changeModel(model, b));
        }
        if (parts.length == 1 && method == HttpMethods.DELETE) {
          return answer(request, changeFleet(replyTo -> new FleetRegistry.RemoveModel(model, replyTo), 200,
              "model " + model + " removed"));
        }
        if (parts.length == 2 && parts[1].equals("servers") && method == HttpMethods.POST) {
          return body(request).thenCompose(b -> addServer(model, b));
        }
        if (parts.length == 3 && parts[1].equals("servers") && method == HttpMethods.DELETE) {
          return answer(request, removeServer(model, java.net.URLDecoder.decode(parts[2], StandardCharsets.UTF_8)));
        }
        return answer(request, notAllowed(method, "DELETE /admin/models/{name}, POST|DELETE .../servers"));
      }
      if (path.equals("/admin/cluster") && method == HttpMethods.GET) {
        return answer(request, cluster());
      }
      if (path.equals("/admin/cluster/leave") && method == HttpMethods.POST) {
        // Answer first: leaving unbinds this edge and waits for the requests in flight, this one included.
        system.log().info("admin: this node was asked to leave the cluster");
        system.scheduler().scheduleOnce(java.time.Duration.ofMillis(200), () ->
            org.apache.pekko.actor.CoordinatedShutdown.get(system).run(
                org.apache.pekko.actor.CoordinatedShutdown.clusterLeavingReason()), system.executionContext());
        return answer(request, json(202, JSON.createObjectNode().put("status", "leaving")
            .put("node", org.apache.pekko.cluster.typed.Cluster.get(system).selfMember().address().toString())));
      }
    } catch (RuntimeException e) {
      return answer(request, failed(e));
    }
    return answer(request, error(404, OpenAiError.invalidRequest("Unknown admin URL: " + method.value() + " "
        + path + ".", null, "unknown_url")));
  }

  // ---- keys

  private CompletionStage<HttpResponse> createKey(byte[] body) {
    KeyConfig token;
    try {
      JsonNode tree = JSON.readTree(body);
      if (!(tree instanceof ObjectNode object)) {
        return done(badRequest("The body must be a JSON object with the key's fields (name, organization, ...)."));
      }
      if (object.has("token") || object.has("key")) {
        return done(badRequest("The server makes the key's secret: leave out 'token' and 'key'."));
      }
      token = JSON.treeToValue(object, KeyConfig.class);
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
    }).exceptionally(this::failed);
  }

  private CompletionStage<HttpResponse> updateKey(String id, byte[] body) {
    JsonNode patch;
    try {
      patch = JSON.readTree(body);
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
        KeyConfig token = JSON.treeToValue(merged, KeyConfig.class);
        FederationConfigParser.validateKey(token, "");
        KeySettings s = KeySettings.of(token);
        updated = new KeySettings(s.name(), s.organization(), s.priority(), s.threshold(), s.models(),
            s.requestsPerMinute(), s.tokensPerMinute(), s.tokenBudget(), s.budgetPeriod(), s.expiresAtMillis(),
            s.defaultRoutingMode(), enabled);
      } catch (Exception e) {
        return done(invalid(e));
      }
      return accounts.update(id, updated).thenApply(r -> keyReply(r, id));
    }).exceptionally(this::failed);
  }

  private CompletionStage<HttpResponse> listKeys(String organization) {
    return accounts.list().thenApply(keys -> {
      ObjectNode list = JSON.createObjectNode().put("object", "list");
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
    ObjectNode view = JSON.createObjectNode().put("id", key.id()).put("object", "api_key")
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
  private static ObjectNode settingsTree(KeySettings s) {
    ObjectNode node = JSON.createObjectNode().put("name", s.name()).put("organization", s.organization())
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

  private static void putNullable(ObjectNode node, String field, Long value) {
    if (value == null) {
      node.putNull(field);
    } else {
      node.put(field, value);
    }
  }

  // ---- organisations and usage

  /** The body of {@code POST /admin/organizations} and {@code PATCH /admin/organizations/{name}}. */
  record OrganizationBody(String name, String description, Integer requestsPerMinute, Long tokensPerMinute,
      Long tokenBudget, String budgetPeriod) {}

  /** Creates ({@code name} null: from the body) or changes an organisation's record. */
  private CompletionStage<HttpResponse> putOrganization(String name, byte[] body) {
    OrganizationBody b;
    try {
      JsonNode tree = JSON.readTree(body);
      if (!(tree instanceof ObjectNode object)) {
        return done(badRequest("The body must be a JSON object (name, description, requests_per_minute, ...)."));
      }
      b = JSON.treeToValue(object, OrganizationBody.class);
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
    }).exceptionally(this::failed);
  }

  private static OrganizationAccount.Settings merge(OrganizationAccount.Settings s, OrganizationBody b) {
    return new OrganizationAccount.Settings(b.description() != null ? b.description() : s.description(),
        b.requestsPerMinute() != null ? b.requestsPerMinute() : s.requestsPerMinute(),
        b.tokensPerMinute() != null ? b.tokensPerMinute() : s.tokensPerMinute(),
        b.tokenBudget() != null ? b.tokenBudget() : s.tokenBudget(),
        b.budgetPeriod() != null ? b.budgetPeriod() : s.budgetPeriod());
  }

  private static HttpResponse organizationReply(Map<String, ObjectNode> organizations, String name) {
    ObjectNode org = organizations.get(name);
    return org != null ? json(200, org)
        : error(404, OpenAiError.invalidRequest("No organisation " + name + ".", null, "organization_not_found"));
  }

  private CompletionStage<HttpResponse> organizations() {
    return organizationsByName().thenApply(byName -> {
      ObjectNode list = JSON.createObjectNode().put("object", "list");
      ArrayNode data = list.putArray("data");
      byName.values().forEach(data::add);
      return json(200, list);
    });
  }

  /**
   * The organisations the federation knows: those recorded through the admin API (with their limits and
   * budget), and those known from keys and servers.
   */
  private CompletionStage<Map<String, ObjectNode>> organizationsByName() {
    return accounts.list().thenCombine(accounts.organizations(), (keys, recorded) -> {
      Map<String, ObjectNode> byName = new TreeMap<>();
      long now = System.currentTimeMillis();
      for (OrganizationAccount.Organization o : recorded) {
        ObjectNode org = byName.computeIfAbsent(o.name(), AdminApi::organization);
        OrganizationAccount.Settings st = o.settings();
        org.put("recorded", true).put("description", st.description())
            .put("budget_period", st.budgetPeriod()).put("budget_used", o.budgetUsedAt(now))
            .put("created_at", Instant.ofEpochMilli(o.createdAtMillis()).toString());
        putNullable(org, "requests_per_minute", st.requestsPerMinute() == null ? null
            : st.requestsPerMinute().longValue());
        putNullable(org, "tokens_per_minute", st.tokensPerMinute());
        putNullable(org, "token_budget", st.tokenBudget());
      }
      for (KeyRecord k : keys) {
        ObjectNode org = byName.computeIfAbsent(k.settings().organization(), AdminApi::organization);
        org.put("keys", org.get("keys").asInt() + 1);
        if ("active".equals(k.status(System.currentTimeMillis()))) {
          org.put("active_keys", org.get("active_keys").asInt() + 1);
        }
      }
      for (ModelConfig m : config.get().models()) {
        for (ServerConfig s : m.vllmServers()) {
          ObjectNode org = byName.computeIfAbsent(s.organization(), AdminApi::organization);
          ((ArrayNode) org.get("servers")).add(ServerSpec.of(m, s).serverId());
        }
      }
      return byName;
    });
  }

  /**
   * The models and their servers as their queues see them: each server's state (ready, full, backlog,
   * kv-cache-full, unhealthy, draining), its live load and how long ago its agent last asked for work. A server
   * of this node's configuration whose agent has not asked lately is listed as not reporting.
   */
  private CompletionStage<HttpResponse> models() {
    List<CompletableFuture<ObjectNode>> models = config.get().models().stream().map(m ->
        org.apache.pekko.actor.typed.javadsl.AskPattern.<QueueCommand, QueueCommand.Fleet>ask(queues.apply(m.name()),
                QueueCommand.GetFleet::new, java.time.Duration.ofSeconds(5), system.scheduler())
            .thenApply(fleet -> modelView(m, fleet)).toCompletableFuture()).toList();
    return CompletableFuture.allOf(models.toArray(CompletableFuture[]::new)).thenApply(v -> {
      ObjectNode list = JSON.createObjectNode().put("object", "list");
      ArrayNode data = list.putArray("data");
      models.forEach(f -> data.add(f.join()));
      return json(200, list);
    });
  }

  private static ObjectNode modelView(ModelConfig m, QueueCommand.Fleet fleet) {
    ObjectNode view = JSON.createObjectNode().put("name", m.name()).put("object", "model")
        .put("served_name", m.servedName()).put("lifecycle", m.lifecycle()).put("routing_strategy", m.routingStrategy())
        .put("queue_timeout_seconds", m.queueTimeout().toSeconds()).put("waiting_tickets", fleet.waitingTickets());
    ArrayNode aliases = view.putArray("aliases");
    m.aliases().forEach(aliases::add);
    ArrayNode servers = view.putArray("servers");
    java.util.Set<String> reporting = new java.util.HashSet<>();
    for (QueueCommand.ServerView s : fleet.servers()) {
      reporting.add(s.serverId());
      var load = s.snapshot();
      ObjectNode server = servers.addObject().put("id", s.serverId()).put("organization", s.organization())
          .put("datacenter", s.datacenter()).put("state", load.state()).put("in_flight", load.inFlight())
          .put("max_parallel_requests", load.maxParallel()).put("credit", s.credit())
          .put("last_demand_ms_ago", s.lastDemandMillisAgo());
      if (load.running() >= 0) {
        server.put("running", load.running());
      }
      if (load.waiting() >= 0) {
        server.put("waiting", load.waiting());
      }
      if (load.kvCacheUsage() >= 0) {
        server.put("kv_cache_usage", Math.round(load.kvCacheUsage() * 1000) / 1000.0);
      }
      if (load.otherCalls() > 0) {
        server.put("other_calls", load.otherCalls());
      }
      if (load.batchLimit() > 0) {
        server.put("batch_limit", load.batchLimit());
      }
      if (load.knowsItsSteps()) {
        server.putObject("step_ms").put("base", Math.round(load.stepBaseMillis() * 100) / 100.0)
            .put("per_call", Math.round(load.stepMillisPerCall() * 1000) / 1000.0);
      }
      server.put("recent_ttft_ms", Math.round(load.recentTtftSeconds() * 1000));
    }
    for (ServerConfig c : m.vllmServers()) {
      String id = ServerSpec.of(m, c).serverId();
      if (!reporting.contains(id)) {
        servers.addObject().put("id", id).put("organization", c.organization()).put("datacenter", c.datacenter())
            .put("state", "not-reporting");
      }
    }
    return view;
  }

  // ---- the fleet

  private CompletionStage<HttpResponse> addModel(byte[] body) {
    ModelConfig model;
    try {
      model = FederationConfigParser.parseModel(new String(body, StandardCharsets.UTF_8));
    } catch (ConfigException e) {
      return done(invalid(e));
    }
    return changeFleet(replyTo -> new FleetRegistry.AddModel(model, replyTo), 201, "model " + model.name()
        + " added with " + model.vllmServers().size() + " server(s)");
  }

  /** {@code PATCH /admin/models/{name}}: {@code lifecycle} and {@code aliases}. */
  private CompletionStage<HttpResponse> changeModel(String name, byte[] body) {
    Optional<ModelConfig> current = fleet.model(name);
    if (current.isEmpty()) {
      return done(error(404, OpenAiError.invalidRequest("No model '" + name + "'.", null, "model_not_found")));
    }
    String lifecycle;
    List<String> aliases = new java.util.ArrayList<>();
    try {
      JsonNode patch = JSON.readTree(body);
      java.util.Iterator<String> fields = patch.fieldNames();
      while (fields.hasNext()) {
        String field = fields.next();
        if (!field.equals("lifecycle") && !field.equals("aliases")) {
          return done(badRequest("Unknown field '" + field + "': a model's lifecycle and aliases can change here; "
              + "for anything else remove it and add it again."));
        }
      }
      lifecycle = patch.path("lifecycle").asText(current.get().lifecycle());
      if (!ModelConfig.LIFECYCLES.contains(lifecycle)) {
        return done(badRequest("invalid value for 'lifecycle': '" + lifecycle
            + "' is not one of deprecated, production, staging"));
      }
      if (patch.has("aliases")) {
        patch.get("aliases").forEach(a -> aliases.add(a.asText()));
      } else {
        aliases.addAll(current.get().aliases());
      }
    } catch (Exception e) {
      return done(invalid(e));
    }
    return changeFleet(replyTo -> new FleetRegistry.SetModel(name, lifecycle, aliases, replyTo), 200,
        "model " + name + " is " + lifecycle + ", aliases " + aliases);
  }

  private CompletionStage<HttpResponse> addServer(String model, byte[] body) {
    ServerConfig server;
    try {
      server = FederationConfigParser.parseServer(new String(body, StandardCharsets.UTF_8));
    } catch (ConfigException e) {
      return done(invalid(e));
    }
    return fleet.ask(replyTo -> new FleetRegistry.AddServer(model, server, replyTo)).thenApply(reply -> {
      if (reply instanceof FleetRegistry.Refused refused) {
        return error(refused.status(), OpenAiError.invalidRequest(refused.message(), null, "fleet_refused"));
      }
      String id = ServerSpec.of(fleet.model(model).orElseThrow(), server).serverId();
      system.log().info("admin: server {} added", id);
      return json(201, JSON.createObjectNode().put("id", id).put("object", "server").put("model", model)
          .put("url", server.url()).put("organization", server.organization())
          .put("max_parallel_requests", server.maxParallelRequests()).put("datacenter", server.datacenter()));
    });
  }

  /** Removes a server from its model: its agent stops taking work, finishes its streams, then stops. */
  private CompletionStage<HttpResponse> removeServer(String model, String id) {
    Optional<ServerConfig> server = fleet.model(model).flatMap(m -> m.vllmServers().stream()
        .filter(s -> ServerSpec.of(m, s).serverId().equals(id)).findFirst());
    if (server.isEmpty()) {
      return done(error(404, OpenAiError.invalidRequest("No server " + id + " for model '" + model + "'.", null,
          "server_not_found")));
    }
    return fleet.ask(replyTo -> new FleetRegistry.RemoveServer(model, server.get().url(), replyTo)).thenApply(r -> {
      if (r instanceof FleetRegistry.Refused refused) {
        return error(refused.status(), OpenAiError.invalidRequest(refused.message(), null, "fleet_refused"));
      }
      system.log().info("admin: server {} removed; its agent drains", id);
      return json(202, JSON.createObjectNode().put("id", id).put("status", "draining"));
    });
  }

  private CompletionStage<HttpResponse> changeFleet(
      java.util.function.Function<org.apache.pekko.actor.typed.ActorRef<FleetRegistry.Reply>, FleetRegistry.Command>
          command, int status, String what) {
    return fleet.ask(command).thenApply(reply -> {
      if (reply instanceof FleetRegistry.Refused refused) {
        return error(refused.status(), OpenAiError.invalidRequest(refused.message(), null, "fleet_refused"));
      }
      system.log().info("admin: {}", what);
      return json(status, JSON.createObjectNode().put("status", "ok").put("change", what));
    });
  }

  /** The cluster as this node sees it: members, their status and roles. */
  private HttpResponse cluster() {
    org.apache.pekko.cluster.typed.Cluster cluster = org.apache.pekko.cluster.typed.Cluster.get(system);
    ObjectNode view = JSON.createObjectNode().put("self", cluster.selfMember().address().toString());
    ArrayNode members = view.putArray("members");
    cluster.state().getMembers().forEach(m -> {
      ObjectNode member = members.addObject().put("address", m.address().toString())
          .put("status", m.status().toString())
          .put("reachable", !cluster.state().getUnreachable().contains(m));
      ArrayNode roles = member.putArray("roles");
      m.getRoles().stream().filter(r -> !r.startsWith("dc-")).sorted().forEach(roles::add);
    });
    return json(200, view);
  }

  private static ObjectNode organization(String name) {
    ObjectNode org = JSON.createObjectNode().put("name", name).put("object", "organization").put("recorded", false)
        .put("keys", 0).put("active_keys", 0);
    org.putArray("servers");
    return org;
  }

  private CompletionStage<HttpResponse> usage(HttpRequest request) {
    Map<String, String> q = request.getUri().query().toMap();
    String groupBy = q.getOrDefault("group_by", "organization");
    if (!UsageLedger.GROUPS.containsKey(groupBy)) {
      return done(badRequest("'group_by' must be one of " + String.join(", ", new TreeMap<>(UsageLedger.GROUPS)
          .keySet()) + "."));
    }
    String format = q.getOrDefault("format", "json");
    if (!format.equals("json") && !format.equals("csv")) {
      return done(badRequest("'format' must be json or csv."));
    }
    long from;
    long to;
    try {
      from = q.containsKey("from") ? instant(q.get("from")) : 0;
      to = q.containsKey("to") ? instant(q.get("to")) : System.currentTimeMillis() + 1;
    } catch (RuntimeException e) {
      return done(badRequest("'from' and 'to' are ISO-8601 dates (2026-11-01) or instants "
          + "(2026-11-01T08:00:00Z), or epoch seconds."));
    }
    Optional<String> key = Optional.ofNullable(q.get("key"));
    return CompletableFuture.supplyAsync(() -> {
      try {
        return ledger.report(from, to, groupBy, key);
      } catch (java.sql.SQLException e) {
        throw new CompletionException(e);
      }
    }, system.dispatchers().lookup(org.apache.pekko.actor.typed.DispatcherSelector.blocking()))
        .thenApply(rows -> format.equals("csv") ? csv(groupBy, rows) : usageJson(groupBy, from, to, rows));
  }

  private static long instant(String text) {
    if (text.matches("\\d{9,}")) {
      return Long.parseLong(text) * 1000;
    }
    return FederationConfigParser.parseInstant(text).toEpochMilli();
  }

  private static HttpResponse usageJson(String groupBy, long from, long to, List<UsageLedger.Row> rows) {
    ObjectNode report = JSON.createObjectNode().put("object", "usage").put("group_by", groupBy)
        .put("from", Instant.ofEpochMilli(from).toString()).put("to", Instant.ofEpochMilli(to).toString());
    ArrayNode data = report.putArray("data");
    for (UsageLedger.Row r : rows) {
      data.addObject().put(groupBy, r.group()).put("requests", r.requests()).put("errors", r.errors())
          .put("prompt_tokens", r.promptTokens()).put("completion_tokens", r.completionTokens())
          .put("total_tokens", r.totalTokens())
          .put("avg_queue_wait_ms", Math.round(r.avgQueueWaitMillis()))
          .put("avg_ttft_ms", Math.round(r.avgTtftMillis()))
          .put("energy_wh", Math.round(r.energyWattHours() * 1000) / 1000.0);
    }
    return json(200, report);
  }

  private static HttpResponse csv(String groupBy, List<UsageLedger.Row> rows) {
    StringBuilder sb = new StringBuilder(groupBy).append(",requests,errors,prompt_tokens,completion_tokens,"
        + "total_tokens,avg_queue_wait_ms,avg_ttft_ms,energy_wh\n");
    for (UsageLedger.Row r : rows) {
      String group = r.group().contains(",") || r.group().contains("\"")
          ? "\"" + r.group().replace("\"", "\"\"") + "\"" : r.group();
      sb.append(group).append(',').append(r.requests()).append(',').append(r.errors()).append(',')
          .append(r.promptTokens()).append(',').append(r.completionTokens()).append(',').append(r.totalTokens())
          .append(',').append(Math.round(r.avgQueueWaitMillis())).append(',').append(Math.round(r.avgTtftMillis()))
          .append(',').append(Math.round(r.energyWattHours() * 1000) / 1000.0).append('\n');
    }
    return HttpResponse.create().withEntity(ContentTypes.TEXT_CSV_UTF8, sb.toString());
  }

  // ---- plumbing

  private CompletionStage<byte[]> body(HttpRequest request) {
    return RequestBody.read(request.entity(), BODY_LIMIT, BODY_TIMEOUT, materializer).thenApply(read -> {
      if (read instanceof RequestBody.Body body) {
        return body.bytes();
      }
      throw new BodyRefused(read instanceof RequestBody.TooSlow slow ? error(408, slow.error())
          : error(413, OpenAiError.invalidRequest("The request body is larger than the admin API accepts ("
              + BODY_LIMIT + " bytes).", null, "request_too_large")));
    });
  }

  /** An admin body that could not be read (too large, too slow), with the answer it gets. */
  private static final class BodyRefused extends RuntimeException {
    final transient HttpResponse response;

    BodyRefused(HttpResponse response) {
      super(null, null, false, false);
      this.response = response;
    }
  }

  private CompletionStage<HttpResponse> answer(HttpRequest request, HttpResponse response) {
    request.discardEntityBytes(materializer);
    return CompletableFuture.completedFuture(response);
  }

  private CompletionStage<HttpResponse> answer(HttpRequest request, CompletionStage<HttpResponse> response) {
    request.discardEntityBytes(materializer);
    return response.exceptionally(this::failed);
  }

  private static CompletionStage<HttpResponse> done(HttpResponse response) {
    return CompletableFuture.completedFuture(response);
  }

  private HttpResponse failed(Throwable failure) {
    Throwable cause = failure instanceof CompletionException && failure.getCause() != null
        ? failure.getCause() : failure;
    if (cause instanceof BodyRefused refused) {
      return refused.response;
    }
    if (cause instanceof java.util.concurrent.TimeoutException) {
      return error(503, OpenAiError.serverError("The key accounts did not answer in time. Retry later.",
          "accounts_unavailable"));
    }
    system.log().warn("admin request failed: {}", cause.toString());
    return error(500, OpenAiError.serverError("The admin request failed: " + cause.getClass().getSimpleName(),
        "internal_error"));
  }

  private static HttpResponse invalid(Exception e) {
    if (e instanceof ConfigException c) {
      return badRequest(c.getMessage().replace("missing configuration key", "missing field")
          .replace("malformed value for", "invalid value for"));
    }
    if (e instanceof UnrecognizedPropertyException u) {
      return badRequest("Unknown field '" + u.getPropertyName() + "'.");
    }
    if (e instanceof JsonProcessingException j && j.getCause() instanceof ConfigException c) {
      return badRequest(c.getMessage().replace("malformed value for", "invalid value for"));
    }
    if (e instanceof JsonProcessingException j) {
      return badRequest("The body is not a valid key: " + j.getOriginalMessage());
    }
    return badRequest("The body is not a valid key: " + e.getMessage());
  }

  private static HttpResponse badRequest(String message) {
    return error(400, OpenAiError.invalidRequest(message, null, "invalid_value"));
  }

  private static HttpResponse notFound(String id) {
    return error(404, OpenAiError.invalidRequest("No key " + id + ".", null, "key_not_found"));
  }

  private static HttpResponse notAllowed(HttpMethod method, String allowed) {
    return error(405, OpenAiError.invalidRequest("Method " + method.value() + " is not allowed here; use "
        + allowed + ".", null, "method_not_allowed"));
  }

  private static HttpResponse error(int status, OpenAiError error) {
    return OpenAiEdge.error(status, error, 0);
  }

  private static HttpResponse json(int status, JsonNode body) {
    return HttpResponse.create().withStatus(status).withEntity(ContentTypes.APPLICATION_JSON, body.toString());
  }
}
