package org.aiguillage.node;

import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import java.util.function.Supplier;
import org.aiguillage.actors.accounts.Accounts;
import org.aiguillage.actors.accounts.KeyAccount;
import org.aiguillage.actors.batch.Batch;
import org.aiguillage.actors.batch.BatchStore;
import org.aiguillage.actors.batch.FileStore;
import org.aiguillage.actors.edge.ModelRequest;
import org.aiguillage.protocol.batch.BatchObject;
import org.aiguillage.protocol.batch.Page;
import org.aiguillage.protocol.config.FederationConfig;
import org.aiguillage.protocol.openai.OpenAiError;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.stream.Materializer;

/**
 * OpenAI's Batch API: a batch of requests from an uploaded JSONL file, run in the capacity interactive users leave,
 * its results in an output file and an error file. Each batch is a {@link Batch} entity; a batch belongs to its key's
 * organisation (another one gets 404).
 *
 * <pre>
 *   POST     /v1/batches               create (input_file_id, endpoint, completion_window: 24h, metadata)
 *   GET      /v1/batches               the organisation's batches, newest first (after, limit)
 *   GET      /v1/batches/{id}          one, with its counts
 *   POST     /v1/batches/{id}/cancel   stop sending its lines; those running finish
 * </pre>
 */
final class BatchRoutes extends EdgeDirectives {

  private static final Duration ASK_TIMEOUT = Duration.ofSeconds(10);
  private static final Duration COMPLETION_WINDOW = Duration.ofHours(24);

  private final Supplier<FederationConfig> config;
  private final Accounts accounts;
  private final FileStore files;
  private final BatchStore batches;
  private final ClusterSharding sharding;

  BatchRoutes(Materializer materializer, ActorSystem<?> system, Supplier<FederationConfig> config, Accounts accounts,
      FileStore files, BatchStore batches) {
    super(materializer);
    this.config = config;
    this.accounts = accounts;
    this.files = files;
    this.batches = batches;
    this.sharding = ClusterSharding.get(system);
  }

  Route route() {
    return pathPrefix(segment("v1").slash("batches"), () -> concat(
        pathEndOrSingleSlash(() -> concat(
            post(() -> apiKey(who -> jsonObject(1024 * 1024, body -> completeWithFuture(create(who, body)),
                (status, why) -> error(status, OpenAiError.invalidRequest(why, null, "invalid_json"), 0)))),
            get(() -> apiKey(who -> parameterOptional("after", after -> parameterOptional("limit", limit ->
                later(() -> list(who, after, limit)))))))),
        pathPrefix(segment(), id -> concat(
            pathEnd(() -> get(() -> apiKey(who -> later(() -> ask(who, id, Batch.Get::new))))),
            path("cancel", () -> post(() -> apiKey(who -> later(() -> ask(who, id, Batch.Cancel::new)))))))));
  }

  private Route apiKey(Function<KeyAccount.Authenticated, Route> inner) {
    return bearer(secret -> apiKey(accounts, secret, inner, Dispatch::unauthorized));
  }

  private CompletionStage<HttpResponse> create(KeyAccount.Authenticated who, JsonNode body) {
    String inputFileId = body.path("input_file_id").asText("");
    String endpoint = body.path("endpoint").asText("");
    String window = body.path("completion_window").asText("");
    if (inputFileId.isEmpty()) {
      return refuse("Missing required parameter: 'input_file_id'.", "input_file_id");
    }
    if (ModelRequest.Endpoint.forBatches(endpoint).isEmpty()) {
      return refuse("'endpoint' must be one of /v1/chat/completions, /v1/completions, /v1/responses, "
          + "/v1/embeddings, /v1/rerank, /v2/rerank, /v1/score; not '" + endpoint + "'.", "endpoint");
    }
    if (!window.equals("24h")) {
      return refuse("'completion_window' must be '24h', not '" + window + "'.", "completion_window");
    }
    Map<String, String> metadata = new LinkedHashMap<>();
    JsonNode meta = body.path("metadata");
    if (!meta.isMissingNode() && !meta.isNull()) {
      if (!meta.isObject() || meta.size() > 16) {
        return refuse("'metadata' must be an object of at most 16 string values.", "metadata");
      }
      for (Map.Entry<String, JsonNode> e : meta.properties()) {
        if (!e.getValue().isTextual() || e.getKey().length() > 64 || e.getValue().asText().length() > 512) {
          return refuse("'metadata' values must be strings (keys up to 64 characters, values up to 512).",
              "metadata");
        }
        metadata.put(e.getKey(), e.getValue().asText());
      }
    }
    String organization = FileRoutes.organization(who);
    return files.get(inputFileId, organization).thenCompose(file -> {
      if (file.isEmpty() || !file.get().purpose().equals("batch")) {
        return refuse(file.isEmpty() ? "No such File object: " + inputFileId
            : "The file " + inputFileId + " was not uploaded with purpose 'batch'.", "input_file_id");
      }
      long now = System.currentTimeMillis() / 1000;
      String id = "batch_" + UUID.randomUUID().toString().replace("-", "");
      Batch.Spec spec = new Batch.Spec(id, organization, who, endpoint, inputFileId, window, metadata, now,
          now + COMPLETION_WINDOW.toSeconds());
      return entity(id).<Batch.Reply>ask(replyTo -> new Batch.Create(spec, replyTo), ASK_TIMEOUT)
          .thenApply(reply -> answer(id, reply));
    });
  }

  private CompletionStage<HttpResponse> list(KeyAccount.Authenticated who, Optional<String> after,
      Optional<String> limitText) {
    java.util.OptionalInt limit = pageSize(limitText, 20, 100);
    if (limit.isEmpty()) {
      return badLimit(100);
    }
    int asked = limit.getAsInt();
    return batches.list(FileRoutes.organization(who), Optional.empty(), after, asked + 1)
        .thenApply(found -> json(200, Page.of(found.stream().map(BatchStore.Listed::batch).toList(), asked,
            BatchObject::id)));
  }

  private CompletionStage<HttpResponse> ask(KeyAccount.Authenticated who, String id,
      Function<org.apache.pekko.actor.typed.ActorRef<Batch.Reply>, Batch.Command> command) {
    return batches.exists(id, FileRoutes.organization(who)).thenCompose(exists -> exists
        ? entity(id).ask(command::apply, ASK_TIMEOUT).thenApply(reply -> answer(id, reply))
        : CompletableFuture.completedFuture(notFound(id)));
  }

  private EntityRef<Batch.Command> entity(String id) {
    return sharding.entityRefFor(Batch.TYPE_KEY, id);
  }

  private static HttpResponse answer(String id, Batch.Reply reply) {
    return reply instanceof Batch.Described d ? json(200, d.batch()) : notFound(id);
  }

  private static HttpResponse notFound(String id) {
    return error(404, OpenAiError.invalidRequest("No such Batch object: " + id, "id", "not_found"), 0);
  }

  private static CompletionStage<HttpResponse> refuse(String message, String param) {
    return CompletableFuture.completedFuture(error(400, OpenAiError.invalidRequest(message, param,
        "invalid_value"), 0));
  }
}
