package org.aiguillage.actors.batch;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import java.util.function.Supplier;
import org.aiguillage.actors.accounts.KeyAccount;
import org.aiguillage.protocol.CborSerializable;
import org.aiguillage.protocol.batch.BatchObject;
import org.aiguillage.protocol.batch.BatchObject.LineError;
import org.aiguillage.protocol.config.BatchSettings;
import org.aiguillage.protocol.config.ModelConfig;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.pattern.Patterns;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.Effect;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.UniqueKillSwitch;
import org.apache.pekko.stream.javadsl.Framing;
import org.apache.pekko.stream.javadsl.FramingTruncation;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * One batch of OpenAI's Batch API, a sharded, event-sourced entity: its steps (validating, in progress, finalizing,
 * then completed, failed, expired or cancelled) are its journal; each line's result is a row of {@link BatchStore},
 * written once. Its lines go to the model queues as batch tickets, below every interactive one, a bounded number at
 * once. A node that dies mid-batch loses nothing: the entity starts again on another node (every node asks for the
 * unfinished batches every few seconds), skips the lines that have a result, and sends the others again; a line
 * whose call died with its node has no result, and runs again.
 */
public final class Batch extends EventSourcedBehavior<Batch.Command, Batch.Event, Batch.State> {

  public static final EntityTypeKey<Command> TYPE_KEY = EntityTypeKey.create(Command.class, "Batch");

  /** The longest line of an input file. */
  static final int MAX_LINE_BYTES = 16 * 1024 * 1024;

  /** A refusal this close to the batch's expiry (its queue's deadline, on another node's clock) means it is over. */
  private static final long EXPIRY_SLACK_MILLIS = 2_000;

  /** How often a running batch writes its counts where {@code GET /v1/batches} lists them. */
  private static final long DESCRIBE_EVERY_MILLIS = 2_000;

  /** How a line is sent: as a request of the batch's key, answered whole. */
  public interface Lines {
    /**
     * @param lineId the line's ticket id, the same each time it is sent: its batch's id and its line number
     * @param senderGone completes when the batch is cancelled or this incarnation stops (handed over to another
     *     node): a line still waiting leaves the queue (answered with status 0), one running finishes
     */
    CompletionStage<Answer> send(KeyAccount.Authenticated who, String endpoint, byte[] body, String lineId,
        long deadlineMillis, CompletionStage<Done> senderGone);
  }

  /**
   * A line's answer: the server's (or the dispatcher's refusal), its request id, when to retry a refusal. Status 0:
   * none, the line was withdrawn (its batch cancelled or moved) before it ran.
   */
  public record Answer(int status, byte[] body, String requestId, long retryAfterSeconds) {}

  /** What the entity works with. */
  public record Services(FileStore files, BatchStore store, Lines lines,
      Function<String, Optional<ModelConfig>> models, Supplier<BatchSettings> settings) {}

  public static void initSharding(ActorSystem<?> system, Services services) {
    ClusterSharding.get(system).init(Entity.of(TYPE_KEY, ctx -> create(ctx.getEntityId(), services))
        .withStopMessage(new Stop()));
  }

  public static Behavior<Command> create(String id, Services services) {
    return Behaviors.setup(ctx -> new Batch(ctx, PersistenceId.of(TYPE_KEY.name(), id), services));
  }

  /** What the client asked for, and who asked. Times in seconds since the epoch, as OpenAI's. */
  public record Spec(String id, String organization, KeyAccount.Authenticated who, String endpoint,
      String inputFileId, String completionWindow, Map<String, String> metadata, long createdAt, long expiresAt)
      implements CborSerializable {
    public Spec {
      metadata = metadata == null ? Map.of() : Map.copyOf(metadata);
    }
  }

  /** The batch as its journal says. */
  public record State(Spec spec, String status, Long inProgressAt, Long finalizingAt, Long completedAt,
      Long failedAt, Long expiredAt, Long cancellingAt, Long cancelledAt, long total, List<LineError> errors,
      boolean expiring, String outputFileId, String errorFileId, long completed, long failed)
      implements CborSerializable {

    static final State NONE = new State(null, null, null, null, null, null, null, null, null, 0, List.of(), false,
        null, null, 0, 0);

    public State {
      errors = errors == null ? List.of() : List.copyOf(errors);
    }

    boolean finished() {
      return switch (status) {
        case "completed", "failed", "expired", "cancelled" -> true;
        default -> false;
      };
    }
  }

  // ---- protocol

  public sealed interface Command extends CborSerializable {}

  public record Create(Spec spec, ActorRef<Reply> replyTo) implements Command {}

  public record Get(ActorRef<Reply> replyTo) implements Command {}

  public record Cancel(ActorRef<Reply> replyTo) implements Command {}

  /** Carry on if not finished (sent to every unfinished batch every few seconds, by every node). */
  public record Resume() implements Command {}

  record Validated(long requests, List<LineError> errors) implements Command {}

  record RunReady(BitSet settled, long completed, long failed) implements Command {}

  record LineSettled(boolean ok, boolean written) implements Command {}

  record RunEnded() implements Command {}

  record Finalized(String outputFileId, String errorFileId, long completed, long failed) implements Command {}

  /** A step broke (the database, a file): it is tried again on the next {@link Resume}. */
  record WorkFailed(String step, String why) implements Command {}

  record Stop() implements Command {}

  public sealed interface Reply extends CborSerializable {}

  public record Described(BatchObject batch) implements Reply {}

  public record NotFound() implements Reply {}

  public sealed interface Event extends CborSerializable {}

  public record Created(Spec spec) implements Event {}

  public record ValidationPassed(long total, long at) implements Event {}

  public record ValidationFailed(long total, List<LineError> errors, long at) implements Event {}

  public record CancelRequested(long at) implements Event {}

  public record FinalizingStarted(long at, boolean expired) implements Event {}

  public record Finished(String status, String outputFileId, String errorFileId, long completed, long failed,
      long at) implements Event {}

  // ---- the entity

  private final ActorContext<Command> ctx;
  private final Services services;
  private final Materializer materializer;
  /** A step (validation, the run, finalization) is under way on this incarnation. */
  private boolean working;
  private UniqueKillSwitch feeding;
  private long liveCompleted;
  private long liveFailed;
  private long describedAtMillis;
  private CompletionStage<Void> describing = CompletableFuture.completedFuture(null);
  /**
   * Completes when the batch is cancelled or this incarnation stops: the lines it sent that still wait leave the
   * queues (those running finish, their answers written).
   */
  private final CompletableFuture<Done> withdrawn = new CompletableFuture<>();
  private BatchMetrics metrics;

  private Batch(ActorContext<Command> ctx, PersistenceId id, Services services) {
    super(id);
    this.ctx = ctx;
    this.services = services;
    this.materializer = Materializer.matFromSystem(ctx.getSystem());
  }

  @Override
  public State emptyState() {
    return State.NONE;
  }

  @Override
  public CommandHandler<Command, Event, State> commandHandler() {
    return newCommandHandlerBuilder().forAnyState()
        .onCommand(Create.class, this::onCreate)
        .onCommand(Get.class, (s, get) -> Effect().none().thenRun(st -> get.replyTo().tell(reply(st))))
        .onCommand(Cancel.class, this::onCancel)
        .onCommand(Resume.class, this::onResume)
        .onCommand(Validated.class, this::onValidated)
        .onCommand(RunReady.class, this::onRunReady)
        .onCommand(LineSettled.class, this::onLineSettled)
        .onCommand(RunEnded.class, this::onRunEnded)
        .onCommand(Finalized.class, this::onFinalized)
        .onCommand(WorkFailed.class, (s, failed) -> {
          working = false;
          ctx.getLog().warn("batch {}: {} failed ({}); tried again within seconds", s.spec() == null ? "?"
              : s.spec().id(), failed.step(), failed.why());
          return Effect().none();
        })
        .onCommand(Stop.class, (s, stop) -> {
          if (feeding != null) {
            feeding.shutdown();
          }
          withdrawn.complete(Done.getInstance());
          return Effect().stop();
        })
        .build();
  }

  private Effect<Event, State> onCreate(State s, Create create) {
    if (s.spec() != null) {
      return Effect().none().thenRun(st -> create.replyTo().tell(reply(st)));
    }
    return Effect().persist(new Created(create.spec())).thenRun(st -> {
      Reply reply = reply(st);
      // Answered once listed: the client's next GET finds it on any node.
      describe(st).thenRun(() -> create.replyTo().tell(reply));
      work(st);
    });
  }

  private Effect<Event, State> onCancel(State s, Cancel cancel) {
    if (s.spec() == null || s.finished() || s.status().equals("cancelling") || s.status().equals("finalizing")) {
      return Effect().none().thenRun(st -> cancel.replyTo().tell(reply(st)));
    }
    return Effect().persist(new CancelRequested(nowSeconds())).thenRun(st -> {
      if (feeding != null) {
        feeding.shutdown(); // no new line; those waiting leave the queue, those running finish
      }
      withdrawn.complete(Done.getInstance());
      describe(st);
      cancel.replyTo().tell(reply(st));
      work(st);
    });
  }

  private Effect<Event, State> onResume(State s, Resume resume) {
    if (s.spec() == null) {
      return Effect().none().thenStop();
    }
    if (s.status().equals("in_progress") && nowSeconds() >= s.spec().expiresAt()) {
      return Effect().persist(new FinalizingStarted(nowSeconds(), true)).thenRun(st -> {
        if (feeding != null) {
          feeding.shutdown();
        }
        withdrawn.complete(Done.getInstance());
        describe(st);
        work(st);
      });
    }
    return Effect().none().thenRun(this::work);
  }

  private Effect<Event, State> onValidated(State s, Validated validated) {
    working = false;
    if (!s.status().equals("validating")) {
      return Effect().none().thenRun(this::work); // cancelled while it was read
    }
    Event e = validated.errors().isEmpty() ? new ValidationPassed(validated.requests(), nowSeconds())
        : new ValidationFailed(validated.requests(), validated.errors(), nowSeconds());
    return Effect().persist(e).thenRun(st -> {
      describe(st);
      work(st);
    });
  }

  private Effect<Event, State> onRunReady(State s, RunReady ready) {
    liveCompleted = ready.completed();
    liveFailed = ready.failed();
    if (!s.status().equals("in_progress")) {
      working = false;
      return Effect().none().thenRun(this::work);
    }
    Spec spec = s.spec();
    int parallelism = services.settings().get().linesInFlight();
    Pair<UniqueKillSwitch, CompletionStage<Done>> run = lines(spec.inputFileId())
        .viaMat(KillSwitches.single(), Keep.right())
        .filter(p -> !ready.settled().get(p.second()))
        .map(p -> BatchLines.read(p.second(), p.first().utf8String(), spec.endpoint(), model -> true))
        .filter(read -> read instanceof BatchLines.Request)
        .mapAsyncUnordered(parallelism, read -> run(spec, (BatchLines.Request) read))
        .toMat(Sink.foreach(settled -> ctx.getSelf().tell(settled)), Keep.both())
        .run(materializer);
    feeding = run.first();
    ctx.pipeToSelf(run.second(), (done, failure) -> failure == null ? new RunEnded()
        : new WorkFailed("the run", String.valueOf(failure)));
    return Effect().none();
  }

  private Effect<Event, State> onLineSettled(State s, LineSettled settled) {
    if (settled.written()) {
      metrics(s).settled(settled.ok());
      if (settled.ok()) {
        liveCompleted++;
      } else {
        liveFailed++;
      }
    }
    if (System.currentTimeMillis() - describedAtMillis >= DESCRIBE_EVERY_MILLIS) {
      describe(s);
    }
    return Effect().none();
  }

  private Effect<Event, State> onRunEnded(State s, RunEnded ended) {
    working = false;
    feeding = null;
    if (s.status().equals("in_progress")) {
      // Lines left without a result at the end of the window: it expired (its queue let them go at its deadline).
      boolean expired = nowSeconds() >= s.spec().expiresAt() && liveCompleted + liveFailed < s.total();
      return Effect().persist(new FinalizingStarted(nowSeconds(), expired)).thenRun(st -> {
        describe(st);
        work(st);
      });
    }
    return Effect().none().thenRun(this::work);
  }

  private Effect<Event, State> onFinalized(State s, Finalized f) {
    working = false;
    if (s.finished()) {
      return Effect().none();
    }
    String status = s.status().equals("cancelling") ? "cancelled" : s.expiring() ? "expired" : "completed";
    return Effect().persist(new Finished(status, f.outputFileId(), f.errorFileId(), f.completed(), f.failed(),
        nowSeconds())).thenRun(st -> describe(st));
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState()
        .onEvent(Created.class, (s, e) -> new State(e.spec(), "validating", null, null, null, null, null, null, null,
            0, List.of(), false, null, null, 0, 0))
        .onEvent(ValidationPassed.class, (s, e) -> new State(s.spec(), "in_progress", e.at(), null, null, null, null,
            null, null, e.total(), List.of(), false, null, null, 0, 0))
        .onEvent(ValidationFailed.class, (s, e) -> new State(s.spec(), "failed", null, null, null, e.at(), null,
            null, null, e.total(), e.errors(), false, null, null, 0, 0))
        .onEvent(CancelRequested.class, (s, e) -> new State(s.spec(), "cancelling", s.inProgressAt(), null, null,
            null, null, e.at(), null, s.total(), s.errors(), false, null, null, 0, 0))
        .onEvent(FinalizingStarted.class, (s, e) -> new State(s.spec(), "finalizing", s.inProgressAt(), e.at(),
            null, null, null, null, null, s.total(), s.errors(), e.expired(), null, null, 0, 0))
        .onEvent(Finished.class, (s, e) -> new State(s.spec(), e.status(), s.inProgressAt(), s.finalizingAt(),
            e.status().equals("completed") ? e.at() : null, null, e.status().equals("expired") ? e.at() : null,
            s.cancellingAt(), e.status().equals("cancelled") ? e.at() : null, s.total(), s.errors(), s.expiring(),
            e.outputFileId(), e.errorFileId(), e.completed(), e.failed()))
        .build();
  }

  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.instance(), this::work)
        .onSignal(PostStop.instance(), s -> withdrawn.complete(Done.getInstance()))
        .build();
  }

  // ---- the steps

  /** Starts the step the batch is at, unless one is under way here or the batch is finished. */
  private void work(State s) {
    if (working || s.spec() == null || s.finished()) {
      return;
    }
    switch (s.status()) {
      case "validating" -> validate(s.spec());
      case "in_progress" -> {
        working = true;
        ctx.pipeToSelf(services.store().settled(s.spec().id()), (settled, failure) -> failure == null
            ? new RunReady(settled.lines(), settled.ok(), settled.failed())
            : new WorkFailed("reading the lines settled", String.valueOf(failure)));
      }
      default -> finalize(s); // finalizing, cancelling: nothing of it runs here any more
    }
  }

  private void validate(Spec spec) {
    working = true;
    BatchSettings settings = services.settings().get();
    BatchLines.Validation validation = new BatchLines.Validation(spec.endpoint(),
        model -> services.models().apply(model).filter(m -> spec.who().key().sees(m)).isPresent(),
        settings.maxLines());
    CompletionStage<Validated> done = lines(spec.inputFileId())
        .runForeach(p -> validation.accept(p.second(), p.first().utf8String()), materializer)
        .thenApply(d -> new Validated(validation.requests(), validation.errors()))
        .exceptionally(failure -> new Validated(0, List.of(new LineError("invalid_file",
            "The input file cannot be read as lines of JSON (" + rootMessage(failure) + ").", "input_file_id",
            null))));
    ctx.pipeToSelf(done, (validated, failure) -> failure == null ? validated
        : new WorkFailed("validation", String.valueOf(failure)));
  }

  /** One line: sent (again while the federation says it is full, until the batch expires), its result written. */
  private CompletionStage<Command> run(Spec spec, BatchLines.Request request) {
    return send(spec, request, 1).thenCompose(answer -> {
      if (answer.status() == 0) {
        return CompletableFuture.completedFuture((Command) new LineSettled(false, false));
      }
      boolean ok = answer.status() / 100 == 2;
      String line = BatchLines.resultLine(request.customId(), answer.status(), answer.requestId(), answer.body());
      return services.store().settle(spec.id(), new BatchStore.Result(request.line(), ok, line))
          .thenApply(written -> (Command) new LineSettled(ok, written));
    });
  }

  private CompletionStage<Answer> send(Spec spec, BatchLines.Request request, int attempt) {
    return services.lines().send(spec.who(), spec.endpoint(), request.body(), spec.id() + "-" + request.line(),
            spec.expiresAt() * 1000, withdrawn)
        .exceptionally(failure -> new Answer(503, org.aiguillage.protocol.Json.bytes(Map.of("error",
            Map.of("message", rootMessage(failure), "code", "dispatch_failed"))), null, 5))
        .thenCompose(answer -> {
          if (answer.status() != 429 && answer.status() != 503) {
            return CompletableFuture.completedFuture(answer);
          }
          long now = System.currentTimeMillis();
          long expires = spec.expiresAt() * 1000;
          if (withdrawn.isDone() || now >= expires - EXPIRY_SLACK_MILLIS) {
            // Refused, and the batch is over: the line did not run (an expired batch says so of it).
            return CompletableFuture.completedFuture(new Answer(0, answer.body(), answer.requestId(), 0));
          }
          long retryAfter = answer.retryAfterSeconds() * 1000;
          if (retryAfter <= 0 || now + retryAfter >= expires) {
            // It would be refused until after the batch expires (a spent budget, a request larger than the key's
            // limit): the refusal is the line's answer, in the error file.
            return CompletableFuture.completedFuture(answer);
          }
          Duration wait = Duration.ofMillis(Math.max(1_000, Math.min(30_000, retryAfter)));
          return Patterns.after(wait, ctx.getSystem().classicSystem().scheduler(), ctx.getExecutionContext(),
              () -> send(spec, request, attempt + 1));
        });
  }

  /** Writes the output and error files from the lines' results (again from the start after a restart). */
  private void finalize(State s) {
    working = true;
    Spec spec = s.spec();
    BatchStore store = services.store();
    CompletionStage<Void> unrun = s.expiring() ? settleExpired(spec) : CompletableFuture.completedFuture(null);
    CompletionStage<Finalized> done = unrun
        .thenCompose(v -> store.settled(spec.id()))
        .thenCompose(settled -> writeFile(spec, "output", store.results(spec.id(), true), settled.ok())
            .thenCompose(output -> writeFile(spec, "error", store.results(spec.id(), false), settled.failed())
                .thenApply(error -> new Finalized(output, error, settled.ok(), settled.failed()))));
    ctx.pipeToSelf(done, (finalized, failure) -> failure == null ? finalized
        : new WorkFailed("finalization", String.valueOf(failure)));
  }

  /** The lines an expired batch did not run, in its error file as {@code batch_expired}. */
  private CompletionStage<Void> settleExpired(Spec spec) {
    return services.store().settled(spec.id()).thenCompose(settled -> lines(spec.inputFileId())
        .filter(p -> !settled.lines().get(p.second()))
        .map(p -> BatchLines.read(p.second(), p.first().utf8String(), spec.endpoint(), model -> true))
        .filter(read -> read instanceof BatchLines.Request)
        .mapAsync(1, read -> services.store().settle(spec.id(), new BatchStore.Result(
            ((BatchLines.Request) read).line(), false, BatchLines.unrunLine(((BatchLines.Request) read).customId(),
                "batch_expired", "This request could not be executed before the completion window expired."))))
        .runWith(Sink.ignore(), materializer)
        .thenApply(d -> (Void) null));
  }

  /** A file of the batch's results (none when there are none), under an id of its own so a retry replaces it. */
  private CompletionStage<String> writeFile(Spec spec, String kind, Source<String, NotUsed> lines, long count) {
    if (count == 0) {
      return CompletableFuture.completedFuture(null);
    }
    String fileId = "file-" + kind + "-" + spec.id().substring(spec.id().indexOf('_') + 1);
    FileStore files = services.files();
    return files.purge(fileId)
        .thenCompose(v -> lines.map(line -> ByteString.fromString(line + "\n", StandardCharsets.UTF_8))
            .runWith(files.write(fileId, Long.MAX_VALUE), materializer))
        .thenCompose(bytes -> files.register(fileId, spec.organization(), spec.id() + "_" + kind + ".jsonl",
            "batch_output", bytes))
        .thenApply(file -> file.id());
  }

  /** The input file's lines with their numbers, from 1. */
  private Source<Pair<ByteString, Integer>, NotUsed> lines(String fileId) {
    return services.files().content(fileId)
        .via(Framing.delimiter(ByteString.fromString("\n"), MAX_LINE_BYTES, FramingTruncation.ALLOW))
        .zipWithIndex()
        .map(p -> Pair.create(p.first(), (int) (p.second() + 1)));
  }

  // ---- what clients see

  private Reply reply(State s) {
    return s.spec() == null ? new NotFound() : new Described(object(s));
  }

  private BatchObject object(State s) {
    Spec spec = s.spec();
    boolean live = !s.finished();
    long completed = live ? liveCompleted : s.completed();
    long failed = live ? liveFailed : s.failed();
    double progress = s.total() == 0 ? (s.finished() ? 1 : 0) : Math.min(1, (double) (completed + failed) / s.total());
    return new BatchObject(spec.id(), "batch", spec.endpoint(),
        s.errors().isEmpty() ? null : new BatchObject.Errors(s.errors()), spec.inputFileId(),
        spec.completionWindow(), s.status(), s.outputFileId(), s.errorFileId(), spec.createdAt(), s.inProgressAt(),
        spec.expiresAt(), s.finalizingAt(), s.completedAt(), s.failedAt(), s.expiredAt(), s.cancellingAt(),
        s.cancelledAt(), new BatchObject.RequestCounts(s.total(), completed, failed), spec.metadata(), progress);
  }

  /** Writes the batch where lists and other nodes read it, in order. */
  private CompletionStage<Void> describe(State s) {
    describedAtMillis = System.currentTimeMillis();
    BatchObject object = object(s);
    metrics(s).show(object, s.finished());
    describing = describing.thenCompose(v -> services.store().describe(object, s.spec().organization(),
            s.spec().who().key().id()))
        .exceptionally(failure -> {
          ctx.getSystem().log().warn("batch {}: cannot write its description: {}", object.id(), failure.toString());
          return null;
        });
    return describing;
  }

  private BatchMetrics metrics(State s) {
    if (metrics == null) {
      metrics = new BatchMetrics(s.spec().id(), s.spec().organization());
    }
    return metrics;
  }

  private static long nowSeconds() {
    return System.currentTimeMillis() / 1000;
  }

  private static String rootMessage(Throwable failure) {
    Throwable t = failure;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
  }
}
