package org.aiguillage.node;

/** The reload on the embedded H2 journal, a database of its own each test. */
class ConfigReloadOnH2Test extends ConfigReloadTest {

  @Override
  String persistence() {
    return "{ url: \"jdbc:h2:mem:reload-" + System.nanoTime() + "\" }";
  }
}
