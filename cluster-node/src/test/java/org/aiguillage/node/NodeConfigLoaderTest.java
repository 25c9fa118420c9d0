package org.aiguillage.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.aiguillage.protocol.config.ConfigException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NodeConfigLoaderTest {

  @Test
  void theEnvironmentOverridesTheHttpPort(@TempDir Path dir) throws Exception {
    Path file = Files.writeString(dir.resolve("a.yaml"), "http: { host: 0.0.0.0, port: 8080 }\n");

    assertEquals(9090, NodeConfigLoader.load(file, Map.of("AIGUILLAGE_HTTP_PORT", "9090")).http().port());
    assertEquals(8080, NodeConfigLoader.load(file, Map.of()).http().port());
  }

  @Test
  void aBadOverrideOrAMissingFileIsNamed(@TempDir Path dir) throws Exception {
    Path file = Files.writeString(dir.resolve("a.yaml"), "");

    ConfigException port = assertThrows(ConfigException.class,
        () -> NodeConfigLoader.load(file, Map.of("AIGUILLAGE_HTTP_PORT", "eighty")));
    ConfigException missing = assertThrows(ConfigException.class,
        () -> NodeConfigLoader.load(dir.resolve("nope.yaml"), Map.of()));

    assertTrue(port.getMessage().contains("AIGUILLAGE_HTTP_PORT"), port.getMessage());
    assertTrue(missing.getMessage().contains("nope.yaml"), missing.getMessage());
  }

  @Test
  void secretsComeFromTheEnvironmentAndAMissingOneIsNamedNotShown(@TempDir Path dir) throws Exception {
    Path file = Files.writeString(dir.resolve("a.yaml"), """
        admin: { token: "${ADMIN_TOKEN}" }
        persistence: { url: "jdbc:postgresql://db:5432/a", password: "${DB_PASSWORD}" }
        cluster: { bootstrap: kubernetes-api, management_port: 8558 }
        """);

    var config = NodeConfigLoader.load(file, Map.of("ADMIN_TOKEN", "t0k$n", "DB_PASSWORD", "pw",
        "AIGUILLAGE_CLUSTER_HOST", "10.1.2.3"));
    ConfigException missing = assertThrows(ConfigException.class,
        () -> NodeConfigLoader.load(file, Map.of("ADMIN_TOKEN", "t0k$n")));

    assertEquals("t0k$n", config.admin().token());
    assertEquals("pw", config.persistence().password());
    assertEquals("10.1.2.3", config.cluster().host());
    assertTrue(missing.getMessage().contains("${DB_PASSWORD}"), missing.getMessage());
    assertTrue(!missing.getMessage().contains("t0k$n"));
  }
}
