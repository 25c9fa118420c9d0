package org.aiguillage.agents;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.stream.Materializer;

/**
 * A server's {@code /metrics}, read into its {@link ServerLoad}: one scrape at a time, each within a timeout. Its
 * agent starts one on every tick and says when the last one {@link #ended}; what a scrape's outcome means for the
 * server (its health, its live load) is the agent's.
 */
final class ServerScrape {

  /** A server whose metrics take longer than this is taken as not answering them. */
  static final Duration TIMEOUT = Duration.ofSeconds(2);

  private final Http http;
  private final Materializer materializer;
  private final Duration timeout;
  private boolean inFlight;

  ServerScrape(Http http, Materializer materializer, Duration timeout) {
    this.http = http;
    this.materializer = materializer;
    this.timeout = timeout;
  }

  /**
   * The server's load as {@code request} reads it; empty while the previous scrape has not ended: a server that does
   * not answer (down, unreachable) would otherwise get a new request at every tick, each waiting for a connection,
   * until the pool's queue overflows. Fails when the server answers another status than 200, or nothing within the
   * timeout.
   */
  Optional<CompletionStage<ServerLoad>> start(HttpRequest request) {
    if (inFlight) {
      return Optional.empty();
    }
    inFlight = true;
    // Not CommonPool.bypassed: parsing a server's metrics (tens of KiB) belongs on the common pool, once a second,
    // not on the stream thread that reads the body, which passes every answer's events.
    return Optional.of(http.singleRequest(request)
        .thenCompose(response -> {
          if (response.status().intValue() != 200) {
            response.discardEntityBytes(materializer);
            throw new IllegalStateException("metrics answered " + response.status().intValue());
          }
          return response.entity().toStrict(timeout.toMillis(), materializer);
        })
        .thenApply(strict -> MetricsParser.parse(strict.getData().utf8String()))
        .toCompletableFuture().orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS));
  }

  /** The last scrape's outcome has been taken: the next tick may start another. */
  void ended() {
    inFlight = false;
  }
}
