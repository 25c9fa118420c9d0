package org.aiguillage.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.junit.jupiter.api.Test;

/** A connection tells its waiting requests that the client left, and forgets each request once it is answered. */
class ClientConnectionTest {

  @Test
  void aRequestAnsweredIsForgottenWhileTheConnectionStaysOpen() {
    ClientConnection connection = new ClientConnection();
    for (int i = 0; i < 1_000; i++) {
      CompletableFuture<String> answered = new CompletableFuture<>();
      connection.goneBefore(answered);
      answered.complete("answer " + i);
    }
    assertEquals(0, connection.listening());
  }

  @Test
  void aRequestCancelledIsForgottenToo() {
    ClientConnection connection = new ClientConnection();
    CompletableFuture<String> answered = new CompletableFuture<>();
    connection.goneBefore(answered);
    answered.cancel(false);
    assertEquals(0, connection.listening());
  }

  @Test
  void theRequestWaitingWhenTheConnectionClosesHearsIt() {
    ClientConnection connection = new ClientConnection();
    CompletableFuture<String> done = new CompletableFuture<>();
    connection.goneBefore(done);
    done.complete("answered");
    CompletionStage<Done> waiting = connection.goneBefore(new CompletableFuture<>());

    connection.close();

    assertTrue(waiting.toCompletableFuture().isDone());
    assertEquals(0, connection.listening());
  }

  @Test
  void aRequestArrivingAfterTheCloseHearsItAtOnce() {
    ClientConnection connection = new ClientConnection();
    connection.close();
    assertTrue(connection.goneBefore(new CompletableFuture<>()).toCompletableFuture().isDone());
  }

  @Test
  void anAnsweredRequestDoesNotHearALaterClose() {
    ClientConnection connection = new ClientConnection();
    CompletableFuture<String> answered = new CompletableFuture<>();
    CompletionStage<Done> gone = connection.goneBefore(answered);
    answered.complete("answered");
    connection.close();
    assertFalse(gone.toCompletableFuture().isDone());
  }
}
