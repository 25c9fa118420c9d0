package org.aiguillage.node;

import java.nio.file.Path;
import org.aiguillage.protocol.CommonPool;
import org.aiguillage.protocol.config.ConfigException;

/**
 * {@code java -jar aiguillage.jar [--config FILE]}: starts a node; with no configuration, the demo. {@code keys ...},
 * {@code orgs ...} and {@code usage ...}: the operators' command line ({@link AdminCli}).
 */
public final class Main {

  private Main() {}

  public static void main(String[] args) {
    CommonPool.atLeastTwoThreads();
    try {
      if (AdminCli.handles(args)) {
        System.exit(new AdminCli(System.getenv(), System.out, System.err).run(args));
        return;
      }
      if (args.length == 0) {
        Demo.run(System.getenv());
        return;
      }
      if (args.length == 2 && args[0].equals("--config")) {
        AiguillageNode node = AiguillageNode.start(Path.of(args[1]), System.getenv());
        node.whenTerminated().toCompletableFuture().join();
        return;
      }
      System.err.println("usage: java -jar aiguillage.jar [--config FILE]   (no arguments: the demo)");
      System.err.println("       java -jar aiguillage.jar keys|orgs|usage ...  (the admin API's command line, --help)");
      System.exit(2);
    } catch (ConfigException e) {
      System.err.println("configuration error: " + e.getMessage());
      System.exit(1);
    } catch (IllegalStateException e) {
      System.err.println("cannot start: " + e.getMessage());
      System.exit(1);
    }
  }
}
