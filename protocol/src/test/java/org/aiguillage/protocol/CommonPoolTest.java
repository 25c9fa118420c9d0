package org.aiguillage.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import scala.concurrent.Promise;
import scala.jdk.javaapi.FutureConverters;

class CommonPoolTest {

  /** A future as Pekko's javadsl hands it out (an ask's, a route's, the HTTP client's): a Scala one, converted. */
  private static <T> CompletionStage<T> pekkoStyle(Promise<T> promise) {
    return FutureConverters.asJava(promise.future());
  }

  @Test
  void aPekkoFuturesCallbacksRunOnAnotherThread() throws Exception {
    Promise<String> promise = Promise.apply();
    CompletableFuture<Thread> ranOn = pekkoStyle(promise).thenApply(v -> Thread.currentThread()).toCompletableFuture();
    Thread completing = new Thread(() -> promise.success("answer"), "completing");

    completing.start();
    completing.join();

    // The common pool's (with one thread or less, a new thread per callback): the reason for bypassed.
    Thread thread = ranOn.get(5, TimeUnit.SECONDS);
    assertNotSame(completing, thread);
    assertNotSame(Thread.currentThread(), thread);
  }

  @Test
  void bypassedRunsTheCallbacksOnTheThreadThatCompletes() throws Exception {
    Promise<String> promise = Promise.apply();
    CompletableFuture<Thread> ranOn = CommonPool.bypassed(pekkoStyle(promise)).thenApply(v -> Thread.currentThread());
    Thread completing = new Thread(() -> promise.success("answer"), "completing");

    completing.start();
    completing.join();

    assertSame(completing, ranOn.get(5, TimeUnit.SECONDS));
  }

  @Test
  void bypassedPassesTheValueAndTheFailureOn() throws Exception {
    Promise<String> answered = Promise.apply();
    Promise<String> failed = Promise.apply();
    CompletableFuture<String> value = CommonPool.bypassed(pekkoStyle(answered));
    CompletableFuture<Throwable> failure = CommonPool.bypassed(pekkoStyle(failed)).handle((v, f) -> f);

    answered.success("answer");
    IllegalStateException cause = new IllegalStateException("the server went away");
    failed.failure(cause);

    assertEquals("answer", value.get(5, TimeUnit.SECONDS));
    Throwable seen = failure.get(5, TimeUnit.SECONDS);
    assertSame(cause, seen.getCause() != null ? seen.getCause() : seen);
  }
}
