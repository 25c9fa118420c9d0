package org.aiguillage.node;

import java.util.List;
import java.util.Map;
import org.aiguillage.loadtest.sim.SimulatorProfile;
import org.aiguillage.loadtest.sim.VllmSimulator;
import org.aiguillage.protocol.config.AdminSettings;
import org.aiguillage.protocol.config.FederationConfig;
import org.aiguillage.protocol.config.HttpSettings;
import org.aiguillage.protocol.config.ModelConfig;
import org.aiguillage.protocol.config.RoutingStrategy;
import org.aiguillage.protocol.config.ServerConfig;
import org.aiguillage.protocol.config.KeyConfig;

/**
 * The demo: one node in front of two simulated vLLM servers (H200 profile, owned by two universities), on the
 * embedded defaults. Nothing to install.
 */
final class Demo {

  static final String MODEL = "demo-model";
  static final String KEY = "sk-demo-1";
  static final String ADMIN_TOKEN = "demo-admin";

  private Demo() {}

  /**
   * A simulated server on a fixed port when it is free, so that the fleet registry the demo keeps in ./data knows
   * the same two servers from one run to the next.
   */
  private static VllmSimulator simulator(int port) {
    try {
      return VllmSimulator.start("127.0.0.1", port, MODEL, SimulatorProfile.h200(), java.util.Optional.empty());
    } catch (IllegalStateException busy) {
      return VllmSimulator.start(MODEL, SimulatorProfile.h200());
    }
  }

  static void run(Map<String, String> env) {
    VllmSimulator a = simulator(18101);
    VllmSimulator b = simulator(18102);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      a.close();
      b.close();
    }));
    FederationConfig config = NodeConfigLoader.withEnvironment(new FederationConfig(
        HttpSettings.defaults(), new AdminSettings(ADMIN_TOKEN), null,
        List.of(new KeyConfig(KEY, "demo", "univ-a", 3, null, null)),
        List.of(new ModelConfig(MODEL, MODEL, RoutingStrategy.LEAST_BUSY, List.of(
            new ServerConfig(a.baseUrl(), null, "univ-a", 64, "vllm", null),
            new ServerConfig(b.baseUrl(), null, "univ-b", 64, "vllm", null)), null, null, null))), env);
    AiguillageNode node = AiguillageNode.start(config);
    System.out.println();
    System.out.println("Aiguillage demo: model '" + MODEL + "' on two simulated vLLM servers ("
        + a.baseUrl() + ", " + b.baseUrl() + "). Try:");
    System.out.println();
    System.out.println("  curl -sN " + node.baseUrl() + "/v1/chat/completions -H 'Authorization: Bearer " + KEY
        + "' -H 'Content-Type: application/json' -d '{\"model\":\"" + MODEL
        + "\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello!\"}],\"max_tokens\":20,\"stream\":true}'");
    System.out.println();
    System.out.println("  a key of your own (admin token '" + ADMIN_TOKEN + "'):");
    System.out.println("  java -jar cluster-node/target/aiguillage.jar keys create --name me --org univ-b --rpm 60 "
        + "--url " + node.baseUrl() + " --admin-token " + ADMIN_TOKEN);
    System.out.println();
    System.out.println("  metrics: " + node.baseUrl() + "/metrics    usage: " + node.baseUrl()
        + "/admin/usage (admin token)    keys and usage persist in ./data    stop: Ctrl-C");
    node.whenTerminated().toCompletableFuture().join();
  }
}
