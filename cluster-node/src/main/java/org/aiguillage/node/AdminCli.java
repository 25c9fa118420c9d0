package org.aiguillage.node;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import org.aiguillage.protocol.Json;

/**
 * The operators' command line, in the node's jar: each command is one call to a running node's admin API.
 * {@code java -jar aiguillage.jar keys|orgs|usage --help} says the rest. Exit codes: 0 done, 1 refused by the node
 * or the node not reached, 2 bad usage.
 */
@Command(name = "java -jar aiguillage.jar", mixinStandardHelpOptions = true, version = "Aiguillage 0.1.0",
    subcommands = {
    AdminCli.Keys.class, AdminCli.Orgs.class, AdminCli.Usage.class},
    description = "Without a command: the demo. --config FILE: a node. These commands call a node's admin API.")
final class AdminCli {

  private static final ObjectMapper JSON = Json.MAPPER;

  private final Map<String, String> env;
  private final PrintStream out;
  private final PrintStream err;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  AdminCli(Map<String, String> env, PrintStream out, PrintStream err) {
    this.env = env;
    this.out = out;
    this.err = err;
  }

  static boolean handles(String[] args) {
    return args.length > 0 && List.of("keys", "orgs", "usage", "--help", "-h").contains(args[0]);
  }

  /** @return the process exit code: 0 done, 1 refused by the node, 2 bad usage */
  int run(String[] args) {
    CommandLine cli = new CommandLine(this, new CommandLine.IFactory() {
      @Override
      public <K> K create(Class<K> type) throws Exception {
        if (type == Keys.class || type == Orgs.class || type == Usage.class) {
          return type.getDeclaredConstructor(AdminCli.class).newInstance(AdminCli.this);
        }
        return CommandLine.defaultFactory().create(type);
      }
    });
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    return cli.execute(args);
  }

  /** Where the node is and the admin token, from the options or the environment. */
  static final class Node {
    @Option(names = "--url", description = "the node (default: AIGUILLAGE_URL or http://127.0.0.1:8080)")
    String url;

    @Option(names = "--admin-token", description = "the admin token (default: AIGUILLAGE_ADMIN_TOKEN)")
    String adminToken;
  }

  @Command(name = "keys", mixinStandardHelpOptions = true, description = "API keys: make, list, show, revoke.")
  final class Keys {

    @Command(name = "create", mixinStandardHelpOptions = true,
        description = "Make a key; its secret is printed this once.")
    int create(@Mixin Node node,
        @Option(names = "--name", required = true) String name,
        @Option(names = "--org", required = true, description = "its organisation") String organization,
        @Option(names = "--priority", description = "1 (lowest) to 5") Long priority,
        @Option(names = "--threshold", description = "most requests waiting at once") Long threshold,
        @Option(names = "--models", split = ",", description = "the models it may use (default: all)")
            List<String> models,
        @Option(names = "--rpm", description = "requests per minute") Long requestsPerMinute,
        @Option(names = "--tpm", description = "tokens per minute") Long tokensPerMinute,
        @Option(names = "--budget", description = "tokens per budget period") Long tokenBudget,
        @Option(names = "--period", description = "day, week or month") String budgetPeriod,
        @Option(names = "--expires", description = "a date, 2027-06-30") String expiresAt,
        @Option(names = "--audio-seconds-per-day", description = "seconds of audio per UTC day (speech to text)")
            Long audioSecondsPerDay,
        @Option(names = "--routing-mode", description = "any, private-first or private-only") String routingMode) {
      ObjectNode body = JSON.createObjectNode().put("name", name).put("organization", organization);
      putIfSet(body, "priority", priority);
      putIfSet(body, "threshold", threshold);
      if (models != null) {
        models.stream().map(String::trim).filter(m -> !m.isEmpty()).forEach(body.withArray("models")::add);
      }
      putIfSet(body, "requests_per_minute", requestsPerMinute);
      putIfSet(body, "tokens_per_minute", tokensPerMinute);
      putIfSet(body, "token_budget", tokenBudget);
      putIfSet(body, "budget_period", budgetPeriod);
      putIfSet(body, "expires_at", expiresAt);
      putIfSet(body, "audio_seconds_per_day", audioSecondsPerDay);
      putIfSet(body, "default_routing_mode", routingMode);
      int code = call(node, "POST", "/admin/keys", body.toString());
      if (code == 0) {
        err.println("The key's secret is shown this once: store it now.");
      }
      return code;
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "Every key, or an organisation's.")
    int list(@Mixin Node node, @Option(names = "--org") String organization) {
      return call(node, "GET", "/admin/keys" + query("organization", organization), null);
    }

    @Command(name = "show", mixinStandardHelpOptions = true, description = "One key.")
    int show(@Mixin Node node, @Parameters(paramLabel = "KEY_ID") String id) {
      return call(node, "GET", "/admin/keys/" + encode(id), null);
    }

    @Command(name = "revoke", mixinStandardHelpOptions = true, description = "Revoke a key, for good.")
    int revoke(@Mixin Node node, @Parameters(paramLabel = "KEY_ID") String id) {
      return call(node, "DELETE", "/admin/keys/" + encode(id), null);
    }

    @Command(name = "disable", mixinStandardHelpOptions = true, description = "Turn a key off until enabled.")
    int disable(@Mixin Node node, @Parameters(paramLabel = "KEY_ID") String id) {
      return call(node, "PATCH", "/admin/keys/" + encode(id), "{\"enabled\":false}");
    }

    @Command(name = "enable", mixinStandardHelpOptions = true, description = "Turn a disabled key back on.")
    int enable(@Mixin Node node, @Parameters(paramLabel = "KEY_ID") String id) {
      return call(node, "PATCH", "/admin/keys/" + encode(id), "{\"enabled\":true}");
    }
  }

  @Command(name = "orgs", mixinStandardHelpOptions = true,
      description = "Organisations: their limits shared by all their keys.")
  final class Orgs {

    @Command(name = "list", mixinStandardHelpOptions = true, description = "Every organisation.")
    int list(@Mixin Node node) {
      return call(node, "GET", "/admin/organizations", null);
    }

    @Command(name = "show", mixinStandardHelpOptions = true, description = "One organisation.")
    int show(@Mixin Node node, @Parameters(paramLabel = "NAME") String name) {
      return call(node, "GET", "/admin/organizations/" + encode(name), null);
    }

    @Command(name = "create", mixinStandardHelpOptions = true, description = "Record an organisation.")
    int create(@Mixin Node node, @Parameters(paramLabel = "NAME") String name, @Mixin Limits limits) {
      return call(node, "POST", "/admin/organizations", limits.body().put("name", name).toString());
    }

    @Command(name = "update", mixinStandardHelpOptions = true,
        description = "Change an organisation's description or limits.")
    int update(@Mixin Node node, @Parameters(paramLabel = "NAME") String name, @Mixin Limits limits) {
      return call(node, "PATCH", "/admin/organizations/" + encode(name), limits.body().toString());
    }
  }

  /** An organisation's description and limits. */
  static final class Limits {
    @Option(names = "--description") String description;
    @Option(names = "--rpm", description = "requests per minute") Long requestsPerMinute;
    @Option(names = "--tpm", description = "tokens per minute") Long tokensPerMinute;
    @Option(names = "--budget", description = "tokens per budget period") Long tokenBudget;
    @Option(names = "--period", description = "day, week or month") String budgetPeriod;

    ObjectNode body() {
      ObjectNode body = JSON.createObjectNode();
      putIfSet(body, "description", description);
      putIfSet(body, "requests_per_minute", requestsPerMinute);
      putIfSet(body, "tokens_per_minute", tokensPerMinute);
      putIfSet(body, "token_budget", tokenBudget);
      putIfSet(body, "budget_period", budgetPeriod);
      return body;
    }
  }

  @Command(name = "usage", mixinStandardHelpOptions = true, description = "A usage report from the ledger.")
  final class Usage implements java.util.concurrent.Callable<Integer> {
    @Mixin Node node;
    @Option(names = "--from", description = "a date (2026-11-01), an instant or epoch seconds") String from;
    @Option(names = "--to") String to;
    @Option(names = "--group-by", description = "organization (default), key, model, server, server_organization")
    String groupBy;
    @Option(names = "--key", description = "one key's usage") String key;
    @Option(names = "--csv", description = "CSV instead of JSON") boolean csv;

    @Override
    public Integer call() {
      StringJoiner q = new StringJoiner("&", "?", "").setEmptyValue("");
      add(q, "from", from);
      add(q, "to", to);
      add(q, "group_by", groupBy);
      add(q, "key", key);
      add(q, "format", csv ? "csv" : null);
      return AdminCli.this.call(node, "GET", "/admin/usage" + q, null);
    }
  }

  private int call(Node node, String method, String path, String body) {
    String base = node.url != null ? node.url : env.getOrDefault("AIGUILLAGE_URL", "http://127.0.0.1:8080");
    String token = node.adminToken != null ? node.adminToken : env.get("AIGUILLAGE_ADMIN_TOKEN");
    if (token == null || token.isBlank()) {
      err.println("give the admin token with --admin-token or AIGUILLAGE_ADMIN_TOKEN");
      return 2;
    }
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path))
        .timeout(Duration.ofSeconds(30))
        .header("Authorization", "Bearer " + token)
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body));
    if (body != null) {
      request.header("Content-Type", "application/json");
    }
    try {
      HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() >= 400) {
        String message = response.body();
        try {
          message = JSON.readTree(response.body()).path("error").path("message").asText(response.body());
        } catch (IOException notJson) {
          // printed as it came
        }
        err.println("error " + response.statusCode() + ": " + message);
        return 1;
      }
      String text = response.body();
      if (response.headers().firstValue("Content-Type").orElse("").startsWith("application/json")) {
        JsonNode tree = JSON.readTree(text);
        text = JSON.writerWithDefaultPrettyPrinter().writeValueAsString(tree);
      }
      out.println(text.stripTrailing());
      return 0;
    } catch (IOException e) {
      err.println("cannot reach " + base + ": " + e.getMessage());
      return 1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 1;
    }
  }

  private static void putIfSet(ObjectNode body, String field, Object value) {
    if (value instanceof Long n) {
      body.put(field, n);
    } else if (value != null) {
      body.put(field, value.toString());
    }
  }

  private static String query(String name, String value) {
    return value == null ? "" : "?" + name + "=" + encode(value);
  }

  private static void add(StringJoiner query, String name, String value) {
    if (value != null) {
      query.add(name + "=" + encode(value));
    }
  }

  private static String encode(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8);
  }
}
