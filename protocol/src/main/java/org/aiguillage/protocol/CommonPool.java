package org.aiguillage.protocol;

/**
 * The JDK's common pool, as this project's processes (the node, the simulator, the load generator) need it.
 *
 * <p>Pekko's javadsl futures run every callback as an async step on the common pool, which has one thread per core
 * but one: on a 2-core machine that is one, and the JDK then starts a new thread for every step (a few per request;
 * JFR showed the simulator starting 325 threads in 20 s at 60 users of multi-turn chat).
 */
public final class CommonPool {

  private static final String PARALLELISM = "java.util.concurrent.ForkJoinPool.common.parallelism";

  private CommonPool() {}

  /**
   * Two threads at least, unless the operator said otherwise. Must be called at the start of {@code main}, before
   * anything creates the pool.
   */
  public static void atLeastTwoThreads() {
    if (System.getProperty(PARALLELISM) == null) {
      System.setProperty(PARALLELISM, Integer.toString(Math.max(2, Runtime.getRuntime().availableProcessors() - 1)));
    }
  }
}
