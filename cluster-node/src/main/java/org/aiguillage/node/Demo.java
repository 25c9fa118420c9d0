package org.aiguillage.node;

import java.util.List;
import java.util.Map;
import org.aiguillage.loadtest.sim.SimulatorProfile;
import org.aiguillage.loadtest.sim.Task;
import org.aiguillage.loadtest.sim.VllmSimulator;
import org.aiguillage.protocol.config.AdminSettings;
import org.aiguillage.protocol.config.DatacenterConfig;
import org.aiguillage.protocol.config.FederationConfig;
import org.aiguillage.protocol.config.HttpSettings;
import org.aiguillage.protocol.config.ModelConfig;
import org.aiguillage.protocol.config.ModelType;
import org.aiguillage.protocol.config.RoutingStrategy;
import org.aiguillage.protocol.config.ServerConfig;
import org.aiguillage.protocol.config.KeyConfig;

/**
 * The demo: one node in front of simulated vLLM servers (H200 profile) on the embedded defaults, nothing to install:
 * a chat model on two servers owned by two universities, and a model of each other type (embeddings, speech to
 * text, rerank), each on a server of its own.
 */
final class Demo {

  static final String MODEL = "demo-model";
  static final String EMBEDDINGS = "bge-m3";
  static final String SPEECH = "whisper-large-v3";
  static final String RERANKER = "bge-reranker-v2-m3";
  static final String KEY = "sk-demo-1";
  static final String ADMIN_TOKEN = "demo-admin";

  private Demo() {}

  /**
   * A simulated server on a fixed port when it is free, so that the fleet registry the demo keeps in ./data knows
   * the same two servers from one run to the next.
   */
  private static VllmSimulator simulator(int port, String model, Task task) {
    VllmSimulator sim;
    try {
      sim = VllmSimulator.start("127.0.0.1", port, model, SimulatorProfile.h200(), java.util.Optional.empty());
    } catch (IllegalStateException busy) {
      sim = VllmSimulator.start(model, SimulatorProfile.h200());
    }
    return sim.serving(task);
  }

  private static ModelConfig model(String name, ModelType type, VllmSimulator server) {
    return new ModelConfig(name, name, RoutingStrategy.LEAST_BUSY,
        List.of(h200(server, "univ-a")), null, null, null).withType(type);
  }

  /** A simulated H200: its calls share the GPU's 700 W. */
  private static ServerConfig h200(VllmSimulator server, String organization) {
    return new ServerConfig(server.baseUrl(), null, organization, 64, "vllm", null, null, null, "h200");
  }

  static void run(Map<String, String> env) {
    VllmSimulator a = simulator(18101, MODEL, Task.GENERATE);
    VllmSimulator b = simulator(18102, MODEL, Task.GENERATE);
    VllmSimulator embedder = simulator(18103, EMBEDDINGS, Task.EMBED);
    VllmSimulator whisper = simulator(18104, SPEECH, Task.TRANSCRIPTION);
    VllmSimulator reranker = simulator(18105, RERANKER, Task.SCORE);
    Runtime.getRuntime().addShutdownHook(new Thread(() ->
        List.of(a, b, embedder, whisper, reranker).forEach(VllmSimulator::close)));
    // A datacentre's overhead and its electricity's carbon intensity: figures of the order of a French university
    // datacentre on the French grid, for the demo's energy and emissions figures.
    Map<String, DatacenterConfig> datacenters = Map.of("default", new DatacenterConfig(1.4, 56.0));
    FederationConfig config = NodeConfigLoader.withEnvironment(new FederationConfig(null, null,
        HttpSettings.defaults(), new AdminSettings(ADMIN_TOKEN), null,
        List.of(new KeyConfig(KEY, "demo", "univ-a", 3, null, null)),
        List.of(new ModelConfig(MODEL, MODEL, RoutingStrategy.LEAST_BUSY, List.of(h200(a, "univ-a"), h200(b, "univ-b")),
                null, null, null),
            model(EMBEDDINGS, ModelType.TEXT_EMBEDDINGS_INFERENCE, embedder),
            model(SPEECH, ModelType.AUTOMATIC_SPEECH_RECOGNITION, whisper),
            model(RERANKER, ModelType.TEXT_CLASSIFICATION, reranker)), null, datacenters), env);
    AiguillageNode node = AiguillageNode.start(config);
    System.out.println();
    System.out.println("Aiguillage demo: chat model '" + MODEL + "' on two simulated vLLM servers ("
        + a.baseUrl() + ", " + b.baseUrl() + "), and '" + EMBEDDINGS + "' (embeddings), '" + SPEECH
        + "' (speech to text), '" + RERANKER + "' (rerank, score). Try:");
    System.out.println();
    System.out.println("  curl -sN " + node.baseUrl() + "/v1/chat/completions -H 'Authorization: Bearer " + KEY
        + "' -H 'Content-Type: application/json' -d '{\"model\":\"" + MODEL
        + "\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello!\"}],\"max_tokens\":20,\"stream\":true}'");
    String auth = " -H 'Authorization: Bearer " + KEY + "'";
    String json = auth + " -H 'Content-Type: application/json' -d ";
    System.out.println("  curl -s " + node.baseUrl() + "/v1/embeddings" + json + "'{\"model\":\"" + EMBEDDINGS
        + "\",\"input\":[\"a text\",\"another\"]}'");
    System.out.println("  curl -s " + node.baseUrl() + "/v1/rerank" + json + "'{\"model\":\"" + RERANKER
        + "\",\"query\":\"capital of France\",\"documents\":[\"Paris is in France\",\"Bananas\"]}'");
    System.out.println("  curl -s " + node.baseUrl() + "/v1/audio/transcriptions" + auth + " -F model=" + SPEECH
        + " -F file=@speech.wav");
    System.out.println();
    System.out.println("  a key of your own (admin token '" + ADMIN_TOKEN + "'):");
    System.out.println("  java -jar cluster-node/target/aiguillage.jar keys create --name me --org univ-b --rpm 60 "
        + "--url " + node.baseUrl() + " --admin-token " + ADMIN_TOKEN);
    System.out.println();
    System.out.println("  status page: " + node.baseUrl() + "/    operators' page: " + node.baseUrl()
        + "/admin/ (admin token)    metrics: " + node.baseUrl() + "/metrics");
    System.out.println("  usage, energy and CO2e: " + node.baseUrl() + "/admin/usage (admin token)    keys and "
        + "usage persist in ./data    stop: Ctrl-C");
    node.whenTerminated().toCompletableFuture().join();
  }
}
