package org.aiguillage.node;

import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * A real Prometheus for tests: Debian's {@code prometheus} binary on a free port of 127.0.0.1, its data in a
 * temporary directory, scraping one target every second and loading the given rule files. Never the packaged
 * service's :9090, which Debian's package may have started. Tests that use it are never skipped: without the
 * binary they fail, saying what to install.
 */
final class PrometheusForTests implements AutoCloseable {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration START_TIMEOUT = Duration.ofSeconds(30);

  private final Process process;
  private final Path dir;
  private final String baseUrl;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private PrometheusForTests(Process process, Path dir, String baseUrl) {
    this.process = process;
    this.dir = dir;
    this.baseUrl = baseUrl;
  }

  /** {@code name} on the PATH, else in /usr/bin (Debian's place, when the PATH of the build lacks it). */
  static Path binary(String name) {
    Stream<String> path = Stream.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator));
    return Stream.concat(path, Stream.of("/usr/bin"))
        .filter(d -> !d.isEmpty())
        .map(d -> Path.of(d, name))
        .filter(Files::isExecutable)
        .findFirst()
        .orElseGet(() -> fail(name + " is not installed: the dashboards and alert rules are tested against a real"
            + " Prometheus. Install Debian's prometheus package (apt-get install --no-install-recommends prometheus;"
            + " .ci/run does it), which brings " + name + "."));
  }

  /** Starts Prometheus scraping {@code target} ({@code host:port}, path /metrics) every second. */
  static PrometheusForTests start(String target, List<Path> ruleFiles) throws Exception {
    Path prometheus = binary("prometheus");
    Path dir = Files.createTempDirectory("prometheus-test");
    StringBuilder rules = new StringBuilder();
    for (Path rule : ruleFiles) {
      rules.append("  - '").append(rule.toAbsolutePath()).append("'\n");
    }
    Files.writeString(dir.resolve("prometheus.yml"), """
        global:
          scrape_interval: 1s
          scrape_timeout: 1s
          evaluation_interval: 1s
        rule_files:
        %s
        scrape_configs:
          - job_name: aiguillage
            metrics_path: /metrics
            static_configs:
              - targets: ['%s']
        """.formatted(rules, target));
    int port;
    try (ServerSocket free = new ServerSocket(0)) {
      port = free.getLocalPort();
    }
    Process process = new ProcessBuilder(prometheus.toString(),
        "--config.file=" + dir.resolve("prometheus.yml"),
        "--storage.tsdb.path=" + dir.resolve("data"),
        "--web.listen-address=127.0.0.1:" + port)
        .redirectErrorStream(true).redirectOutput(dir.resolve("prometheus.log").toFile()).start();
    PrometheusForTests started = new PrometheusForTests(process, dir, "http://127.0.0.1:" + port);
    started.awaitReady();
    return started;
  }

  private void awaitReady() throws Exception {
    long until = System.nanoTime() + START_TIMEOUT.toNanos();
    while (System.nanoTime() < until) {
      if (!process.isAlive()) {
        throw new AssertionError("Prometheus stopped at its start: " + log());
      }
      try {
        if (http.send(HttpRequest.newBuilder(URI.create(baseUrl + "/-/ready")).build(),
            HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
          return;
        }
      } catch (IOException notYet) {
        // still starting
      }
      Thread.sleep(100);
    }
    throw new AssertionError("Prometheus was not ready within " + START_TIMEOUT + ": " + log());
  }

  /** Waits until the newest sample of {@code query} satisfies {@code done}, polling every 200 ms. */
  JsonNode await(String query, Predicate<JsonNode> done, Duration timeout) throws Exception {
    long until = System.nanoTime() + timeout.toNanos();
    JsonNode last = null;
    while (System.nanoTime() < until) {
      last = query(query);
      if ("success".equals(last.path("status").asText()) && done.test(last.path("data").path("result"))) {
        return last;
      }
      Thread.sleep(200);
    }
    throw new AssertionError("after " + timeout + ", " + query + " still gives " + last + "\n" + log());
  }

  /** An instant query at the present time, Prometheus's answer as it gave it (errors included, never thrown). */
  JsonNode query(String expr) throws Exception {
    return post("/api/v1/query", "query=" + URLEncoder.encode(expr, StandardCharsets.UTF_8));
  }

  /** The values of {@code label} on the series {@code match} selects. */
  JsonNode labelValues(String label, String match) throws Exception {
    return get("/api/v1/label/" + label + "/values?match[]=" + URLEncoder.encode(match, StandardCharsets.UTF_8));
  }

  /** The rule groups as Prometheus loaded and last evaluated them. */
  JsonNode rules() throws Exception {
    return get("/api/v1/rules");
  }

  private JsonNode post(String path, String form) throws Exception {
    HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(baseUrl + path))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .POST(HttpRequest.BodyPublishers.ofString(form)).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
    return JSON.readTree(response.body());
  }

  private JsonNode get(String pathAndQuery) throws Exception {
    HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(baseUrl + pathAndQuery))
        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    return JSON.readTree(response.body());
  }

  String log() {
    try {
      String log = Files.readString(dir.resolve("prometheus.log"));
      return log.length() > 4000 ? log.substring(log.length() - 4000) : log;
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  @Override
  public void close() throws Exception {
    process.destroy();
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    }
  }
}
