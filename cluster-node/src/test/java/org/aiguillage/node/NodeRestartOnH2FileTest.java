package org.aiguillage.node;

import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

class NodeRestartOnH2FileTest extends NodeRestartTest {

  @TempDir
  Path data;

  @Override
  String persistence() {
    return "{ url: \"jdbc:h2:file:" + data.resolve("aiguillage") + "\" }";
  }
}
