package org.aiguillage.protocol;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * The JDK's common pool, as this project's processes (the node, the simulator, the load generator) need it.
 *
 * <p>Pekko's javadsl futures run every callback as an async step on the common pool, which has one thread per core
 * but one: on a 2-core machine that is one, and the JDK then starts a new thread for every step (a few per request;
 * JFR showed the simulator starting 325 threads in 20 s at 60 users of multi-turn chat). On the request path they are
 * {@link #bypassed bypassed}.
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

  /**
   * The stage's outcome as a plain {@link CompletableFuture}, whose callbacks run on the thread that completes it
   * instead of as async steps on the common pool, which is what a Pekko javadsl future (an ask's, a route's, an HTTP
   * client's) does with every {@code thenApply}, {@code handle} or {@code pipeToSelf}: a thread of another pool woken
   * for each step of each request. For the request path's callbacks, which only pass a value on: they run on an
   * actor's or a stream's thread, or on the scheduler's for an ask that timed out.
   */
  public static <T> CompletableFuture<T> bypassed(CompletionStage<T> stage) {
    CompletableFuture<T> plain = new CompletableFuture<>();
    stage.whenCompleteAsync((value, failure) -> {
      if (failure != null) {
        plain.completeExceptionally(failure);
      } else {
        plain.complete(value);
      }
    }, Runnable::run);
    return plain;
  }
}
