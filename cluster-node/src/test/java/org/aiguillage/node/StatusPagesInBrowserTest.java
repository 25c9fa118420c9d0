package org.aiguillage.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import org.aiguillage.loadtest.sim.SimulatorProfile;
import org.aiguillage.loadtest.sim.Task;
import org.aiguillage.loadtest.sim.VllmSimulator;
import org.aiguillage.protocol.Json;
import org.aiguillage.protocol.config.FederationConfigParser;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * The status page and the operators' page in a real browser (Debian's Chromium, driven through its ChromeDriver by
 * Selenium), against a running node: the figures they show are the node's own.
 *
 * <p>The fleet: a chat model with one server up here and one in a datacentre no agent node fronts (not reporting),
 * so the model is degraded; an embeddings model with its one server up.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class StatusPagesInBrowserTest {

  private static final String ADMIN = "admin-status-page-93b1";
  private static final String KEY = "sk-status-page-key-4e07";
  private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");

  private VllmSimulator chat;
  private VllmSimulator embedder;
  private AiguillageNode node;
  private WebDriver browser;
  private Path profile;
  private final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  void start() throws Exception {
    assertTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
        "this test needs a real browser: install Debian's chromium and chromium-driver packages "
            + "(apt-get install chromium chromium-driver; .ci/run does)");
    chat = VllmSimulator.start("chat-served", SimulatorProfile.fast());
    embedder = VllmSimulator.start("embed-served", SimulatorProfile.fast()).serving(Task.EMBED);
    node = AiguillageNode.start(FederationConfigParser.parse("""
        http: { port: 0 }
        admin: { token: %s }
        persistence: { url: "jdbc:h2:mem:status-pages" }
        datacenters:
          default: { pue: 1.2, carbon_intensity_g_per_kwh: 50 }
        tokens:
          - { token: %s, name: student, organization: univ-a, token_budget: 1000 }
        models:
          - name: chat
            model: chat-served
            vllm_servers:
              - { url: %s, organization: univ-a, gpu: h200 }
              - { url: "http://10.255.255.1:8000", organization: univ-b, datacenter: dc-lyon }
          - name: embed
            model: embed-served
            type: text-embeddings-inference
            vllm_servers:
              - { url: %s, organization: univ-a }
        """.formatted(ADMIN, KEY, chat.baseUrl(), embedder.baseUrl())));
    // Traffic, so that the queue has waits to tell and the ledger a day's usage; the key nears its budget.
    for (int i = 0; i < 8; i++) {
      HttpResponse<String> r = post("/v1/chat/completions", """
          {"model": "chat", "messages": [{"role": "user", "content": "Hello"}], "max_tokens": 90}""");
      assertEquals(200, r.statusCode(), r.body());
    }
    profile = Files.createTempDirectory("chromium-profile");
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM.toFile());
    options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--window-size=1280,900", "--user-data-dir=" + profile);
    ChromeDriverService service = new ChromeDriverService.Builder()
        .usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
    browser = new ChromeDriver(service, options);
  }

  @AfterAll
  void stop() throws Exception {
    if (browser != null) {
      browser.quit();
    }
    if (node != null) {
      node.close();
    }
    if (chat != null) {
      chat.close();
      embedder.close();
    }
  }

  private HttpResponse<String> post(String path, String body) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(node.baseUrl() + path))
        .header("Authorization", "Bearer " + KEY).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private JsonNode get(String path, String token) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(node.baseUrl() + path));
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    HttpResponse<String> r = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode(), r.body());
    return Json.MAPPER.readTree(r.body());
  }

  /** The first element the selector finds once the page's script has drawn it (it fetches, then draws). */
  private WebElement waitFor(String css) throws InterruptedException {
    long until = System.nanoTime() + Duration.ofSeconds(15).toNanos();
    while (true) {
      List<WebElement> found = browser.findElements(By.cssSelector(css));
      if (!found.isEmpty()) {
        return found.get(0);
      }
      if (System.nanoTime() > until) {
        throw new AssertionError("nothing matches " + css + " in " + browser.getPageSource());
      }
      Thread.sleep(100);
    }
  }

  private void screenshot(String name) throws Exception {
    File shot = ((ChromeDriver) browser).getScreenshotAs(OutputType.FILE);
    Path target = Path.of("target", name);
    Files.createDirectories(target.getParent());
    Files.copy(shot.toPath(), target, StandardCopyOption.REPLACE_EXISTING);
  }

  @Test
  void theStatusPageShowsEachModelAsTheNodeSeesIt() throws Exception {
    // The agents need a moment to report: the page is read once the node says the chat model has a server up.
    JsonNode status = get("/status", null);
    for (int i = 0; i < 50 && status.path("models").get(0).path("servers_up").asInt() == 0; i++) {
      Thread.sleep(200);
      status = get("/status", null);
    }
    browser.get(node.baseUrl() + "/");
    WebElement chatRow = waitFor("tr[data-model='chat']");
    WebElement embedRow = waitFor("tr[data-model='embed']");

    // What the node says of itself, by the admin API: servers serving or not, what waits.
    JsonNode fleet = get("/admin/models", ADMIN).path("data");
    JsonNode chatFleet = fleet.get(0).path("name").asText().equals("chat") ? fleet.get(0) : fleet.get(1);
    long serving = 0;
    for (JsonNode s : chatFleet.path("servers")) {
      serving += StatusView.SERVING.contains(s.path("state").asText()) ? 1 : 0;
    }
    assertEquals(1, serving, "one chat server up here, the other in a datacentre no agent fronts: " + chatFleet);

    assertEquals(serving + " / 2", chatRow.findElement(By.cssSelector("td.servers")).getText());
    assertEquals("degraded", chatRow.findElement(By.cssSelector("td.state")).getText());
    assertEquals(String.valueOf(chatFleet.path("waiting_tickets").asInt()),
        chatRow.findElement(By.cssSelector("td.waiting")).getText());
    assertEquals("default: 1 / 1 up",
        chatRow.findElement(By.cssSelector("div[data-datacenter='default']")).getText());
    assertEquals("dc-lyon: 0 / 1 up",
        chatRow.findElement(By.cssSelector("div[data-datacenter='dc-lyon']")).getText());
    String p50 = chatRow.findElement(By.cssSelector("td.wait-p50")).getText();
    JsonNode chatStatus = get("/status", null).path("models").get(0);
    assertTrue(p50.equals(chatStatus.path("queue_wait_p50_ms").asLong() + " ms"),
        "the page's queue wait p50 is /status's: " + p50 + " vs " + chatStatus);

    assertEquals("1 / 1", embedRow.findElement(By.cssSelector("td.servers")).getText());
    assertEquals("up", embedRow.findElement(By.cssSelector("td.state")).getText());
    assertEquals("–", embedRow.findElement(By.cssSelector("td.wait-p50")).getText(), "no embeddings asked yet");
    assertTrue(browser.findElement(By.id("banner")).getText().startsWith("Some models are degraded"));
    screenshot("status-page.png");

    // Ollama's clients still get their answer at the same address.
    HttpResponse<String> ollama = http.send(HttpRequest.newBuilder(URI.create(node.baseUrl() + "/")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals("Ollama is running", ollama.body());
  }

  @Test
  void theOperatorsPageShowsTheFleetTheKeysNearTheirLimitsAndTheDaysUsage() throws Exception {
    browser.get(node.baseUrl() + "/admin/");
    browser.findElement(By.id("token")).sendKeys(ADMIN);
    browser.findElement(By.cssSelector("#login button")).click();
    waitFor("#fleet tbody tr");
    WebElement usageRow = waitFor("#usage tr[data-organization='univ-a']");

    JsonNode fleet = get("/admin/models", ADMIN).path("data");
    int servers = 0;
    for (JsonNode m : fleet) {
      servers += m.path("servers").size();
    }
    assertEquals(servers, browser.findElements(By.cssSelector("#fleet tbody tr")).size(), "every server, once");

    JsonNode key = get("/admin/keys", ADMIN).path("data").get(0);
    assertTrue(key.path("budget_used").asLong() >= 500, "8 answers of 90 tokens used over half the budget: " + key);
    WebElement keyRow = waitFor("#keys tr[data-key='" + key.path("id").asText() + "']");
    assertEquals(String.valueOf(key.path("budget_used").asLong()),
        keyRow.findElements(By.tagName("td")).get(4).getText());

    String today = java.time.LocalDate.now(java.time.ZoneOffset.UTC).toString();
    JsonNode usage = get("/admin/usage?group_by=organization&from=" + today, ADMIN).path("data").get(0);
    List<WebElement> cells = usageRow.findElements(By.tagName("td"));
    assertEquals(usage.path("requests").asText(), cells.get(1).getText());
    assertEquals(usage.path("total_tokens").asText(), cells.get(3).getText());
    assertEquals(usage.path("energy_wh").asDouble(), Double.parseDouble(cells.get(4).getText()), 1e-9);
    assertTrue(usage.path("energy_wh").asDouble() > 0, "an H200's 700 W shared by the calls: " + usage);
    screenshot("admin-page.png");
  }
}
