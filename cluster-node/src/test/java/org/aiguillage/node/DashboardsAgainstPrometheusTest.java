package org.aiguillage.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.OpenAIServiceException;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.embeddings.EmbeddingCreateParams;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.aiguillage.loadtest.sim.SimulatorProfile;
import org.aiguillage.loadtest.sim.VllmSimulator;
import org.aiguillage.protocol.config.FederationConfigParser;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The dashboards and alert rules of {@code k8s/monitoring} against a real Prometheus scraping a real node: every
 * panel's query must run and return series, every rule must evaluate, and promtool must accept the rules and pass
 * their unit tests. A renamed metric, a label a query groups by that the node does not serve, a PromQL typo: the
 * build fails, naming the dashboard, the panel and the query.
 *
 * <p>One node with simulated vLLM servers: a chat model on two servers at 700 W (energy), an embeddings model, and a
 * model whose only server is down (no server, 503s, an unhealthy server: what the alerts look for). Two waves of
 * traffic, a few scrapes apart so that counters made by the first wave grow in the second (rate() needs two samples):
 * chat streamed and whole at priorities 5 and 1, embeddings, a wrong key (401), a key over its requests per minute
 * (429). Each dashboard is written as an HTML page of tables to {@code target/dashboards/}, with a screenshot of the
 * overview when Chromium is there.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DashboardsAgainstPrometheusTest {

  private static final Path MONITORING = Path.of("..", "k8s", "monitoring").toAbsolutePath().normalize();
  private static final Path PAGES = Path.of("target", "dashboards").toAbsolutePath();
  private static final List<String> DASHBOARDS =
      List.of("aiguillage-overview", "aiguillage-fleet", "aiguillage-keys", "aiguillage-cluster");
  /** Grafana's variables in an expression: $name or ${name} (or ${name:format}). */
  private static final Pattern VARIABLE = Pattern.compile("\\$(?:\\{(\\w+)(?::\\w+)?}|(\\w+))");
  private static final Pattern LEGEND_LABEL = Pattern.compile("\\{\\{\\s*(\\w+)\\s*}}");
  private static final Pattern LABEL_VALUES = Pattern.compile("label_values\\(\\s*(\\w+)\\s*,\\s*(\\w+)\\s*\\)");
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final int LIMITED_PER_MINUTE = 2;

  private VllmSimulator chatA;
  private VllmSimulator chatB;
  private VllmSimulator embedder;
  private AiguillageNode node;
  private CompletableFuture<PrometheusForTests> prometheusStarting;
  private PrometheusForTests prometheus;
  private final ExecutorService users = Executors.newFixedThreadPool(24);
  private final Queue<Integer> statuses = new ConcurrentLinkedQueue<>();

  @BeforeAll
  void start() throws Exception {
    PrometheusForTests.binary("prometheus"); // fails at once, saying what to install, before anything starts
    // 5 ms a token and two calls per server: sixteen chats at once make a queue, so waits are not all zero.
    SimulatorProfile profile = SimulatorProfile.fast().withItl(5, 5);
    chatA = VllmSimulator.start("served-chat", profile);
    chatB = VllmSimulator.start("served-chat", profile);
    embedder = VllmSimulator.start("BAAI/bge-m3", profile);
    int nobodyListens = freePort();
    // The node's port is chosen here so that Prometheus starts (a few seconds on two cores) while the node does.
    int nodePort = freePort();
    prometheusStarting = CompletableFuture.supplyAsync(() -> {
      try {
        return PrometheusForTests.start("127.0.0.1:" + nodePort, List.of(MONITORING.resolve("alerts.yaml")));
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }, users);
    node = AiguillageNode.start(FederationConfigParser.parse("""
        http: { host: 127.0.0.1, port: %d }
        persistence: { url: "jdbc:h2:mem:dashboards" }
        datacenters:
          default: { pue: 1.2, carbon_intensity_g_per_kwh: 56 }   # energy with its overhead, and its CO2e
        tokens:
          - { token: sk-high, name: high, organization: univ-a, priority: 5 }
          - { token: sk-low, name: low, organization: univ-b, priority: 1 }
          # Priority 1 as low's: its second wave is all 429s, so a priority of its own would have no waits to show.
          - { token: sk-limited, name: limited, organization: univ-c, priority: 1, requests_per_minute: %d }
        models:
          - name: chat
            model: served-chat
            vllm_servers:
              - { url: %s, organization: univ-a, max_parallel_requests: 2, power_watts: 700 }
              - { url: %s, organization: univ-b, max_parallel_requests: 2, power_watts: 700 }
          - name: embed
            model: BAAI/bge-m3
            type: text-embeddings-inference
            vllm_servers: [ { url: %s, organization: univ-a, max_parallel_requests: 4, power_watts: 300 } ]
          - name: gone
            queue_timeout: 1s
            vllm_servers: [ { url: "http://127.0.0.1:%d", organization: univ-a } ]
        """.formatted(nodePort, LIMITED_PER_MINUTE, chatA.baseUrl(), chatB.baseUrl(), embedder.baseUrl(),
        nobodyListens)));
    prometheus = prometheusStarting.get(60, TimeUnit.SECONDS);
    prometheus.await("up{job=\"aiguillage\"} == 1", result -> result.size() == 1, Duration.ofSeconds(20));

    // The first wave makes the series, the second makes them grow: rate() and increase() need two samples.
    wave(LIMITED_PER_MINUTE + 1);
    awaitScrapes(2);
    wave(2);
    // Kamon hands the reporter a snapshot every second; four scrapes later every count of the traffic is there.
    awaitScrapes(4);
  }

  private static int freePort() throws Exception {
    try (ServerSocket free = new ServerSocket(0)) {
      return free.getLocalPort();
    }
  }

  @AfterAll
  void stop() throws Exception {
    if (node != null) {
      node.close();
    }
    for (VllmSimulator s : Stream.of(chatA, chatB, embedder).filter(s -> s != null).toList()) {
      s.close();
    }
    if (prometheusStarting != null) {
      // Started beside the node, it runs even when the node did not start; when it did not start, start() said why.
      try {
        prometheusStarting.get(60, TimeUnit.SECONDS).close();
      } catch (ExecutionException notStarted) {
        // nothing to stop
      }
    }
    users.shutdownNow();
  }

  // ---- traffic

  private OpenAIClient client(String key) {
    return OpenAIOkHttpClient.builder().baseUrl(node.baseUrl() + "/v1").apiKey(key).maxRetries(0)
        .timeout(Duration.ofSeconds(30)).build();
  }

  private static ChatCompletionCreateParams chat(String model, String prompt) {
    return ChatCompletionCreateParams.builder().model(model).addUserMessage(prompt).maxCompletionTokens(40).build();
  }

  /** The call's HTTP status: 200, or the status of the error it got. */
  private CompletableFuture<Integer> status(IntSupplier call) {
    return CompletableFuture.supplyAsync(() -> {
      try {
        return call.getAsInt();
      } catch (OpenAIServiceException e) {
        return e.statusCode();
      }
    }, users);
  }

  private static int streamed(OpenAIClient client, String model, String prompt) {
    try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(chat(model, prompt))) {
      stream.stream().forEach(chunk -> { });
    }
    return 200;
  }

  private static int whole(OpenAIClient client, String model, String prompt) {
    client.chat().completions().create(chat(model, prompt));
    return 200;
  }

  private static int embedding(OpenAIClient client, String text) {
    client.embeddings().create(EmbeddingCreateParams.builder().model("embed").input(text).build());
    return 200;
  }

  private void wave(int limitedCalls) throws Exception {
    OpenAIClient high = client("sk-high");
    OpenAIClient low = client("sk-low");
    OpenAIClient stranger = client("sk-nobody-has");
    OpenAIClient limited = client("sk-limited");
    List<CompletableFuture<Integer>> calls = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      String n = Integer.toString(i);
      calls.add(status(() -> streamed(high, "chat", "high streamed " + n)));
      calls.add(status(() -> whole(high, "chat", "high whole " + n)));
      calls.add(status(() -> streamed(low, "chat", "low streamed " + n)));
      calls.add(status(() -> whole(low, "chat", "low whole " + n)));
      OpenAIClient embedder = i % 2 == 0 ? high : low;
      calls.add(status(() -> embedding(embedder, "a text to embed " + n)));
    }
    calls.add(status(() -> whole(stranger, "chat", "who am I")));
    calls.add(status(() -> whole(high, "gone", "its server is down")));
    // One by one, so that the ones past the limit are answered 429 whatever the order of the others.
    for (int i = 0; i < limitedCalls; i++) {
      String n = Integer.toString(i);
      statuses.add(status(() -> whole(limited, "chat", "limited " + n)).get(30, TimeUnit.SECONDS));
    }
    for (CompletableFuture<Integer> call : calls) {
      statuses.add(call.get(30, TimeUnit.SECONDS));
    }
  }

  /** Waits until Prometheus holds a scrape made {@code scrapes} seconds (scrape intervals) from now. */
  private void awaitScrapes(int scrapes) throws Exception {
    double after = System.currentTimeMillis() / 1000.0 + scrapes;
    prometheus.await("timestamp(up{job=\"aiguillage\"})",
        result -> result.size() == 1 && result.get(0).path("value").get(1).asDouble() >= after,
        Duration.ofSeconds(scrapes + 10L));
  }

  // ---- the dashboards

  private static JsonNode dashboard(String name) throws Exception {
    return JSON.readTree(Files.readString(MONITORING.resolve(name + ".json")));
  }

  /** The panels in their order, rows' own panels (a collapsed row holds them) after their row. */
  private static List<JsonNode> panels(JsonNode dashboard) {
    List<JsonNode> panels = new ArrayList<>();
    for (JsonNode panel : dashboard.path("panels")) {
      panels.add(panel);
      panel.path("panels").forEach(panels::add);
    }
    return panels;
  }

  /**
   * The expression Prometheus runs for Grafana's: All models ({@code $model} is always matched with =~), one minute
   * for the rate and the interval, an hour for the dashboard's range. A variable not known here fails the test.
   */
  private static String promql(String expr) {
    Matcher m = VARIABLE.matcher(expr);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      String name = m.group(1) != null ? m.group(1) : m.group(2);
      String value = switch (name) {
        case "model" -> {
          assertTrue(expr.substring(0, m.start()).endsWith("=~\""),
              "$model is a multi-value variable: match it with =~, in " + expr);
          yield ".*";
        }
        case "__rate_interval", "__interval" -> "1m";
        case "__range" -> "1h";
        default -> throw new AssertionError("a variable the test does not know, $" + name + ", in " + expr);
      };
      m.appendReplacement(out, Matcher.quoteReplacement(value));
    }
    return m.appendTail(out).toString();
  }

  private static List<String> legendLabels(String legendFormat) {
    List<String> labels = new ArrayList<>();
    Matcher m = LEGEND_LABEL.matcher(legendFormat);
    while (m.find()) {
      labels.add(m.group(1));
    }
    return labels;
  }

  private static List<DashboardPage.Series> series(JsonNode answer) {
    List<DashboardPage.Series> series = new ArrayList<>();
    JsonNode data = answer.path("data");
    if ("scalar".equals(data.path("resultType").asText())) {
      series.add(new DashboardPage.Series(Map.of(), data.path("result").get(1).asDouble()));
      return series;
    }
    for (JsonNode s : data.path("result")) {
      Map<String, String> labels = new TreeMap<>();
      s.path("metric").fields().forEachRemaining(l -> labels.put(l.getKey(), l.getValue().asText()));
      series.add(new DashboardPage.Series(labels, Double.parseDouble(s.path("value").get(1).asText())));
    }
    return series;
  }

  @Test
  void theTrafficHadEveryOutcomeTheDashboardsShow() {
    Set<Integer> seen = new TreeSet<>(statuses);
    assertEquals(Set.of(200, 401, 429, 503), seen, "statuses of the traffic: " + statuses);
  }

  @Test
  void everyPanelOfEveryDashboardGetsSeriesFromPrometheus() throws Exception {
    List<String> failures = new ArrayList<>();
    Files.createDirectories(PAGES);
    for (String name : DASHBOARDS) {
      JsonNode dashboard = dashboard(name);
      assertEquals(name, dashboard.path("uid").asText(), name + ": the uid is the file's name");
      boolean datasourceVariable = false;
      for (JsonNode variable : dashboard.path("templating").path("list")) {
        datasourceVariable |= "datasource".equals(variable.path("name").asText())
            && "datasource".equals(variable.path("type").asText())
            && "prometheus".equals(variable.path("query").asText());
      }
      assertTrue(datasourceVariable, name + ": a variable datasource of type prometheus");

      List<DashboardPage.Panel> page = new ArrayList<>();
      for (JsonNode panel : panels(dashboard)) {
        String title = panel.path("title").asText();
        if ("row".equals(panel.path("type").asText())) {
          page.add(new DashboardPage.Panel(title, "", "", 24, true, List.of()));
          continue;
        }
        String where = name + " / " + title;
        assertEquals("${datasource}", panel.path("datasource").path("uid").asText(), where + ": its datasource");
        assertFalse(panel.path("targets").isEmpty(), where + ": a panel without a query");
        List<DashboardPage.Query> queries = new ArrayList<>();
        for (JsonNode target : panel.path("targets")) {
          String expr = target.path("expr").asText();
          assertFalse(expr.isBlank(), where + ": a target without expr");
          assertEquals("${datasource}", target.path("datasource").path("uid").asText(where), where);
          String promql = promql(expr);
          JsonNode answer = prometheus.query(promql);
          String error = null;
          List<DashboardPage.Series> series = List.of();
          if (!"success".equals(answer.path("status").asText())) {
            error = answer.path("errorType").asText() + ": " + answer.path("error").asText();
            failures.add(where + ": " + promql + "\n    Prometheus refused it: " + error);
          } else {
            series = series(answer);
            if (series.isEmpty()) {
              failures.add(where + ": " + promql + "\n    returned no series");
            }
            // A label the legend shows must be on every series: a query grouping by a label the node does not
            // serve still answers, with the label missing.
            for (String label : legendLabels(target.path("legendFormat").asText(""))) {
              series.stream().filter(one -> one.labels().getOrDefault(label, "").isEmpty()).findFirst()
                  .ifPresent(one -> failures.add(where + ": " + promql + "\n    a series without the label "
                      + label + " its legend shows: " + one.labels()));
            }
          }
          queries.add(new DashboardPage.Query(promql, target.path("legendFormat").asText(""), series, error));
        }
        page.add(new DashboardPage.Panel(title, panel.path("description").asText(""),
            panel.path("fieldConfig").path("defaults").path("unit").asText(""),
            panel.path("gridPos").path("w").asInt(12), false, queries));
      }
      Files.writeString(PAGES.resolve(name + ".html"), DashboardPage.html(dashboard.path("title").asText(),
          dashboard.path("description").asText(""), page, Instant.now()), StandardCharsets.UTF_8);
    }
    screenshot(PAGES.resolve("aiguillage-overview.html"), PAGES.resolve("overview.png"));
    assertTrue(failures.isEmpty(), failures.size() + " panel queries failed (pages in " + PAGES + "):\n"
        + String.join("\n", failures));
  }

  @Test
  void theModelVariableListsTheModels() throws Exception {
    for (String name : DASHBOARDS) {
      for (JsonNode variable : dashboard(name).path("templating").path("list")) {
        if (!"query".equals(variable.path("type").asText())) {
          continue;
        }
        String query = variable.path("definition").asText();
        Matcher m = LABEL_VALUES.matcher(query);
        assertTrue(m.matches(), name + ": variable " + variable.path("name").asText() + " is label_values(...)");
        JsonNode answer = prometheus.labelValues(m.group(2), m.group(1));
        Set<String> values = new TreeSet<>();
        answer.path("data").forEach(v -> values.add(v.asText()));
        assertTrue(values.containsAll(Set.of("chat", "embed", "gone")), name + ": " + query + " gives " + values);
        assertTrue(variable.path("includeAll").asBoolean() && ".*".equals(variable.path("allValue").asText()),
            name + ": the variable " + variable.path("name").asText() + " offers All, as .*");
      }
    }
  }

  /** Each rule's expression, by alert name, in the file's order. */
  private static Map<String, String> alertRules() throws Exception {
    Map<String, String> rules = new LinkedHashMap<>();
    for (JsonNode group : YAML.readTree(MONITORING.resolve("alerts.yaml").toFile()).path("groups")) {
      for (JsonNode rule : group.path("rules")) {
        rules.put(rule.path("alert").asText(), rule.path("expr").asText());
      }
    }
    return rules;
  }

  @Test
  void everyAlertRuleEvaluatesAndTheDownModelTripsItsAlerts() throws Exception {
    Map<String, String> rules = alertRules();
    assertEquals(List.of("NoServerForModel", "QueueWaitHigh", "ServerUnhealthy", "HighErrorRatio",
        "NodeUnreachable"), List.copyOf(rules.keySet()));
    Map<String, Set<String>> modelsPerAlert = new TreeMap<>();
    for (Map.Entry<String, String> rule : rules.entrySet()) {
      JsonNode answer = prometheus.query(rule.getValue());
      assertEquals("success", answer.path("status").asText(), rule.getKey() + ": " + rule.getValue() + " -> " + answer);
      Set<String> models = new TreeSet<>();
      series(answer).forEach(s -> models.add(s.labels().getOrDefault("model", s.labels().toString())));
      modelsPerAlert.put(rule.getKey(), models);
    }

    // Prometheus loaded the file (it would not start otherwise) and evaluates each rule every second without error.
    Map<String, String> health = new TreeMap<>();
    for (JsonNode group : prometheus.rules().path("data").path("groups")) {
      for (JsonNode rule : group.path("rules")) {
        health.put(rule.path("name").asText(), rule.path("health").asText() + " " + rule.path("lastError").asText());
      }
    }
    assertEquals(rules.keySet(), health.keySet());
    health.forEach((rule, state) -> assertEquals("ok", state.trim(), rule + " as Prometheus evaluates it"));

    // The model whose only server is down: no server (unhealthy from the start, its metrics never answer), all
    // its requests 503. The healthy ones trip nothing.
    assertEquals(Set.of("gone"), modelsPerAlert.get("NoServerForModel"), "NoServerForModel");
    assertEquals(Set.of("gone"), modelsPerAlert.get("ServerUnhealthy"), "ServerUnhealthy");
    assertEquals(Set.of("gone"), modelsPerAlert.get("HighErrorRatio"), "HighErrorRatio");
    assertEquals(Set.of(), modelsPerAlert.get("QueueWaitHigh"), "QueueWaitHigh");
    assertEquals(Set.of(), modelsPerAlert.get("NodeUnreachable"), "NodeUnreachable");
  }

  @Test
  void promtoolAcceptsTheRulesAndTheirUnitTestsPass() throws Exception {
    Path promtool = PrometheusForTests.binary("promtool");
    for (List<String> args : List.of(List.of("check", "rules", "alerts.yaml"),
        List.of("test", "rules", "alerts-test.yaml"))) {
      List<String> command = new ArrayList<>(List.of(promtool.toString()));
      command.addAll(args);
      Process run = new ProcessBuilder(command).directory(MONITORING.toFile()).redirectErrorStream(true).start();
      String out = new String(run.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(run.waitFor(30, TimeUnit.SECONDS), String.join(" ", command));
      assertEquals(0, run.exitValue(), String.join(" ", command) + ":\n" + out);
    }
  }

  /**
   * A headless Chromium's photograph of a page, when Chromium is installed: an artefact to look at, so its absence
   * or a failure of the browser is reported, not a failed test. No network: the page is a local file.
   */
  private static void screenshot(Path page, Path png) throws Exception {
    Path chromium = Path.of("/usr/bin/chromium");
    if (!Files.isExecutable(chromium)) {
      System.err.println("no " + chromium + ": no screenshot of " + page);
      return;
    }
    Path profile = Files.createTempDirectory("chromium-profile");
    try {
      Files.deleteIfExists(png);
      Process run = new ProcessBuilder(chromium.toString(), "--headless", "--no-sandbox", "--disable-gpu",
          "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
          "--disable-sync", "--hide-scrollbars", "--user-data-dir=" + profile, "--window-size=1400,2000",
          "--screenshot=" + png, page.toUri().toString())
          .redirectErrorStream(true).redirectOutput(profile.resolveSibling(profile.getFileName() + ".log").toFile())
          .start();
      if (!run.waitFor(30, TimeUnit.SECONDS)) {
        run.descendants().forEach(ProcessHandle::destroyForcibly);
        run.destroyForcibly();
        System.err.println("chromium took over 30 s: no screenshot of " + page);
      } else if (run.exitValue() != 0 || !Files.exists(png)) {
        System.err.println("chromium exited with " + run.exitValue() + ": no screenshot of " + page);
      }
    } finally {
      try (Stream<Path> files = Files.walk(profile)) {
        files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      }
      Files.deleteIfExists(profile.resolveSibling(profile.getFileName() + ".log"));
    }
  }
}
