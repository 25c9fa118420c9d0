package org.aiguillage.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.aiguillage.protocol.config.FederationConfig;
import org.aiguillage.protocol.config.FederationConfigParser;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Renders each overlay of {@code k8s/} with {@code kubectl kustomize} and checks what must agree between the
 * manifests and the node: ports, probe paths, the labels cluster bootstrap selects on, the RBAC it needs, and the
 * configuration each pod mounts (parsed by the node's own parser, its secrets all provided by the pod's env); and
 * {@code k8s/monitoring}, the dashboards and alert rules as ConfigMaps labelled for Grafana's sidecar and Prometheus.
 */
class KubernetesManifestsTest {

  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)}");
  private static final String BOOTSTRAP_LABEL = "app.kubernetes.io/name";
  private static final String DASHBOARDS = "aiguillage-dashboards";
  private static final String RULES = "aiguillage-alert-rules";

  private static List<JsonNode> render(String overlay) throws Exception {
    return renderDir(Path.of("..", "k8s", "overlays", overlay));
  }

  private static List<JsonNode> renderDir(Path relative) throws Exception {
    Path dir = relative.toAbsolutePath().normalize();
    assertTrue(Files.isDirectory(dir), dir.toString());
    Process kubectl = new ProcessBuilder("kubectl", "kustomize", dir.toString())
        .redirectError(ProcessBuilder.Redirect.DISCARD).start();
    byte[] out = kubectl.getInputStream().readAllBytes();
    assertTrue(kubectl.waitFor(60, TimeUnit.SECONDS));
    assertEquals(0, kubectl.exitValue(), "kubectl kustomize " + dir + " failed");
    List<JsonNode> docs = new ArrayList<>();
    Iterator<JsonNode> it = YAML.readerFor(JsonNode.class).readValues(new String(out, StandardCharsets.UTF_8));
    it.forEachRemaining(d -> {
      if (d != null && !d.isEmpty()) {
        docs.add(d);
      }
    });
    return docs;
  }

  private static List<JsonNode> ofKind(List<JsonNode> docs, String kind) {
    return docs.stream().filter(d -> kind.equals(d.path("kind").asText())).toList();
  }

  private static JsonNode named(List<JsonNode> docs, String kind, String name) {
    return ofKind(docs, kind).stream().filter(d -> name.equals(d.path("metadata").path("name").asText()))
        .findFirst().orElseThrow(() -> new AssertionError("no " + kind + " named " + name));
  }

  private static boolean selects(JsonNode selector, JsonNode labels) {
    Iterator<Map.Entry<String, JsonNode>> fields = selector.fields();
    boolean any = false;
    while (fields.hasNext()) {
      Map.Entry<String, JsonNode> f = fields.next();
      any = true;
      if (!f.getValue().asText().equals(labels.path(f.getKey()).asText(null))) {
        return false;
      }
    }
    return any;
  }

  private static Map<String, Integer> ports(JsonNode container) {
    Map<String, Integer> ports = new HashMap<>();
    container.path("ports").forEach(p -> ports.put(p.path("name").asText(), p.path("containerPort").asInt()));
    return ports;
  }

  /** The node configuration a pod of {@code deployment} reads, parsed as the node parses it. */
  private static FederationConfig mountedConfig(List<JsonNode> docs, JsonNode deployment) throws IOException {
    JsonNode pod = deployment.path("spec").path("template").path("spec");
    JsonNode container = pod.path("containers").get(0);
    List<String> args = new ArrayList<>();
    container.path("args").forEach(a -> args.add(a.asText()));
    int at = args.indexOf("--config");
    assertTrue(at >= 0 && at + 1 < args.size(), "the node is started with --config FILE: " + args);
    Path file = Path.of(args.get(at + 1));
    JsonNode mount = null;
    for (JsonNode m : container.path("volumeMounts")) {
      if (file.startsWith(m.path("mountPath").asText())) {
        mount = m;
      }
    }
    assertNotNull(mount, "the config file " + file + " is on a mounted volume");
    String volumeName = mount.path("name").asText();
    JsonNode volume = null;
    for (JsonNode v : pod.path("volumes")) {
      if (volumeName.equals(v.path("name").asText())) {
        volume = v;
      }
    }
    assertNotNull(volume, "volume " + volumeName);
    String configMap = volume.path("configMap").path("name").asText();
    String key = Path.of(mount.path("mountPath").asText()).relativize(file).toString();
    String yaml = named(docs, "ConfigMap", configMap).path("data").path(key).asText(null);
    assertNotNull(yaml, "ConfigMap " + configMap + " holds " + key);

    Set<String> env = new HashSet<>();
    container.path("env").forEach(e -> env.add(e.path("name").asText()));
    Map<String, String> values = new HashMap<>();
    Matcher m = PLACEHOLDER.matcher(yaml);
    while (m.find()) {
      assertTrue(env.contains(m.group(1)), "the config uses ${" + m.group(1) + "}, which the pod's env lacks");
      values.put(m.group(1), "from-a-secret");
    }
    return FederationConfigParser.parse(NodeConfigLoader.substitute(yaml, values));
  }

  @ParameterizedTest
  @ValueSource(strings = {"one-datacenter", "multi-datacenter"})
  void theOverlaysAgreeWithTheNode(String overlay) throws Exception {
    List<JsonNode> docs = render(overlay);
    List<JsonNode> deployments = ofKind(docs, "Deployment");
    assertFalse(deployments.isEmpty());
    Set<String> edgeLabelsets = new HashSet<>();

    for (JsonNode d : deployments) {
      String name = d.path("metadata").path("name").asText();
      JsonNode pod = d.path("spec").path("template").path("spec");
      JsonNode labels = d.path("spec").path("template").path("metadata").path("labels");
      JsonNode container = pod.path("containers").get(0);
      FederationConfig config = mountedConfig(docs, d);

      assertTrue(selects(d.path("spec").path("selector").path("matchLabels"), labels), name + ": selector");
      assertEquals(config.cluster().serviceName(), labels.path(BOOTSTRAP_LABEL).asText(),
          name + ": bootstrap finds pods by " + BOOTSTRAP_LABEL + "=" + config.cluster().serviceName());
      assertEquals("kubernetes-api", config.cluster().bootstrap().wireName(), name);

      Map<String, Integer> ports = ports(container);
      assertEquals(config.cluster().managementPort(), ports.get("management"), name + ": management port");
      assertEquals(config.cluster().port(), ports.get("remoting"), name + ": cluster port");
      // Every node serves /metrics on its HTTP port (a node without the edge role that alone), for Prometheus.
      assertEquals(config.http().port(), ports.get("http"), name + ": http port");
      assertEquals("0.0.0.0", config.http().host(), name + ": the node listens on the pod's addresses");
      if (config.node().has("edge")) {
        edgeLabelsets.add(labels.toString());
      }
      assertEquals("/ready", container.path("readinessProbe").path("httpGet").path("path").asText(), name);
      assertEquals("management", container.path("readinessProbe").path("httpGet").path("port").asText(), name);
      assertEquals("/alive", container.path("livenessProbe").path("httpGet").path("path").asText(), name);
      assertEquals("management", container.path("livenessProbe").path("httpGet").path("port").asText(), name);

      assertTrue(pod.path("terminationGracePeriodSeconds").asLong() > config.node().drainTimeout().toSeconds(),
          name + ": the grace period outlasts the drain");
      boolean podIp = false;
      for (JsonNode e : container.path("env")) {
        podIp |= e.path("name").asText().equals("AIGUILLAGE_CLUSTER_HOST")
            && e.path("valueFrom").path("fieldRef").path("fieldPath").asText().equals("status.podIP");
      }
      assertTrue(podIp, name + ": the cluster address is the pod's IP");
      assertTrue(config.persistence().isPostgres(), name + ": the journal is PostgreSQL");

      String account = pod.path("serviceAccountName").asText();
      named(docs, "ServiceAccount", account);
      boolean canListPods = ofKind(docs, "RoleBinding").stream()
          .filter(b -> b.path("subjects").findValuesAsText("name").contains(account))
          .map(b -> named(docs, "Role", b.path("roleRef").path("name").asText()))
          .anyMatch(role -> {
            for (JsonNode rule : role.path("rules")) {
              List<String> verbs = new ArrayList<>();
              rule.path("verbs").forEach(x -> verbs.add(x.asText()));
              List<String> resources = new ArrayList<>();
              rule.path("resources").forEach(x -> resources.add(x.asText()));
              if (resources.contains("pods") && verbs.containsAll(List.of("get", "watch", "list"))) {
                return true;
              }
            }
            return false;
          });
      assertTrue(canListPods, name + ": its service account may get, watch and list pods");
    }

    JsonNode service = named(docs, "Service", "aiguillage");
    JsonNode serviceSelector = service.path("spec").path("selector");
    List<JsonNode> served = deployments.stream()
        .filter(d -> selects(serviceSelector, d.path("spec").path("template").path("metadata").path("labels")))
        .toList();
    assertFalse(served.isEmpty(), "the Service selects the edge pods");
    for (JsonNode d : served) {
      assertTrue(edgeLabelsets.contains(d.path("spec").path("template").path("metadata").path("labels").toString()),
          "the Service only sends clients to pods with the edge role");
      assertEquals("http", service.path("spec").path("ports").get(0).path("targetPort").asText());
    }

    JsonNode pdb = ofKind(docs, "PodDisruptionBudget").get(0);
    assertTrue(deployments.stream().anyMatch(d -> selects(pdb.path("spec").path("selector").path("matchLabels"),
        d.path("spec").path("template").path("metadata").path("labels"))), "the PodDisruptionBudget selects pods");

    // The overlays bring the dashboards and alert rules along (k8s/monitoring).
    assertEquals("1", named(docs, "ConfigMap", DASHBOARDS).path("metadata").path("labels").path("grafana_dashboard")
        .asText(), overlay + ": the dashboards");
    assertEquals("1", named(docs, "ConfigMap", RULES).path("metadata").path("labels").path("prometheus_rule")
        .asText(), overlay + ": the alert rules");
  }

  @Test
  void theMonitoringFolderRendersTheDashboardsAndTheRulesAsLabelledConfigMaps() throws Exception {
    Path folder = Path.of("..", "k8s", "monitoring");
    List<JsonNode> docs = renderDir(folder);
    assertEquals(2, docs.size(), "two ConfigMaps: " + docs);

    // Grafana's sidecar loads every ConfigMap labelled grafana_dashboard=1, a dashboard per JSON key; the name has
    // no hash suffix, so an update changes the ConfigMap the sidecar already watches.
    JsonNode dashboards = named(docs, "ConfigMap", DASHBOARDS);
    assertEquals("1", dashboards.path("metadata").path("labels").path("grafana_dashboard").asText());
    Set<String> files = new HashSet<>();
    try (var listing = Files.list(folder)) {
      listing.map(f -> f.getFileName().toString()).filter(f -> f.endsWith(".json")).forEach(files::add);
    }
    assertEquals(Set.of("aiguillage-overview.json", "aiguillage-fleet.json", "aiguillage-keys.json",
        "aiguillage-cluster.json"), files);
    Set<String> keys = new HashSet<>();
    dashboards.path("data").fieldNames().forEachRemaining(keys::add);
    assertEquals(files, keys, "every dashboard of the folder is in the ConfigMap");
    Set<String> uids = new HashSet<>();
    for (String key : keys) {
      JsonNode dashboard = new ObjectMapper().readTree(dashboards.path("data").path(key).asText());
      assertEquals(key.replace(".json", ""), dashboard.path("uid").asText(), key + ": its uid is its file name");
      uids.add(dashboard.path("uid").asText());
    }
    assertEquals(keys.size(), uids.size(), "one uid per dashboard");

    JsonNode rules = named(docs, "ConfigMap", RULES);
    assertEquals("1", rules.path("metadata").path("labels").path("prometheus_rule").asText());
    JsonNode groups = YAML.readTree(rules.path("data").path("aiguillage-alerts.yaml").asText()).path("groups");
    List<String> alerts = new ArrayList<>();
    groups.forEach(g -> g.path("rules").forEach(r -> alerts.add(r.path("alert").asText())));
    assertEquals(List.of("NoServerForModel", "QueueWaitHigh", "ServerUnhealthy", "HighErrorRatio",
        "NodeUnreachable"), alerts);
  }
}
