package org.aiguillage.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import javax.management.ObjectName;
import org.aiguillage.loadtest.sim.SimulatedText;
import org.aiguillage.loadtest.sim.SimulatorProfile;
import org.aiguillage.loadtest.sim.VllmSimulator;
import org.aiguillage.protocol.config.FederationConfigParser;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A client that keeps its connection for hours (Open WebUI, an SDK, a proxy) must not make the node keep what it
 * served on it (issue 24): once answered, a request is garbage whatever its connection does next. Checked on the
 * live heap, after a full GC, while the connection is still open.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class KeptAliveConnectionTest {

  private static final int REQUESTS = 300;
  private VllmSimulator server;
  private AiguillageNode node;
  private OpenAIClient client;

  @BeforeAll
  void start() {
    server = VllmSimulator.start("m", SimulatorProfile.fast());
    node = AiguillageNode.start(FederationConfigParser.parse("""
        http: { port: 0 }
        persistence: { url: "jdbc:h2:mem:kept-alive" }
        tokens:
          - { token: sk-free, name: free, organization: univ-a }
          - { token: sk-limited, name: limited, organization: univ-b, requests_per_minute: 100000 }
        models:
          - name: m
            vllm_servers: [ { url: %s, max_parallel_requests: 8 } ]
        """.formatted(server.baseUrl())));
    // One client, requests one after the other: its pool keeps one connection open for all of them.
    client = OpenAIOkHttpClient.builder().baseUrl(node.baseUrl() + "/v1").apiKey("sk-free").maxRetries(0)
        .timeout(Duration.ofSeconds(30)).build();
  }

  @AfterAll
  void stop() {
    node.close();
    server.close();
  }

  @Test
  void requestsAnsweredOnAConnectionStillOpenAreNoLongerReachable() throws Exception {
    OpenAIClient limited = client.withOptions(o -> o.apiKey("sk-limited"));
    serve(client, 10); // the node's own first-use structures, before counting
    long before = live("org.aiguillage.protocol.dispatch.TicketInfo");

    for (int i = 0; i < REQUESTS / 2; i++) {
      serve(i % 3 == 0 ? limited : client, 1);
    }
    long after = live("org.aiguillage.protocol.dispatch.TicketInfo");

    assertTrue(after - before < 20, (after - before) + " tickets of " + REQUESTS
        + " requests answered are still reachable while their connection stays open");
  }

  /** {@code count} streamed and {@code count} whole answers, read to their end as SDKs do. */
  private static void serve(OpenAIClient client, int count) {
    for (int i = 0; i < count; i++) {
      ChatCompletionCreateParams chat = ChatCompletionCreateParams.builder().model("m")
          .addUserMessage("kept alive " + i).maxCompletionTokens(4).build();
      try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(chat)) {
        assertEquals(SimulatedText.answer("kept alive " + i, 4), stream.stream().flatMap(c -> c.choices().stream())
            .map(c -> c.delta().content().orElse("")).collect(Collectors.joining()));
      }
      assertEquals(SimulatedText.answer("kept alive " + i, 4),
          client.chat().completions().create(chat).choices().get(0).message().content().orElse(""));
    }
  }

  /** Instances of {@code className} alive after a full GC (the JVM's own class histogram, as jcmd prints it). */
  private static long live(String className) throws Exception {
    String histogram = (String) ManagementFactory.getPlatformMBeanServer().invoke(
        new ObjectName("com.sun.management:type=DiagnosticCommand"), "gcClassHistogram",
        new Object[] {new String[0]}, new String[] {String[].class.getName()});
    Matcher m = Pattern.compile("^\\s*\\d+:\\s+(\\d+)\\s+\\d+\\s+" + Pattern.quote(className) + "\\s*$",
        Pattern.MULTILINE).matcher(histogram);
    return m.find() ? Long.parseLong(m.group(1)) : 0;
  }
}
