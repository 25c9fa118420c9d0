package org.aiguillage.protocol.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.aiguillage.protocol.RoutingMode;
import org.junit.jupiter.api.Test;

class FederationConfigParserTest {

  @Test
  void theIssuesExampleParsesWithItsMeanings() {
    FederationConfig config = FederationConfigParser.parse("""
        http: { host: 127.0.0.1, port: 8080 }
        tokens:
          - { token: sk-demo-1, name: demo, organization: univ-a, priority: 3 }
        models:
          - name: demo-model
            model: org/served-name
            routing_strategy: least-busy
            vllm_servers:
              - { url: http://127.0.0.1:8001, token: secret, organization: univ-a, max_parallel_requests: 16 }
        """);

    assertEquals(8080, config.http().port());
    assertEquals("univ-a", config.tokens().get(0).organization());
    ModelConfig model = config.model("demo-model").orElseThrow();
    assertEquals("org/served-name", model.servedName());
    assertEquals(16, model.vllmServers().get(0).maxParallelRequests());
    assertEquals("secret", model.vllmServers().get(0).bearerToken());
  }

  @Test
  void aliasesAndLifecycleAreReadAndAnAliasNamingAnotherModelIsRefused() {
    FederationConfig config = FederationConfigParser.parse("""
        models:
          - { name: mistral-small, lifecycle: deprecated, aliases: [mistral, small] }
          - { name: llama }
        """);
    assertEquals("mistral-small", config.model("small").orElseThrow().name());
    assertEquals("deprecated", config.model("mistral").orElseThrow().lifecycle().wireName());
    assertEquals("production", config.model("llama").orElseThrow().lifecycle().wireName());

    ConfigException clash = assertThrows(ConfigException.class, () -> FederationConfigParser.parse("""
        models: [ { name: a }, { name: b, aliases: [a] } ]
        """));
    assertTrue(clash.getMessage().contains("models[1].aliases"), clash.getMessage());
    ConfigException lifecycle = assertThrows(ConfigException.class, () -> FederationConfigParser.parse(
        "models: [ { name: a, lifecycle: beta } ]"));
    assertTrue(lifecycle.getMessage().contains("models[0].lifecycle"), lifecycle.getMessage());
  }

  @Test
  void prefixAffinityIsOnUnlessAModelTurnsItOff() {
    FederationConfig config = FederationConfigParser.parse("""
        models: [ { name: chat }, { name: batch, prefix_affinity: false } ]
        """);
    assertTrue(config.model("chat").orElseThrow().prefixAffinity());
    assertEquals(Boolean.FALSE, config.model("batch").orElseThrow().prefixAffinity());
  }

  @Test
  void absentKeysTakeSensibleDefaults() {
    FederationConfig config = FederationConfigParser.parse("""
        tokens: [ { token: t, name: n, organization: o } ]
        models: [ { name: m, vllm_servers: [ { url: "http://h:1/v1/" } ] } ]
        """);

    ModelConfig model = config.models().get(0);
    assertEquals("m", model.servedName());
    assertEquals("least-busy", model.routingStrategy().wireName());
    assertEquals(ModelConfig.DEFAULT_QUEUE_TIMEOUT, model.queueTimeout());
    assertEquals("http://h:1", model.vllmServers().get(0).url(), "a trailing /v1 is the API's, not the server's");
    assertEquals(3, config.tokens().get(0).priority());
    assertEquals(RoutingMode.ANY, config.tokens().get(0).defaultRoutingMode());
    assertEquals(HttpSettings.DEFAULT_PORT, config.http().port());
  }

  @Test
  void durationsAndRoutingModesReadAsOperatorsWriteThem() {
    FederationConfig config = FederationConfigParser.parse("""
        tokens: [ { token: t, name: n, organization: o, default_routing_mode: private-first } ]
        models: [ { name: m, queue_timeout: 90s, priority_aging: off }, { name: m2, queue_timeout: 2m },
                  { name: m3, queue_timeout: 500ms, priority_aging: 10s } ]
        """);

    assertEquals(RoutingMode.PRIVATE_FIRST, config.tokens().get(0).defaultRoutingMode());
    assertEquals(Duration.ofSeconds(90), config.models().get(0).queueTimeout());
    assertEquals(Duration.ofMinutes(2), config.models().get(1).queueTimeout());
    assertEquals(Duration.ofMillis(500), config.models().get(2).queueTimeout());
    assertEquals(Duration.ZERO, config.models().get(0).priorityAging());
    assertEquals(ModelConfig.DEFAULT_PRIORITY_AGING, config.models().get(1).priorityAging());
    assertEquals(Duration.ofSeconds(10), config.models().get(2).priorityAging());
  }

  @Test
  void anUnknownKeyStopsTheStartNamingIt() {
    ConfigException e = assertThrows(ConfigException.class, () -> FederationConfigParser.parse("""
        models:
          - name: m
            vllm_servers:
              - { url: "http://h:1", max_paralel_requests: 4 }
        """));

    assertTrue(e.getMessage().contains("'models[0].vllm_servers[0].max_paralel_requests'"), e.getMessage());
  }

  @Test
  void aMalformedValueStopsTheStartNamingItsKey() {
    assertMessage("http: { port: eighty }", "'http.port'");
    assertMessage("http: { port: 70000 }", "'http.port'");
    assertMessage("models: [ { name: m, routing_strategy: fastest } ]", "'models[0].routing_strategy'");
    assertMessage("models: [ { name: m, queue_timeout: soon } ]", "'models[0].queue_timeout'");
    assertMessage("models: [ { name: m, vllm_servers: [ { url: 'not a url' } ] } ]", "'models[0].vllm_servers[0].url'");
    assertMessage("tokens: [ { token: t, name: n, organization: o, priority: 9 } ]", "'tokens[0].priority'");
    assertMessage("tokens: [ { token: t, name: n, organization: o, default_routing_mode: mine } ]",
        "'tokens[0].default_routing_mode'");
  }

  @Test
  void aValueOutsideAClosedSetIsRefusedListingTheAcceptedOnes() {
    assertMessage("models: [ { name: m, routing_strategy: fastest } ]",
        "malformed value for 'models[0].routing_strategy': 'fastest' is not one of least-busy, random, round-robin");
    assertMessage("models: [ { name: m, lifecycle: beta } ]",
        "malformed value for 'models[0].lifecycle': 'beta' is not one of deprecated, production, staging");
    assertMessage("models: [ { name: m, priority_handler: sglang } ]",
        "malformed value for 'models[0].priority_handler': 'sglang' is not one of dispatcher, vllm");
  }

  @Test
  void aMissingRequiredKeyIsNamed() {
    assertMessage("models: [ { vllm_servers: [] } ]", "'models[0].name'");
    assertMessage("models: [ { name: m, vllm_servers: [ { organization: o } ] } ]", "'models[0].vllm_servers[0].url'");
    assertMessage("tokens: [ { name: n, organization: o } ]", "'tokens[0].token'");
  }

  @Test
  void aModelDefinedTwiceIsRefused() {
    assertMessage("models: [ { name: m }, { name: m } ]", "'models[1].name'");
  }

  @Test
  void secretsNeverAppearInPrintedConfiguration() {
    FederationConfig config = FederationConfigParser.parse("""
        tokens: [ { token: sk-very-secret, name: n, organization: o } ]
        models: [ { name: m, vllm_servers: [ { url: "http://h:1", token: server-secret } ] } ]
        """);

    String printed = config.toString();
    assertTrue(!printed.contains("sk-very-secret") && !printed.contains("server-secret"), printed);
  }

  @Test
  void aServerGetsItsPowerFromItsGpuUnlessItSaysItAndDatacentresTheirFigures() {
    FederationConfig config = FederationConfigParser.parse("""
        datacenters:
          dc-paris: { pue: 1.3, carbon_intensity_g_per_kwh: 56 }
          default: { pue: 1.5 }
        models:
          - name: m
            vllm_servers:
              - { url: "http://a:8000", gpu: 4x h100 }
              - { url: "http://b:8000", gpu: h200, power_watts: 900 }
              - { url: "http://c:8000" }
        """);
    var servers = config.models().get(0).vllmServers();
    assertEquals(2800.0, servers.get(0).servingWatts().getAsDouble(), "four H100s of 700 W");
    assertEquals(900.0, servers.get(1).servingWatts().getAsDouble(), "a measured figure wins over the board's");
    assertTrue(servers.get(2).servingWatts().isEmpty());
    assertEquals(1.3, config.datacenter("dc-paris").pue());
    assertEquals(56.0, config.datacenter("dc-paris").carbonIntensityGPerKwh());
    assertEquals(1.5, config.datacenter("dc-lyon").pue(), "a datacentre not named takes default's figures");
    assertEquals(null, config.datacenter("dc-lyon").carbonIntensityGPerKwh());
    assertEquals(1.0, FederationConfigParser.parse("models: []").datacenter("x").pue(), "no figures: no overhead");

    assertMessage("models: [ { name: m, vllm_servers: [ { url: \"http://a:8000\", gpu: tpu-v5 } ] } ]",
        "models[0].vllm_servers[0].gpu': 'tpu-v5' is not a GPU this node knows (a10, a100, ");
    assertMessage("datacenters: { dc1: { pue: 0.8 } }", "'datacenters.dc1.pue': must be 1 or more");
    assertMessage("datacenters: { dc1: { carbon: 3 } }", "unknown configuration key 'datacenters.dc1.carbon'");
  }

  private static void assertMessage(String yaml, String expected) {
    ConfigException e = assertThrows(ConfigException.class, () -> FederationConfigParser.parse(yaml));
    assertTrue(e.getMessage().contains(expected), e.getMessage());
  }
}
