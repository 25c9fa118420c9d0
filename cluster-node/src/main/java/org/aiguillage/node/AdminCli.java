package org.aiguillage.node;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;

/**
 * The operators' command line, in the node's jar: each command is one call to a running node's admin API.
 *
 * <pre>
 * java -jar aiguillage.jar keys create --name lab --org univ-a [--priority 3] [--threshold 100]
 *     [--models a,b] [--rpm 60] [--tpm 100000] [--budget 5000000 --period month] [--expires 2027-06-30]
 *     [--routing-mode private-first]
 * java -jar aiguillage.jar keys list [--org univ-a]
 * java -jar aiguillage.jar keys show|revoke ID
 * java -jar aiguillage.jar keys disable|enable ID
 * java -jar aiguillage.jar usage [--from 2026-11-01] [--to ...] [--group-by organization|key|model|server] [--csv]
 * </pre>
 *
 * Every command takes {@code --url} (default {@code AIGUILLAGE_URL} or http://127.0.0.1:8080) and {@code
 * --admin-token} (default {@code AIGUILLAGE_ADMIN_TOKEN}).
 */
final class AdminCli {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Map<String, String> KEY_FIELDS = Map.of(
      "--name", "name", "--org", "organization", "--priority", "priority", "--threshold", "threshold",
      "--rpm", "requests_per_minute", "--tpm", "tokens_per_minute", "--budget", "token_budget",
      "--period", "budget_period", "--expires", "expires_at", "--routing-mode", "default_routing_mode");
  private static final List<String> NUMBERS = List.of("priority", "threshold", "requests_per_minute",
      "tokens_per_minute", "token_budget");

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
    return args.length > 0 && (args[0].equals("keys") || args[0].equals("usage"));
  }

  /** @return the process exit code: 0 done, 1 refused by the node, 2 bad usage */
  int run(String[] args) {
    Map<String, String> options = new HashMap<>();
    List<String> words = new java.util.ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--csv")) {
        options.put("--csv", "true");
      } else if (args[i].startsWith("--")) {
        if (i + 1 >= args.length) {
          return usage("option " + args[i] + " needs a value");
        }
        options.put(args[i], args[++i]);
      } else {
        words.add(args[i]);
      }
    }
    String base = options.getOrDefault("--url", env.getOrDefault("AIGUILLAGE_URL", "http://127.0.0.1:8080"));
    String token = options.getOrDefault("--admin-token", env.get("AIGUILLAGE_ADMIN_TOKEN"));
    if (token == null || token.isBlank()) {
      return usage("give the admin token with --admin-token or AIGUILLAGE_ADMIN_TOKEN");
    }
    options.remove("--url");
    options.remove("--admin-token");
    try {
      if (words.equals(List.of("usage"))) {
        StringJoiner query = new StringJoiner("&", "?", "").setEmptyValue("");
        addQuery(query, "from", options.get("--from"));
        addQuery(query, "to", options.get("--to"));
        addQuery(query, "group_by", options.get("--group-by"));
        addQuery(query, "key", options.get("--key"));
        addQuery(query, "format", options.containsKey("--csv") ? "csv" : null);
        return call(base, token, "GET", "/admin/usage" + query, null);
      }
      if (words.size() >= 2 && words.get(0).equals("keys")) {
        String verb = words.get(1);
        if (verb.equals("create") && words.size() == 2) {
          ObjectNode body = JSON.createObjectNode();
          for (Map.Entry<String, String> o : options.entrySet()) {
            if (o.getKey().equals("--models")) {
              Arrays.stream(o.getValue().split(",")).map(String::trim).filter(m -> !m.isEmpty())
                  .forEach(body.withArray("models")::add);
              continue;
            }
            String field = KEY_FIELDS.get(o.getKey());
            if (field == null) {
              return usage("unknown option " + o.getKey());
            }
            if (NUMBERS.contains(field)) {
              try {
                body.put(field, Long.parseLong(o.getValue()));
              } catch (NumberFormatException e) {
                return usage(o.getKey() + " needs a whole number, not '" + o.getValue() + "'");
              }
            } else {
              body.put(field, o.getValue());
            }
          }
          return call(base, token, "POST", "/admin/keys", body.toString());
        }
        if (verb.equals("list") && words.size() == 2) {
          String org = options.get("--org");
          return call(base, token, "GET", "/admin/keys"
              + (org == null ? "" : "?organization=" + URLEncoder.encode(org, StandardCharsets.UTF_8)), null);
        }
        if (words.size() == 3) {
          String path = "/admin/keys/" + URLEncoder.encode(words.get(2), StandardCharsets.UTF_8);
          switch (verb) {
            case "show": return call(base, token, "GET", path, null);
            case "revoke": return call(base, token, "DELETE", path, null);
            case "disable": return call(base, token, "PATCH", path, "{\"enabled\":false}");
            case "enable": return call(base, token, "PATCH", path, "{\"enabled\":true}");
            default: break;
          }
        }
      }
    } catch (java.io.IOException e) {
      err.println("cannot reach " + base + ": " + e.getMessage());
      return 1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 1;
    }
    return usage("unknown command: " + String.join(" ", words));
  }

  private static void addQuery(StringJoiner query, String name, String value) {
    if (value != null) {
      query.add(name + "=" + URLEncoder.encode(value, StandardCharsets.UTF_8));
    }
  }

  private int call(String base, String token, String method, String path, String body)
      throws java.io.IOException, InterruptedException {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path))
        .timeout(Duration.ofSeconds(30))
        .header("Authorization", "Bearer " + token)
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body));
    if (body != null) {
      request.header("Content-Type", "application/json");
    }
    HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    if (response.statusCode() >= 400) {
      String message = response.body();
      try {
        message = JSON.readTree(response.body()).path("error").path("message").asText(response.body());
      } catch (Exception ignored) {
        // not JSON: print it as it came
      }
      err.println("error " + response.statusCode() + ": " + message);
      return 1;
    }
    String text = response.body();
    if (response.headers().firstValue("Content-Type").orElse("").startsWith("application/json")) {
      text = JSON.writerWithDefaultPrettyPrinter().writeValueAsString(JSON.readTree(text));
    }
    out.println(text.stripTrailing());
    if (method.equals("POST") && path.equals("/admin/keys")) {
      err.println("The key's secret is shown this once: store it now.");
    }
    return 0;
  }

  private int usage(String problem) {
    err.println(problem);
    err.println("""
        usage: java -jar aiguillage.jar keys create --name NAME --org ORG [--priority 1-5] [--threshold N]
                   [--models a,b] [--rpm N] [--tpm N] [--budget N] [--period day|week|month]
                   [--expires 2027-06-30] [--routing-mode any|private-first|private-only]
               java -jar aiguillage.jar keys list [--org ORG]
               java -jar aiguillage.jar keys show|revoke|disable|enable KEY_ID
               java -jar aiguillage.jar usage [--from DATE] [--to DATE] [--group-by organization|key|model|server]
                   [--key KEY_ID] [--csv]
        each with [--url http://127.0.0.1:8080] [--admin-token TOKEN] (or AIGUILLAGE_URL, AIGUILLAGE_ADMIN_TOKEN)""");
    return 2;
  }
}
