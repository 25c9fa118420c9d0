package org.aiguillage.actors.batch;

import java.sql.SQLException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;

/** A piece of JDBC work; {@link #on} runs it off the actors' threads (JDBC blocks). */
@FunctionalInterface
interface Sql<T> {

  T run() throws SQLException;

  static <T> CompletionStage<T> on(Executor blocking, Sql<T> sql) {
    return CompletableFuture.supplyAsync(() -> {
      try {
        return sql.run();
      } catch (SQLException e) {
        throw new CompletionException(e);
      }
    }, blocking);
  }
}
