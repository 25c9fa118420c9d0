package org.aiguillage.actors;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.aiguillage.protocol.dispatch.AgentCommand;
import org.aiguillage.protocol.dispatch.DispatchTicket;
import org.aiguillage.protocol.dispatch.QueueCommand;
import org.aiguillage.protocol.dispatch.RequestCommand;
import org.aiguillage.protocol.dispatch.TicketInfo;
import org.aiguillage.protocol.dispatch.UpstreamCall;
import org.aiguillage.protocol.openai.OpenAiError;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.RecipientRef;
import org.apache.pekko.actor.typed.Terminated;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.FileIO;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.StreamRefs;
import org.apache.pekko.util.ByteString;

/**
 * One client call at the edge, from its ticket to the start of its answer. While its ticket waits it holds the
 * lease (re-asserting it to the queue every {@code reassertInterval}); once an agent starts the call, the lease
 * passes to the agent, which this actor watches. A failure before the first byte re-enqueues the ticket at its
 * original arrival time, a bounded number of times. The outcome completes {@code reply}, which the HTTP route
 * turns into a response.
 */
public final class RequestActor {

  /** What the client gets. */
  public sealed interface Outcome {
    /** An SSE stream: one element per event, ending with {@code data: [DONE]}. */
    record Stream(String serverId, Source<ByteString, NotUsed> events) implements Outcome {}

    /** A whole body with the server's status (an error status from the server included). */
    record Whole(String serverId, int status, String contentType, byte[] body) implements Outcome {}

    /** The dispatcher's own refusal, in the OpenAI error envelope. */
    record Failure(int status, OpenAiError error, long retryAfterSeconds) implements Outcome {}
  }

  /** How long to hold on, and how often to try again. */
  public record Settings(Duration reassertInterval, int maxAttempts, Duration deadlineGrace) {
    public static Settings defaults() {
      return new Settings(Duration.ofSeconds(1), 3, Duration.ofSeconds(2));
    }
  }

  private enum Tick implements RequestCommand { REASSERT, DEADLINE }

  private record ClientGone() implements RequestCommand {}

  private RequestActor() {}

  public static Behavior<RequestCommand> create(TicketInfo info, UpstreamCall call, RecipientRef<QueueCommand> queue,
      CompletableFuture<Outcome> reply, CompletionStage<Done> clientGone, Settings settings) {
    return create(info, call, Optional.empty(), queue, reply, clientGone, settings);
  }

  /**
   * @param upload the file holding the call's body when it stays at the edge ({@link UpstreamCall#bodyAtEdge()}):
   *     streamed to each agent that starts the call; the caller deletes it once {@code reply} completes
   */
  public static Behavior<RequestCommand> create(TicketInfo info, UpstreamCall call, Optional<Path> upload,
      RecipientRef<QueueCommand> queue, CompletableFuture<Outcome> reply, CompletionStage<Done> clientGone,
      Settings settings) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      DispatchTicket ticket = new DispatchTicket(info, call, ctx.getSelf());
      ctx.pipeToSelf(clientGone, (d, failure) -> new ClientGone());
      return new RequestActor.State(ctx, timers, ticket, upload, queue, reply, settings).enqueue(1);
    }));
  }

  private static final class State {
    private final ActorContext<RequestCommand> ctx;
    private final TimerScheduler<RequestCommand> timers;
    private final DispatchTicket ticket;
    private final Optional<Path> upload;
    private final RecipientRef<QueueCommand> queue;
    private final CompletableFuture<Outcome> reply;
    private final Settings settings;

    State(ActorContext<RequestCommand> ctx, TimerScheduler<RequestCommand> timers, DispatchTicket ticket,
        Optional<Path> upload, RecipientRef<QueueCommand> queue, CompletableFuture<Outcome> reply,
        Settings settings) {
      this.ctx = ctx;
      this.timers = timers;
      this.ticket = ticket;
      this.upload = upload;
      this.queue = queue;
      this.reply = reply;
      this.settings = settings;
    }

    /** Waiting in the queue, on attempt {@code attempt}. */
    Behavior<RequestCommand> enqueue(int attempt) {
      queue.tell(new QueueCommand.Enqueue(ticket));
      timers.startTimerWithFixedDelay(Tick.REASSERT, settings.reassertInterval());
      // The queue answers the deadline itself; this backstop covers a queue that cannot be reached.
      long untilDeadline = ticket.info().deadlineMillis() - System.currentTimeMillis()
          + settings.deadlineGrace().toMillis();
      timers.startSingleTimer(Tick.DEADLINE, Duration.ofMillis(Math.max(1, untilDeadline)));
      return Behaviors.receive(RequestCommand.class)
          .onMessageEquals(Tick.REASSERT, () -> {
            queue.tell(new QueueCommand.Reassert(ticket));
            return Behaviors.same();
          })
          .onMessage(RequestCommand.Started.class, started -> {
            timers.cancel(Tick.REASSERT);
            timers.cancel(Tick.DEADLINE);
            ctx.watch(started.agent());
            return running(attempt, started.agent(), started.serverId());
          })
          .onMessage(RequestCommand.Rejected.class, rejected ->
              finish(new Outcome.Failure(rejected.status(), rejected.error(), rejected.retryAfterSeconds())))
          .onMessageEquals(Tick.DEADLINE, () -> {
            queue.tell(new QueueCommand.Withdraw(ticket.id()));
            return finish(new Outcome.Failure(503, OpenAiError.serverError("The request waited longer than the "
                + "queue timeout of model '" + ticket.info().model() + "'. Retry later.", "queue_timeout"), 10));
          })
          .onMessage(ClientGone.class, gone -> {
            queue.tell(new QueueCommand.Withdraw(ticket.id()));
            return finish(null);
          })
          .build();
    }

    /** An agent is calling its server. */
    Behavior<RequestCommand> running(int attempt, ActorRef<AgentCommand> agent, String serverId) {
      return Behaviors.receive(RequestCommand.class)
          .onMessage(RequestCommand.Streaming.class, s -> finish(new Outcome.Stream(s.serverId(), s.events().getSource())))
          .onMessage(RequestCommand.Whole.class, w ->
              finish(new Outcome.Whole(w.serverId(), w.status(), w.contentType(), w.body())))
          .onMessage(RequestCommand.UpstreamFailed.class, f -> f.retryable() ? retry(attempt, agent, f.reason())
              : finish(new Outcome.Failure(502, OpenAiError.serverError("The call failed: " + f.reason() + ".",
                  "upstream_failed"), 0)))
          .onMessage(RequestCommand.OpenBody.class, open -> {
            upload.ifPresent(path -> open.replyTo().tell(new RequestCommand.Upload(
                FileIO.fromPath(path).runWith(StreamRefs.sourceRef(), Materializer.matFromSystem(ctx.getSystem())))));
            return Behaviors.same();
          })
          .onSignal(Terminated.class, t -> retry(attempt, agent, "the agent of server " + serverId + " stopped"))
          .onMessage(ClientGone.class, gone -> {
            if (ticket.info().batch()) {
              return Behaviors.same(); // a batch's running line finishes: its answer is written down
            }
            agent.tell(new AgentCommand.CancelCall(ticket.id()));
            return finish(null);
          })
          .onMessage(RequestCommand.class, other -> Behaviors.same()) // late queue messages, ticks
          .build();
    }

    private Behavior<RequestCommand> retry(int attempt, ActorRef<AgentCommand> agent, String reason) {
      ctx.unwatch(agent);
      if (attempt >= settings.maxAttempts()) {
        return finish(new Outcome.Failure(502, OpenAiError.serverError("The model's servers failed " + attempt
            + " times before answering (last: " + reason + "). Retry later.", "upstream_failed"), 5));
      }
      ctx.getLog().info("ticket {} failed before its first byte ({}), queueing it again", ticket.id(), reason);
      return enqueue(attempt + 1);
    }

    private Behavior<RequestCommand> finish(Outcome outcome) {
      if (outcome != null) {
        reply.complete(outcome);
      } else {
        reply.cancel(false);
      }
      return Behaviors.stopped();
    }
  }
}
