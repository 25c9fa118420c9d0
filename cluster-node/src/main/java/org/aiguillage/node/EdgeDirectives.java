package org.aiguillage.node;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.aiguillage.protocol.Json;
import org.aiguillage.protocol.openai.OpenAiError;
import org.apache.pekko.http.javadsl.model.AttributeKey;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpMethod;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.Allow;
import org.apache.pekko.http.javadsl.model.headers.HttpCredentials;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.model.headers.WWWAuthenticate;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.AuthenticationFailedRejection;
import org.apache.pekko.http.javadsl.server.ExceptionHandler;
import org.apache.pekko.http.javadsl.server.MethodRejection;
import org.apache.pekko.http.javadsl.server.Rejection;
import org.apache.pekko.http.javadsl.server.RejectionHandler;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.stream.Materializer;
import org.aiguillage.actors.accounts.Accounts;
import org.aiguillage.actors.accounts.KeyAccount;
import org.slf4j.Logger;

/**
 * What every route class of the edge shares: the client-gone signal each request carries (decision 003), a body
 * read up to a limit (413 and 408 as {@link RequestBody} says), bearer credentials, and the one rejection and
 * exception handler that answer every error, the admin API's too, in the OpenAI envelope.
 */
abstract class EdgeDirectives extends AllDirectives {

  /** The request's connection, put on each request by the connection's handler (decision 003). */
  static final AttributeKey<ClientConnection> CLIENT =
      AttributeKey.create("aiguillage-client", ClientConnection.class);

  /** The realm of the admin token's challenge; the rejection handler words the admin API's 401 by it. */
  static final String ADMIN_REALM = "aiguillage-admin";

  protected final Materializer materializer;

  EdgeDirectives(Materializer materializer) {
    this.materializer = materializer;
  }

  /**
   * A list's page size ({@code limit}): {@code orElse} when absent, empty when not a whole number from 1 to {@code
   * most} (answer {@link #badLimit(int)}).
   */
  static java.util.OptionalInt pageSize(Optional<String> text, int orElse, int most) {
    try {
      int limit = text.map(String::strip).map(Integer::parseInt).orElse(orElse);
      return limit >= 1 && limit <= most ? java.util.OptionalInt.of(limit) : java.util.OptionalInt.empty();
    } catch (NumberFormatException e) {
      return java.util.OptionalInt.empty();
    }
  }

  static CompletionStage<HttpResponse> badLimit(int most) {
    return CompletableFuture.completedFuture(error(400, OpenAiError.invalidRequest(
        "'limit' must be a whole number from 1 to " + most + ".", "limit", "invalid_value"), 0));
  }

  /** The bearer token of the {@code Authorization} header, if any. */
  Route bearer(Function<Optional<String>, Route> inner) {
    return extractCredentials(credentials -> inner.apply(credentials
        .filter(c -> c.scheme().equalsIgnoreCase("bearer"))
        .map(HttpCredentials::token)
        .map(String::trim)
        .filter(t -> !t.isEmpty())));
  }

  /**
   * The key a request is made with ({@code secret}), checked by its account (its answer cached a few seconds);
   * {@code refused} answers a missing or refused one (401) in the route's dialect, given why.
   */
  Route apiKey(Accounts accounts, Optional<String> secret, Function<KeyAccount.Authenticated, Route> inner,
      Function<String, HttpResponse> refused) {
    CompletionStage<KeyAccount.Authentication> checked = secret.isEmpty()
        ? CompletableFuture.completedFuture(new KeyAccount.AuthenticationRefused(NO_KEY))
        : accounts.authenticate(secret.get());
    return onSuccess(checked, authentication -> authentication instanceof KeyAccount.Authenticated a
        ? inner.apply(a)
        : answer(() -> refused.apply(((KeyAccount.AuthenticationRefused) authentication).message())));
  }

  static final String NO_KEY =
      "You didn't provide an API key. Provide it in the Authorization header as 'Bearer YOUR_KEY'.";

  /**
   * A dialect's JSON body, read whole up to {@code limit} bytes: a JSON object for {@code inner}; otherwise {@code
   * refusal} answers in the dialect's envelope (400 not JSON, 413 too large, 408 too slow), given the status and why.
   */
  Route jsonObject(long limit, Function<com.fasterxml.jackson.databind.JsonNode, Route> inner,
      java.util.function.BiFunction<Integer, String, HttpResponse> refusal) {
    return body(limit, Dispatch.BODY_TIMEOUT, bytes -> {
      com.fasterxml.jackson.databind.JsonNode request;
      try {
        request = org.aiguillage.protocol.Json.MAPPER.readTree(bytes);
      } catch (Exception e) {
        request = null;
      }
      if (request == null || !request.isObject()) {
        Dispatch.count(null, null, 400);
        return complete(refusal.apply(400, "The request body is not a JSON object."));
      }
      return inner.apply(request);
    }, refused -> {
      OpenAiError why = Dispatch.refusal(refused, limit);
      return refusal.apply(refused instanceof RequestBody.TooSlow ? 408 : 413, why.message());
    });
  }

  /** The body, read whole up to {@code limit} bytes within {@code timeout}; else what {@code refused} answers. */
  Route body(long limit, Duration timeout, Function<byte[], Route> inner,
      Function<RequestBody.Read, HttpResponse> refused) {
    return extractRequestEntity(entity -> onSuccess(RequestBody.read(entity, limit, timeout, materializer), read ->
        read instanceof RequestBody.Body body ? inner.apply(body.bytes()) : complete(refused.apply(read))));
  }

  /**
   * Answers now, dropping a body the client sent and the route does not read, so that the connection stays usable
   * for the client's next request.
   */
  Route answer(Supplier<HttpResponse> response) {
    return extractRequestEntity(entity -> {
      entity.discardBytes(materializer);
      return complete(response.get());
    });
  }

  /** Answers when {@code response} completes, dropping a body the route does not read. */
  Route later(Supplier<CompletionStage<HttpResponse>> response) {
    return extractRequestEntity(entity -> {
      entity.discardBytes(materializer);
      return completeWithFuture(response.get());
    });
  }

  static HttpResponse error(int status, OpenAiError error, long retryAfterSeconds) {
    return withRetryAfter(json(status, error), retryAfterSeconds);
  }

  /** The answer with {@code Retry-After} when {@code seconds} is positive: every dialect's refusals carry it. */
  static HttpResponse withRetryAfter(HttpResponse response, long seconds) {
    return seconds > 0 ? response.addHeader(RawHeader.create("Retry-After", Long.toString(seconds))) : response;
  }

  static HttpResponse json(int status, String body) {
    return HttpResponse.create().withStatus(status).withEntity(ContentTypes.APPLICATION_JSON, body);
  }

  /** {@code body} as JSON, written by the edge's one mapper. */
  static HttpResponse json(int status, Object body) {
    return HttpResponse.create().withStatus(status).withEntity(ContentTypes.APPLICATION_JSON, Json.bytes(body));
  }

  /**
   * The one rejection handler: unknown URL 404, wrong method 405 with {@code Allow}, missing or wrong credentials
   * 401, anything else 400; each in the OpenAI envelope, each dropping the unread body.
   */
  RejectionHandler rejections() {
    return RejectionHandler.newBuilder()
        .handleAll(MethodRejection.class, rejected -> extractMethod(method -> {
          List<HttpMethod> allowed = rejected.stream().map(MethodRejection::supported).distinct().toList();
          String names = allowed.stream().map(HttpMethod::value).collect(Collectors.joining(", "));
          return answer(() -> error(405, OpenAiError.invalidRequest("Method " + method.value()
              + " is not allowed here; use " + names + ".", null, "method_not_allowed"), 0)
              .addHeader(Allow.create(allowed.toArray(HttpMethod[]::new))));
        }))
        .handle(AuthenticationFailedRejection.class, rejected -> answer(() ->
            error(401, rejected.challenge().realm().equals(ADMIN_REALM)
                ? OpenAiError.authentication("The admin API needs the admin token as 'Authorization: Bearer "
                    + "ADMIN_TOKEN'.")
                : OpenAiError.authentication("You didn't provide an API key. Provide it in the Authorization header "
                    + "as 'Bearer YOUR_KEY'."), 0).addHeader(WWWAuthenticate.create(rejected.challenge()))))
        .handle(Rejection.class, rejection -> answer(() -> error(400,
            OpenAiError.invalidRequest("The request was refused: " + rejection + ".", null, "invalid_request"), 0)))
        .handleNotFound(extractRequest(request -> concat(
            pathPrefix("admin", () -> answer(() -> error(404, OpenAiError.invalidRequest("Unknown admin URL: "
                + request.method().value() + " " + request.getUri().path() + ".", null, "unknown_url"), 0))),
            answer(() -> error(404, OpenAiError.invalidRequest("Unknown request URL: " + request.method().value() + " "
                + request.getUri().path() + ".", null, "unknown_url"), 0)))))
        .build();
  }

  /**
   * The exception handler: a store or an account that did not answer in time is {@code unavailable}, anything else
   * 500 worded by {@code failed}; neither says more than the failure's kind.
   */
  static ExceptionHandler failures(Logger log, Supplier<HttpResponse> unavailable,
      Function<Throwable, String> failed) {
    Function<Throwable, Route> answer = cause -> {
      if (cause instanceof TimeoutException) {
        return COMPLETE.complete(unavailable.get());
      }
      log.warn("request failed in the edge: {}", cause.toString());
      return COMPLETE.complete(error(500, OpenAiError.serverError(failed.apply(cause), "internal_error"), 0));
    };
    return ExceptionHandler.newBuilder()
        .match(CompletionException.class, e -> e.getCause() != null, e -> answer.apply(e.getCause()))
        .matchAny(answer::apply)
        .build();
  }

  /** Directives outside a route class, for the exception handler's answers. */
  private static final AllDirectives COMPLETE = new AllDirectives() { };
}
