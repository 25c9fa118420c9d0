package org.aiguillage.node;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.aiguillage.protocol.config.ConfigException;
import org.aiguillage.protocol.openai.OpenAiError;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.stream.Materializer;

/** What the admin API's route classes share: their bodies' limit, and how they word a bad body. */
abstract class AdminDirectives extends EdgeDirectives {

  /** Admin bodies are keys, organisations, models and servers: a megabyte is far more than any. */
  static final long BODY_LIMIT = 1 << 20;
  private static final Duration BODY_TIMEOUT = Duration.ofSeconds(10);

  AdminDirectives(Materializer materializer) {
    super(materializer);
  }

  /**
   * What belongs to the whole federation: {@code inner} for its admin, 403 saying {@code why} to an organisation's
   * admin (whatever the path under it).
   */
  Route federationOnly(AdminPrincipal who, String why, java.util.function.Supplier<Route> inner) {
    return who.federation() ? inner.get() : answer(() -> error(403, OpenAiError.of(why
        + " This needs the federation's admin token.", "permission_error", null, "forbidden")));
  }

  /** An admin body: up to {@link #BODY_LIMIT} bytes within 10 s, else 413 or 408. */
  Route body(Function<byte[], Route> inner) {
    return body(BODY_LIMIT, BODY_TIMEOUT, inner, read -> read instanceof RequestBody.TooSlow slow
        ? error(408, slow.error())
        : error(413, OpenAiError.invalidRequest("The request body is larger than the admin API accepts ("
            + BODY_LIMIT + " bytes).", null, "request_too_large")));
  }

  static CompletionStage<HttpResponse> done(HttpResponse response) {
    return CompletableFuture.completedFuture(response);
  }

  static HttpResponse invalid(Exception e) {
    if (e instanceof ConfigException c) {
      return badRequest(c.getMessage().replace("missing configuration key", "missing field")
          .replace("malformed value for", "invalid value for"));
    }
    if (e instanceof UnrecognizedPropertyException u) {
      return badRequest("Unknown field '" + u.getPropertyName() + "'.");
    }
    if (e instanceof JsonProcessingException j && j.getCause() instanceof ConfigException c) {
      return badRequest(c.getMessage().replace("malformed value for", "invalid value for"));
    }
    if (e instanceof JsonProcessingException j) {
      return badRequest("The body is not a valid key: " + j.getOriginalMessage());
    }
    return badRequest("The body is not a valid key: " + e.getMessage());
  }

  static HttpResponse badRequest(String message) {
    return error(400, OpenAiError.invalidRequest(message, null, "invalid_value"));
  }

  static HttpResponse error(int status, OpenAiError error) {
    return EdgeDirectives.error(status, error, 0);
  }
}
