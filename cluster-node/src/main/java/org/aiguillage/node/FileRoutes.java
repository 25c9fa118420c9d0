package org.aiguillage.node;

import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.function.Supplier;
import org.aiguillage.actors.accounts.Accounts;
import org.aiguillage.actors.accounts.KeyAccount;
import org.aiguillage.actors.batch.BatchStore;
import org.aiguillage.actors.batch.FileStore;
import org.aiguillage.protocol.batch.FileObject;
import org.aiguillage.protocol.batch.Page;
import org.aiguillage.protocol.config.FederationConfig;
import org.aiguillage.protocol.openai.OpenAiError;
import org.apache.pekko.Done;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Sink;

/**
 * OpenAI's Files API, for batches: a file belongs to its key's organisation (another one gets 404); its bytes stream
 * to the {@link FileStore} as they arrive, never whole in memory, up to {@code batch.max_file_bytes}.
 *
 * <pre>
 *   POST     /v1/files                 upload (multipart: purpose=batch, file)
 *   GET      /v1/files                 the organisation's files, newest first (purpose, after, limit)
 *   GET      /v1/files/{id}            one
 *   GET      /v1/files/{id}/content    its bytes
 *   DELETE   /v1/files/{id}            remove it (409 while an unfinished batch reads it)
 * </pre>
 */
final class FileRoutes extends EdgeDirectives {

  private static final int MAX_FIELD_BYTES = 64 * 1024;

  private final Supplier<FederationConfig> config;
  private final Accounts accounts;
  private final FileStore files;
  private final BatchStore batches;

  FileRoutes(Materializer materializer, Supplier<FederationConfig> config, Accounts accounts, FileStore files,
      BatchStore batches) {
    super(materializer);
    this.config = config;
    this.accounts = accounts;
    this.files = files;
    this.batches = batches;
  }

  Route route() {
    return pathPrefix(segment("v1").slash("files"), () -> concat(
        pathEndOrSingleSlash(() -> concat(
            post(() -> apiKey(who -> extractRequestEntity(entity -> completeWithFuture(upload(entity, who))))),
            get(() -> apiKey(who -> parameterOptional("purpose", purpose -> parameterOptional("after", after ->
                parameterOptional("limit", limit -> later(() -> list(who, purpose, after, limit))))))))),
        pathPrefix(segment(), id -> concat(
            pathEnd(() -> concat(
                get(() -> apiKey(who -> later(() -> files.get(id, organization(who))
                    .thenApply(file -> file.map(f -> json(200, f)).orElseGet(() -> notFound(id)))))),
                delete(() -> apiKey(who -> later(() -> delete(who, id)))))),
            path("content", () -> get(() -> apiKey(who -> later(() -> files.get(id, organization(who))
                .thenApply(file -> file.map(f -> HttpResponse.create().withEntity(HttpEntities.create(
                        ContentTypes.APPLICATION_OCTET_STREAM, f.bytes(), files.content(id))))
                    .orElseGet(() -> notFound(id)))))))))));
  }

  /** Removes a file, unless a batch not finished reads its lines from it (409: cancel the batch first). */
  private CompletionStage<HttpResponse> delete(KeyAccount.Authenticated who, String id) {
    return files.get(id, organization(who)).thenCompose(file -> file.isEmpty()
        ? CompletableFuture.completedFuture(notFound(id))
        : batches.unfinishedReading(id).thenCompose(batch -> batch.isPresent()
            ? CompletableFuture.completedFuture(error(409, OpenAiError.invalidRequest("The file " + id + " is the "
                + "input of batch " + batch.get() + ", which is not finished: cancel it first, or wait for it.", "id",
                "file_in_use"), 0))
            : files.delete(id, organization(who)).thenApply(deleted -> deleted
                ? json(200, Map.of("id", id, "object", "file", "deleted", true)) : notFound(id))));
  }

  private Route apiKey(Function<KeyAccount.Authenticated, Route> inner) {
    return bearer(secret -> apiKey(accounts, secret, inner, Dispatch::unauthorized));
  }

  static String organization(KeyAccount.Authenticated who) {
    return who.key().organization();
  }

  static HttpResponse notFound(String id) {
    return error(404, OpenAiError.invalidRequest("No such File object: " + id, "id", "not_found"), 0);
  }

  private CompletionStage<HttpResponse> list(KeyAccount.Authenticated who, Optional<String> purpose,
      Optional<String> after, Optional<String> limitText) {
    java.util.OptionalInt limit = pageSize(limitText, 10_000, 10_000);
    if (limit.isEmpty()) {
      return badLimit(10_000);
    }
    int asked = limit.getAsInt();
    return files.list(organization(who), purpose, after, asked + 1)
        .thenApply(found -> json(200, Page.of(found, asked, FileObject::id)));
  }

  /**
   * Reads the form part by part: its text fields whole (they are small), its {@code file} straight into the store.
   * The file is listed only once every byte is stored and the form said {@code purpose: batch}.
   */
  private CompletionStage<HttpResponse> upload(HttpEntity entity, KeyAccount.Authenticated who) {
    long limit = config.get().batch().maxFileBytes();
    String fileId = "file-" + UUID.randomUUID().toString().replace("-", "");
    Map<String, String> fields = new ConcurrentHashMap<>();
    AtomicLong stored = new AtomicLong(-1);
    CompletionStage<Done> read = Unmarshaller.entityToMultipartFormData()
        .unmarshal(entity.withoutSizeLimit(), materializer)
        .thenCompose(form -> form.getParts()
            .mapAsync(1, part -> {
              if (part.getName().equals("file") && stored.get() < 0) {
                fields.put("filename", part.getFilename().orElse("upload.jsonl"));
                return part.getEntity().getDataBytes().runWith(files.write(fileId, limit), materializer)
                    .thenApply(bytes -> {
                      stored.set(bytes);
                      return Done.getInstance();
                    });
              }
              return part.getEntity().withSizeLimit(MAX_FIELD_BYTES).toStrict(Dispatch.BODY_TIMEOUT.toMillis(),
                  materializer).thenApply(strict -> {
                    fields.putIfAbsent(part.getName(), strict.getData().utf8String());
                    return Done.getInstance();
                  });
            })
            .runWith(Sink.ignore(), materializer));
    return read.handle((done, failure) -> failure).thenCompose(failure -> {
      if (failure != null) {
        boolean tooLarge = causes(failure, FileStore.TooLarge.class);
        return files.purge(fileId).handle((v, f) -> tooLarge
            ? error(413, OpenAiError.invalidRequest("The file is larger than this dispatcher accepts (" + limit
                + " bytes: batch.max_file_bytes).", "file", "request_too_large"), 0)
            : error(400, OpenAiError.invalidRequest("The request body is not a multipart/form-data form: "
                + rootMessage(failure), null, "invalid_multipart"), 0));
      }
      String purpose = fields.get("purpose");
      String refusal = stored.get() < 0 ? "Missing required parameter: 'file' (the JSONL file, as a file part)."
          : purpose == null ? "Missing required parameter: 'purpose'."
          : !purpose.strip().equals("batch") ? "This dispatcher stores files for batches only: 'purpose' must be "
              + "'batch', not '" + purpose.strip() + "'."
          : null;
      if (refusal != null) {
        String param = stored.get() < 0 ? "file" : "purpose";
        return files.purge(fileId).handle((v, f) -> error(400, OpenAiError.invalidRequest(refusal, param,
            purpose == null || stored.get() < 0 ? "missing_required_parameter" : "invalid_value"), 0));
      }
      return files.register(fileId, organization(who), fields.get("filename"), "batch", stored.get())
          .thenApply(file -> json(200, file));
    });
  }

  private static boolean causes(Throwable failure, Class<? extends Throwable> type) {
    for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (type.isInstance(t)) {
        return true;
      }
    }
    return false;
  }

  private static String rootMessage(Throwable failure) {
    Throwable t = failure;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return String.valueOf(t.getMessage());
  }
}
