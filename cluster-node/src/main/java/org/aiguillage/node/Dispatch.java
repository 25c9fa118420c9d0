package org.aiguillage.node;

import static org.aiguillage.node.EdgeDirectives.error;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.BiPredicate;
import java.util.function.Function;
import java.util.function.Supplier;
import kamon.Kamon;
import kamon.tag.TagSet;
import org.aiguillage.actors.RequestActor;
import org.aiguillage.actors.RequestActor.Outcome;
import org.aiguillage.actors.accounts.Accounts;
import org.aiguillage.actors.accounts.KeyAccount;
import org.aiguillage.actors.accounts.RateLimits;
import org.aiguillage.actors.batch.Batch;
import org.aiguillage.actors.edge.ApiKey;
import org.aiguillage.actors.edge.ModelRequest;
import org.aiguillage.agents.SseEvents;
import org.aiguillage.protocol.Json;
import org.aiguillage.protocol.config.FederationConfig;
import org.aiguillage.protocol.config.Lifecycle;
import org.aiguillage.protocol.config.ModelConfig;
import org.aiguillage.protocol.config.ModelType;
import org.aiguillage.protocol.dispatch.QueueCommand;
import org.aiguillage.protocol.openai.OpenAiError;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.RecipientRef;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.stream.Materializer;

/**
 * A call to a model (chat, completions, responses, embeddings, audio, rerank, score; in any dialect) from its parsed
 * request to its answer: the request checked against its model and the key's and organisation's limits, a request
 * actor to wait in the queue and follow the server call, and its outcome as HTTP in the client's dialect: a stream,
 * a whole body, or the dispatcher's refusal.
 */
final class Dispatch {

  static final Duration BODY_TIMEOUT = Duration.ofSeconds(60);
  private static final KeyAccount.Admission UNLIMITED = new KeyAccount.Admitted(RateLimits.NONE);

  private final ActorSystem<?> system;
  private final Supplier<FederationConfig> config;
  private final Accounts accounts;
  private final Function<String, RecipientRef<QueueCommand>> queues;
  private final RequestActor.Settings requestSettings;
  private final Materializer materializer;

  Dispatch(ActorSystem<?> system, Supplier<FederationConfig> config, Accounts accounts,
      Function<String, RecipientRef<QueueCommand>> queues, RequestActor.Settings requestSettings) {
    this.system = system;
    this.config = config;
    this.accounts = accounts;
    this.queues = queues;
    this.requestSettings = requestSettings;
    this.materializer = Materializer.matFromSystem(system);
  }

  CompletionStage<HttpResponse> dispatch(ModelRequest.Endpoint endpoint, byte[] body,
      KeyAccount.Authenticated authenticated, ClientConnection connection) {
    return dispatch(endpoint, body, authenticated, connection, OpenAiDialect.INSTANCE);
  }

  /** A request translated from another dialect: its OpenAI body queued the same way, answered in {@code dialect}. */
  CompletionStage<HttpResponse> dispatch(ModelRequest.Endpoint endpoint, byte[] body,
      KeyAccount.Authenticated authenticated, ClientConnection connection, Dialect dialect) {
    return dispatch(endpoint, body, authenticated, connection, dialect, null);
  }

  /** @param session the request's {@code x-session-id} header, null when absent */
  CompletionStage<HttpResponse> dispatch(ModelRequest.Endpoint endpoint, byte[] body,
      KeyAccount.Authenticated authenticated, ClientConnection connection, Dialect dialect, String session) {
    FederationConfig current = config.get();
    ModelRequest.Parsed parsed = ModelRequest.parse(endpoint, body, authenticated.key(), current::model,
        hostsModel(current), System.currentTimeMillis(), current.node().datacenter(), session);
    return queue(endpoint, parsed, authenticated, connection::goneBefore, Optional.empty(), dialect);
  }

  /**
   * A batch's line ({@code /v1/batches}) as a request of the batch's key: its ticket of the batch class (below every
   * interactive one, served where servers have room left) waits until {@code deadlineMillis}, the batch's expiry;
   * the answer comes whole, with the dispatcher's refusals in the OpenAI envelope.
   */
  CompletionStage<Batch.Answer> line(KeyAccount.Authenticated who, String path, byte[] body, String lineId,
      long deadlineMillis, CompletionStage<Done> senderGone) {
    ModelRequest.Endpoint endpoint = ModelRequest.Endpoint.forBatches(path).orElseThrow(
        () -> new IllegalArgumentException("no batch endpoint " + path));
    FederationConfig current = config.get();
    ModelRequest.Parsed parsed = ModelRequest.parse(endpoint, body, who.key(), current::model, hostsModel(current),
        System.currentTimeMillis(), current.node().datacenter(), null);
    if (parsed instanceof ModelRequest.Accepted a) {
      parsed = new ModelRequest.Accepted(a.model(), a.ticket().asBatchLine(lineId, deadlineMillis), a.call());
    }
    return call(endpoint, parsed, who, answered -> senderGone, Optional.empty()).thenApply(called -> {
      Outcome outcome = called.outcome();
      if (outcome == null) {
        return new Batch.Answer(0, new byte[0], called.ticketId(), 0); // withdrawn before it ran
      }
      if (outcome instanceof Outcome.Whole w) {
        return new Batch.Answer(w.status(), w.status() >= 400 ? Json.bytes(ServerErrors.toError(w.status(), w.body()))
            : w.body(), called.ticketId(), 0);
      }
      if (outcome instanceof Outcome.Failure f) {
        return new Batch.Answer(f.status(), Json.bytes(f.error()), called.ticketId(), f.retryAfterSeconds());
      }
      throw new IllegalStateException("a batch line's answer is whole, never a stream");
    });
  }

  /**
   * A speech-to-text request: its form written to disk as it arrives (413 past {@code http.max_audio_bytes}), then
   * queued like any other; the file goes when the answer starts or the request ends otherwise.
   */
  CompletionStage<HttpResponse> dispatchAudio(ModelRequest.Endpoint endpoint, HttpEntity entity,
      KeyAccount.Authenticated authenticated, ClientConnection connection) {
    FederationConfig current = config.get();
    long limit = current.http().maxAudioBytes();
    return AudioUpload.spool(entity, limit, BODY_TIMEOUT,
            name -> current.model(name).map(ModelConfig::servedName).orElse(name), materializer)
        .thenCompose(read -> {
          if (read instanceof AudioUpload.Refused refused) {
            count(null, endpoint, refused.status());
            return CompletableFuture.completedFuture(error(refused.status(), OpenAiError.invalidRequest(
                refused.message(), refused.status() == 400 ? "file" : null, switch (refused.status()) {
                  case 413 -> "request_too_large";
                  case 408 -> "request_timeout";
                  default -> "invalid_multipart";
                }), 0));
          }
          AudioUpload.Spooled form = (AudioUpload.Spooled) read;
          if (!form.hasFile()) {
            AudioUpload.delete(form.file());
            count(null, endpoint, 400);
            return CompletableFuture.completedFuture(error(400, OpenAiError.invalidRequest(
                "Missing required parameter: 'file' (the audio, as a file part of the form).", "file",
                "missing_required_parameter"), 0));
          }
          ModelRequest.Parsed parsed = ModelRequest.audio(endpoint, form.fields(), authenticated.key(),
              current::model, hostsModel(current), System.currentTimeMillis(), current.node().datacenter(),
              form.contentType(), form.bytes(), form.audioSeconds());
          CompletionStage<HttpResponse> answer = queue(endpoint, parsed, authenticated, connection::goneBefore,
              Optional.of(form.file()), OpenAiDialect.INSTANCE);
          // The answer starts once the server read the whole upload and answered; a retry before that still
          // finds it.
          return answer.whenComplete((r, failure) -> AudioUpload.delete(form.file()));
        });
  }

  /**
   * This node's configuration lists the servers its own datacentre's agents front; a model it lists none for may
   * have servers elsewhere in the cluster, and then only its queue can tell.
   */
  private static BiPredicate<String, String> hostsModel(FederationConfig current) {
    return (organization, model) -> current.model(model).map(m -> m.vllmServers().isEmpty()
        || m.vllmServers().stream().anyMatch(s -> s.organization().equals(organization))).orElse(false);
  }

  /**
   * A call as far as the dispatcher took it, before it is HTTP: its outcome (the dispatcher's refusal included; null
   * when the client left first), the key's limits to tell, and the ticket's id once it had one.
   */
  private record Called(String model, Outcome outcome, RateLimits limits, boolean deprecated, String ticketId) {

    static Called refused(String model, int status, OpenAiError error, long retryAfterSeconds, RateLimits limits) {
      return new Called(model, new Outcome.Failure(status, error, retryAfterSeconds), limits, false, null);
    }

    /** The status its answer has (a stream's is 200; a client that left is counted as cancelled, 503). */
    int status() {
      if (outcome == null || outcome instanceof Outcome.Stream) {
        return outcome == null ? 503 : 200;
      }
      return outcome instanceof Outcome.Whole w ? w.status() : ((Outcome.Failure) outcome).status();
    }
  }

  /** A call answered over HTTP in its client's dialect. */
  private CompletionStage<HttpResponse> queue(ModelRequest.Endpoint endpoint, ModelRequest.Parsed parsed,
      KeyAccount.Authenticated authenticated, Function<CompletionStage<?>, CompletionStage<Done>> goneBefore,
      Optional<Path> upload, Dialect dialect) {
    return call(endpoint, parsed, authenticated, goneBefore, upload).thenApply(called -> {
      HttpResponse response = called.outcome() == null
          ? dialect.error(503, OpenAiError.serverError("The request was cancelled.", "cancelled"), 0)
          : respond(called.outcome(), dialect);
      if (called.deprecated()) {
        response = response.addHeader(RawHeader.create("Deprecation", "true"));
      }
      response = withLimits(response, called.limits());
      return called.ticketId() == null ? response : response.addHeader(RawHeader.create("x-request-id",
          called.ticketId()));
    });
  }

  /**
   * Checks the request against its model and the key's and organisation's limits, then has a request actor queue
   * it and follow its server call; counts it by the status its answer has.
   *
   * @param goneBefore the client's leaving, as long as it comes before its answer (what it is given)
   */
  private CompletionStage<Called> call(ModelRequest.Endpoint endpoint, ModelRequest.Parsed parsed,
      KeyAccount.Authenticated authenticated, Function<CompletionStage<?>, CompletionStage<Done>> goneBefore,
      Optional<Path> upload) {
    return admitAndQueue(endpoint, parsed, authenticated, goneBefore, upload).thenApply(called -> {
      count(called.model(), endpoint, called.status());
      return called;
    });
  }

  private CompletionStage<Called> admitAndQueue(ModelRequest.Endpoint endpoint, ModelRequest.Parsed parsed,
      KeyAccount.Authenticated authenticated, Function<CompletionStage<?>, CompletionStage<Done>> goneBefore,
      Optional<Path> upload) {
    ApiKey key = authenticated.key();
    FederationConfig current = config.get();
    if (parsed instanceof ModelRequest.Invalid invalid) {
      return CompletableFuture.completedFuture(Called.refused(null, invalid.status(), invalid.error(), 0,
          RateLimits.NONE));
    }
    ModelRequest.Accepted accepted = (ModelRequest.Accepted) parsed;
    String model = accepted.model().name();
    if (accepted.model().vllmServers().isEmpty() && current.cluster().formsItsOwnCluster()
        && current.node().has("agent")) {
      return CompletableFuture.completedFuture(Called.refused(model, 503, OpenAiError.serverError("Model '" + model
          + "' has no server right now. Retry later.", "no_server_available"), 30, RateLimits.NONE));
    }
    String ticketId = accepted.ticket().id();
    // A key without limits needs no admission: its requests do not wait for its account. Then its organisation's
    // limits, if it has any; refused there, the key's reservation goes.
    long estimate = accepted.ticket().estimatedTokens();
    CompletionStage<KeyAccount.Admission> byKey = authenticated.limited()
        ? accounts.admit(key.id(), ticketId, estimate,
            accepted.model().type() == ModelType.AUTOMATIC_SPEECH_RECOGNITION)
        : CompletableFuture.completedFuture(UNLIMITED);
    CompletionStage<KeyAccount.Admission> admitted = byKey.thenCompose(admission ->
        admission instanceof KeyAccount.Denied ? CompletableFuture.completedFuture(admission)
            : accounts.admitByOrganization(key.organization(), ticketId, estimate).thenApply(byOrganization -> {
              if (byOrganization instanceof KeyAccount.Denied) {
                accounts.release(key.id(), key.organization(), ticketId);
                return byOrganization;
              }
              return admission;
            }));
    return admitted.thenCompose(admission -> {
      if (admission instanceof KeyAccount.Denied denied) {
        if (denied.status() == 429) {
          Kamon.counter("aiguillage_limited", "requests refused by a key's or organisation's limits")
              .withTags(TagSet.builder().add("key", key.id()).add("organization", key.organization())
                  .add("code", String.valueOf(denied.error().error().code())).build())
              .increment();
        }
        return CompletableFuture.completedFuture(Called.refused(model, denied.status(), denied.error(),
            denied.retryAfterSeconds(), denied.limits()));
      }
      RateLimits limits = ((KeyAccount.Admitted) admission).limits();
      CompletableFuture<Outcome> outcome = new CompletableFuture<>();
      system.systemActorOf(RequestActor.create(accepted.ticket(), accepted.call(), upload, queues.apply(model),
          outcome, goneBefore.apply(outcome), requestSettings),
          // A batch line's id is the same each time the line is sent: its actor's name must not be.
          accepted.ticket().batch() ? ticketId + "-" + UUID.randomUUID() : ticketId, Props.empty());
      return outcome.handle((o, failure) -> {
        if (failure != null || o instanceof Outcome.Failure) {
          // No server call will settle this ticket's reserved tokens.
          accounts.release(key.id(), key.organization(), ticketId);
        }
        return new Called(model, failure != null ? null : o, limits,
            accepted.model().lifecycle() == Lifecycle.DEPRECATED, ticketId);
      });
    });
  }

  private static HttpResponse withLimits(HttpResponse response, RateLimits limits) {
    HttpResponse r = response;
    for (String[] header : limits.headers()) {
      r = r.addHeader(RawHeader.create(header[0], header[1]));
    }
    return r;
  }

  private static HttpResponse respond(Outcome outcome, Dialect dialect) {
    if (outcome instanceof Outcome.Stream s) {
      // The agent ends a failing server's stream in-band; this covers the hand-over itself breaking (the agent's
      // node went away).
      return dialect.stream(s.events().recover(Throwable.class, () -> SseEvents.BROKEN_STREAM_END));
    }
    if (outcome instanceof Outcome.Whole w) {
      return w.status() >= 400 ? dialect.error(w.status(), ServerErrors.toError(w.status(), w.body()), 0)
          : dialect.whole(w.status(), w.contentType(), w.body());
    }
    Outcome.Failure f = (Outcome.Failure) outcome;
    return dialect.error(f.status(), f.error(), f.retryAfterSeconds());
  }

  static HttpResponse unauthorized(String why) {
    count(null, null, 401);
    return error(401, OpenAiError.authentication(why), 0);
  }

  /** A body that did not arrive in time (408), or larger than {@code limit} (413). */
  static HttpResponse refused(RequestBody.Read read, long limit) {
    return error(read instanceof RequestBody.TooSlow ? 408 : 413, refusal(read, limit), 0);
  }

  /** Why a body was refused, counted with its status (408 too slow, 413 too large), in any dialect. */
  static OpenAiError refusal(RequestBody.Read read, long limit) {
    if (read instanceof RequestBody.TooSlow slow) {
      count(null, null, 408);
      return slow.error();
    }
    count(null, null, 413);
    return OpenAiError.invalidRequest("The request body is larger than this endpoint accepts (" + limit
        + " bytes).", null, "request_too_large");
  }

  /** The answer when the key accounts do not answer in time. */
  static HttpResponse accountsUnavailable() {
    count(null, null, 503);
    return error(503, OpenAiError.serverError("The dispatcher cannot check API keys right now. Retry later.",
        "accounts_unavailable"), 5);
  }

  /** @param endpoint null when the request was refused before its endpoint was known to matter (401, 408, 413) */
  static void count(String model, ModelRequest.Endpoint endpoint, int status) {
    Kamon.counter("aiguillage_requests", "client requests answered by the edge")
        .withTags(TagSet.builder().add("model", model == null ? "none" : model)
            .add("endpoint", endpoint == null ? "none" : endpoint.metricName())
            .add("status", Integer.toString(status)).build())
        .increment();
  }
}
