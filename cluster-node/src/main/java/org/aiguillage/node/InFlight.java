package org.aiguillage.node;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;
import org.aiguillage.protocol.CommonPool;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.model.HttpResponse;

/**
 * The requests this edge is answering, streams until their last event: a leaving edge waits for them (the
 * server binding's own termination does not see connections handled one by one, as ours are).
 */
final class InFlight {

  private final AtomicInteger open = new AtomicInteger();
  private final kamon.metric.Gauge gauge = kamon.Kamon.gauge("aiguillage_in_flight",
      "requests this edge is answering, streams until their last event").withoutTags();
  /** Once leaving, each response closes its connection: the client's next request goes to another edge. */
  private volatile boolean leaving;

  int count() {
    return open.get();
  }

  /** Counts the request from now until its response, entity included, has gone. */
  CompletionStage<HttpResponse> track(CompletionStage<HttpResponse> response) {
    gauge.update(open.incrementAndGet());
    return CommonPool.bypassed(response).handle((answered, failure) -> {
      HttpResponse r = answered;
      if (failure != null) {
        gauge.update(open.decrementAndGet());
        throw failure instanceof java.util.concurrent.CompletionException c ? c
            : new java.util.concurrent.CompletionException(failure);
      }
      if (leaving) {
        r = r.addHeader(org.apache.pekko.http.javadsl.model.headers.Connection.create("close"));
      }
      if (r.entity() instanceof org.apache.pekko.http.scaladsl.model.HttpEntity.Chunked chunked) {
        // The same chunks, watched: not their bytes taken out and chunked again (three stages more per event).
        return r.withEntity(new org.apache.pekko.http.scaladsl.model.HttpEntity.Chunked(chunked.contentType(),
            chunked.chunks().asJava().watchTermination((mat, done) -> {
              done.whenComplete((d, f) -> gauge.update(open.decrementAndGet()));
              return mat;
            }).asScala()));
      }
      gauge.update(open.decrementAndGet());
      return r;
    });
  }

  /** Completes when nothing is in flight any more, or after {@code timeout}. */
  CompletionStage<Done> drained(ActorSystem<?> system, Duration timeout) {
    leaving = true;
    CompletableFuture<Done> done = new CompletableFuture<>();
    long until = System.nanoTime() + timeout.toNanos();
    poll(system, done, until);
    return done;
  }

  private void poll(ActorSystem<?> system, CompletableFuture<Done> done, long until) {
    if (open.get() == 0 || System.nanoTime() > until) {
      if (open.get() > 0) {
        system.log().warn("leaving with {} request(s) still in flight after the drain timeout", open.get());
      }
      done.complete(Done.getInstance());
      return;
    }
    system.scheduler().scheduleOnce(Duration.ofMillis(100), () -> poll(system, done, until),
        system.executionContext());
  }
}
