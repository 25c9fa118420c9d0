package org.aiguillage.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The command line's own answers, before it calls a node (the calls themselves: AccountsOverHttpTest). */
class AdminCliTest {

  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private int run(Map<String, String> env, String... args) {
    return new AdminCli(env, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8)).run(args);
  }

  @Test
  void everyCommandHasItsHelp() {
    assertEquals(0, run(Map.of(), "keys", "--help"));
    String keys = out.toString(StandardCharsets.UTF_8);
    for (String command : new String[] {"create", "list", "show", "revoke", "disable", "enable"}) {
      assertTrue(keys.contains(command), keys);
    }
    assertEquals(0, run(Map.of(), "keys", "create", "--help"));
    assertTrue(out.toString(StandardCharsets.UTF_8).contains("--routing-mode"), out.toString(StandardCharsets.UTF_8));
    assertEquals(0, run(Map.of(), "usage", "--help"));
    assertTrue(out.toString(StandardCharsets.UTF_8).contains("--group-by"));
    assertEquals(0, run(Map.of(), "orgs", "--help"));
    assertTrue(out.toString(StandardCharsets.UTF_8).contains("update"));
  }

  @Test
  void aMissingOptionOrAnUnknownCommandIsABadUsageNamedOnStandardError() {
    assertEquals(2, run(Map.of("AIGUILLAGE_ADMIN_TOKEN", "t"), "keys", "create", "--org", "univ-a"));
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("--name"), err.toString(StandardCharsets.UTF_8));
    assertEquals(2, run(Map.of("AIGUILLAGE_ADMIN_TOKEN", "t"), "keys", "frobnicate"));
    assertEquals(2, run(Map.of("AIGUILLAGE_ADMIN_TOKEN", "t"), "keys", "create", "--name", "n", "--org", "o",
        "--rpm", "sixty"));
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("sixty"), err.toString(StandardCharsets.UTF_8));
  }

  @Test
  void withoutAnAdminTokenNothingIsSent() {
    assertEquals(2, run(Map.of("AIGUILLAGE_URL", "http://127.0.0.1:1"), "keys", "list"));
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("AIGUILLAGE_ADMIN_TOKEN"));
  }

  @Test
  void aNodeThatCannotBeReachedIsSaidSo() {
    assertEquals(1, run(Map.of("AIGUILLAGE_ADMIN_TOKEN", "t"), "usage", "--url",
        "http://127.0.0.1:1"));
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("cannot reach http://127.0.0.1:1"),
        err.toString(StandardCharsets.UTF_8));
  }
}
