package org.aiguillage.agents;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.aiguillage.agents.SseEvents.Usage;
import org.aiguillage.protocol.CommonPool;
import org.aiguillage.protocol.accounting.UsageRecord;
import org.aiguillage.protocol.dispatch.AgentCommand;
import org.aiguillage.protocol.dispatch.DispatchTicket;
import org.aiguillage.protocol.dispatch.LoadSnapshot;
import org.aiguillage.protocol.dispatch.QueueCommand;
import org.aiguillage.protocol.dispatch.RequestCommand;
import org.aiguillage.protocol.dispatch.ServerState;
import org.aiguillage.protocol.dispatch.UpstreamCall;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.RecipientRef;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.RequestEntity;
import org.apache.pekko.http.javadsl.model.headers.Authorization;
import org.apache.pekko.http.javadsl.model.headers.HttpCredentials;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.settings.ConnectionPoolSettings;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.util.ByteString;

/**
 * Fronts one inference server for one model. It pulls work: while its server has room it sends {@link
 * QueueCommand.Demand} to the model's queue, with a {@link LoadSnapshot} of its live load. On {@link
 * AgentCommand.Assign} it accepts (and calls the server) or refuses (its fresh view no longer fits).
 *
 * <p>A streamed answer is handed to the request actor as a {@link SourceRef} once its first event arrived, so a
 * server that fails before that is a retryable failure, invisible to the client. Cancelling the {@code SourceRef}
 * (the client went away) cancels the server call, which closes its connection: vLLM then aborts the generation.
 */
public final class GpuAgent extends AbstractBehavior<AgentCommand> {

  private enum Tick implements AgentCommand { SCRAPE, DEMAND, DRAINED }

  private record Scraped(Optional<ServerLoad> load, Optional<Throwable> failure) implements AgentCommand {}

  private record Responded(String ticketId, HttpResponse response) implements AgentCommand {}

  private record CallFailed(String ticketId, Throwable cause) implements AgentCommand {}

  /**
   * @param answered whether the server's first event is an answer's, not the stream breaking or ending first
   * @param responseId the Responses API's id for the answer, read from its first event; null otherwise
   */
  private record FirstEvent(String ticketId, boolean answered, String responseId) implements AgentCommand {}

  /** The edge handed over the upload this call sends. */
  private record UploadOpened(String ticketId, RequestCommand.Upload upload) implements AgentCommand {}

  /** The upload could not be had: the request is gone (its client left) or its edge cannot be reached. */
  private record UploadLost(String ticketId, Throwable cause) implements AgentCommand {}

  private record WholeBody(String ticketId, int status, String contentType, ByteString body) implements AgentCommand {}

  /**
   * @param status what the call came to, as in {@link UsageRecord#status()}
   * @param events the events a stream passed (what a cut stream's client got: one token each)
   */
  private record CallEnded(String ticketId, int status, Usage usage, long events) implements AgentCommand {}

  /** The deadline of a call's first event (also its timer key). */
  private record FirstEventDue(String ticketId) implements AgentCommand {}

  public static Behavior<AgentCommand> create(ServerSpec spec, RecipientRef<QueueCommand> queue,
      AgentSettings settings) {
    return create(spec, queue, settings, usage -> {});
  }

  /** @param usage gets the account of every call the server answered */
  public static Behavior<AgentCommand> create(ServerSpec spec, RecipientRef<QueueCommand> queue,
      AgentSettings settings, Consumer<UsageRecord> usage) {
    return create(spec, queue, settings, usage, ConcurrentHashMap.newKeySet());
  }

  /**
   * @param localAgents the agents of this node, which the node drains when it leaves; this one is in it while it
   *     runs
   */
  public static Behavior<AgentCommand> create(ServerSpec spec, RecipientRef<QueueCommand> queue,
      AgentSettings settings, Consumer<UsageRecord> usage, Set<ActorRef<AgentCommand>> localAgents) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      localAgents.add(ctx.getSelf());
      return new GpuAgent(ctx, timers, spec, queue, settings, usage, () -> localAgents.remove(ctx.getSelf()));
    }));
  }

  private ServerSpec spec;
  private final RecipientRef<QueueCommand> queue;
  private AgentSettings settings;
  private final TimerScheduler<AgentCommand> timers;
  private final Materializer materializer;
  private final Http http;
  private ConnectionPoolSettings pool;
  private final Map<String, ServerCall> calls = new HashMap<>();
  /** Batch lines' answers, kept 10 minutes (64 MiB at most) for a line sent again after its batch's node died. */
  private final AnsweredLines answeredLines = new AnsweredLines(64L * 1024 * 1024, 10 * 60_000L);
  private final Consumer<UsageRecord> usageSink;
  private final Runnable onStop;
  /** Set by {@link AgentCommand.Drain}: no more demand; who waits for the last call to end. */
  private boolean draining;
  private final List<AgentCommand.Drain> drainWaiters = new java.util.ArrayList<>();
  private final EnergyMeter meter = new EnergyMeter(System::nanoTime);
  private final AgentMetrics metrics;
  private final LiveLoad liveLoad = new LiveLoad();
  private long assignsSeen;
  private final ServerHealth health;
  private static final Duration UPLOAD_TIMEOUT = Duration.ofSeconds(10);
  private final ServerScrape scrape;

  private GpuAgent(ActorContext<AgentCommand> ctx, TimerScheduler<AgentCommand> timers, ServerSpec spec,
      RecipientRef<QueueCommand> queue, AgentSettings settings, Consumer<UsageRecord> usageSink, Runnable onStop) {
    super(ctx);
    this.usageSink = usageSink;
    this.onStop = onStop;
    this.spec = spec;
    this.queue = queue;
    this.settings = settings;
    this.timers = timers;
    this.materializer = Materializer.createMaterializer(ctx);
    this.http = Http.get(ctx.getSystem());
    int max = spec.server().maxParallelRequests();
    this.pool = pool(ctx, max);
    this.metrics = new AgentMetrics(spec.model(), spec.serverId(), spec.server().organization(),
        spec.server().datacenter());
    this.scrape = new ServerScrape(http, materializer, ServerScrape.TIMEOUT);
    this.health = new ServerHealth(spec.hasMetrics(), settings.unhealthyBackoff(), System::currentTimeMillis);
    if (spec.hasMetrics()) {
      timers.startTimerWithFixedDelay(Tick.SCRAPE, Duration.ZERO, settings.scrapeInterval());
    }
    timers.startTimerWithFixedDelay(Tick.DEMAND, settings.demandInterval());
    ctx.getLog().info("agent for {} ({}, {} parallel) started", spec.serverId(), spec.server().type(), max);
    demand();
  }

  @Override
  public Receive<AgentCommand> createReceive() {
    return newReceiveBuilder()
        .onMessage(AgentCommand.Assign.class, this::onAssign)
        .onMessage(AgentCommand.CancelCall.class, this::onCancel)
        .onMessageEquals(Tick.SCRAPE, this::onScrapeTick)
        .onMessageEquals(Tick.DEMAND, () -> {
          demand();
          return this;
        })
        .onMessage(Scraped.class, this::onScraped)
        .onMessage(Responded.class, this::onResponded)
        .onMessage(CallFailed.class, this::onCallFailed)
        .onMessage(FirstEvent.class, this::onFirstEvent)
        .onMessage(WholeBody.class, this::onWholeBody)
        .onMessage(CallEnded.class, this::onCallEnded)
        .onMessage(FirstEventDue.class, this::onFirstEventDue)
        .onMessage(UploadOpened.class, this::onUploadOpened)
        .onMessage(UploadLost.class, this::onUploadLost)
        .onMessage(AgentCommand.Drain.class, this::onDrain)
        .onMessage(AgentCommand.Reconfigure.class, this::onReconfigure)
        .onMessageEquals(Tick.DRAINED, this::drainedIfIdle)
        .onSignal(PostStop.class, stop -> {
          metrics.remove();
          onStop.run();
          return this;
        })
        .build();
  }

  /** One connection per open call (streams hold theirs); max-open-requests must be a power of two. */
  private static ConnectionPoolSettings pool(ActorContext<AgentCommand> ctx, int max) {
    return ConnectionPoolSettings.create(ctx.getSystem().classicSystem())
        .withMaxConnections(max)
        .withMaxOpenRequests(Integer.highestOneBit(Math.max(2, max * 2 - 1)) << 1);
  }

  private Behavior<AgentCommand> onReconfigure(AgentCommand.Reconfigure change) {
    ServerSpec next = new ServerSpec(spec.serverId(), spec.model(), change.server());
    if (!next.equals(spec)) {
      getContext().getLog().info("agent for {}: configuration changed (max_parallel_requests {} -> {}), {} call(s) "
          + "in flight go on", spec.serverId(), spec.server().maxParallelRequests(),
          next.server().maxParallelRequests(), calls.size());
      if (next.server().maxParallelRequests() != spec.server().maxParallelRequests()) {
        pool = pool(getContext(), next.server().maxParallelRequests());
      }
      spec = next;
      settings = settings.withEnergy(settings.energy().withWatts(next.server().servingWatts()));
      demand();
    }
    return this;
  }

  private Behavior<AgentCommand> onDrain(AgentCommand.Drain drain) {
    if (!draining) {
      draining = true;
      getContext().getLog().info("agent for {} draining: {} call(s) in flight", spec.serverId(), calls.size());
      queue.tell(new QueueCommand.DemandWithdrawn(spec.serverId()));
    }
    drainWaiters.add(drain);
    return drainedIfIdle();
  }

  private Behavior<AgentCommand> drainedIfIdle() {
    if (!draining || !calls.isEmpty()) {
      return this;
    }
    boolean stop = false;
    for (AgentCommand.Drain d : drainWaiters) {
      if (d.replyTo() != null) {
        d.replyTo().tell(org.apache.pekko.Done.getInstance());
      }
      stop |= d.stopWhenIdle();
    }
    drainWaiters.clear();
    return stop ? Behaviors.stopped() : this;
  }

  // ---- demand and assignment

  private int freeSlots() {
    return state() == ServerState.READY ? spec.server().maxParallelRequests() - calls.size() : 0;
  }

  /** Why this agent takes work or not (see {@link LoadSnapshot#state()}). */
  private ServerState state() {
    if (draining) {
      return ServerState.DRAINING;
    }
    if (!health.healthy()) {
      return ServerState.UNHEALTHY;
    }
    if (health.endpointMissing()) {
      return ServerState.ENDPOINT_MISSING;
    }
    if (liveLoad.kvCacheFull(settings.kvCacheHighWater())) {
      return ServerState.KV_CACHE_FULL;
    }
    if (liveLoad.backlogged(spec.server().maxWaiting())) {
      return ServerState.BACKLOG;
    }
    return calls.size() >= spec.server().maxParallelRequests() ? ServerState.FULL : ServerState.READY;
  }

  private void demand() {
    metrics.observe(state(), calls.size(), spec.server().maxParallelRequests());
    LoadSnapshot snapshot =
        liveLoad.snapshot(calls.values(), spec.server().maxParallelRequests(), state(), System.currentTimeMillis());
    queue.tell(new QueueCommand.Demand(spec.serverId(), getContext().getSelf(), spec.server().organization(),
        spec.server().datacenter(), freeSlots(), assignsSeen, snapshot));
  }

  private Behavior<AgentCommand> onAssign(AgentCommand.Assign assign) {
    assignsSeen++;
    DispatchTicket ticket = assign.ticket();
    Optional<RequestCommand.Whole> kept = ticket.info().batch()
        ? answeredLines.find(ticket.id(), System.currentTimeMillis()) : Optional.empty();
    if (kept.isPresent() && !calls.containsKey(ticket.id())) {
      // Answered already: its batch's node died before writing it down. The server does not compute it again.
      assign.queue().tell(new QueueCommand.AssignAccepted(ticket.id(), spec.serverId()));
      ticket.requester().tell(new RequestCommand.Started(ticket.id(), spec.serverId(), getContext().getSelf()));
      ticket.requester().tell(kept.get());
      return this;
    }
    if (freeSlots() == 0 || calls.containsKey(ticket.id())) {
      assign.queue().tell(new QueueCommand.AssignRefused(ticket.id(), spec.serverId()));
      return this;
    }
    ServerCall call = new ServerCall(ticket);
    call.energyMark = meter.start();
    calls.put(ticket.id(), call);
    assign.queue().tell(new QueueCommand.AssignAccepted(ticket.id(), spec.serverId()));
    ticket.requester().tell(new RequestCommand.Started(ticket.id(), spec.serverId(), getContext().getSelf()));
    if (ticket.call().bodyAtEdge()) {
      getContext().ask(RequestCommand.Upload.class, ticket.requester(), UPLOAD_TIMEOUT,
          replyTo -> new RequestCommand.OpenBody(ticket.id(), replyTo),
          (upload, failure) -> upload != null ? new UploadOpened(ticket.id(), upload)
              : new UploadLost(ticket.id(), failure));
    } else {
      send(ticket, HttpEntities.create(ContentTypes.APPLICATION_JSON, ticket.call().body()));
    }
    FirstEventDue due = new FirstEventDue(ticket.id());
    timers.startSingleTimer(due, due,
        ticket.call().stream() ? settings.firstEventTimeout() : settings.wholeAnswerTimeout());
    return this;
  }

  private void send(DispatchTicket ticket, RequestEntity entity) {
    HttpRequest request = HttpRequest.POST(spec.server().url() + ticket.call().path())
        .withEntity(entity)
        // vLLM takes this as its request id: the same id in our logs and the server's.
        .addHeader(RawHeader.create("X-Request-Id", ticket.id()));
    CompletionStage<HttpResponse> response = CommonPool.bypassed(http.singleRequest(withServerToken(request),
        http.defaultClientHttpsContext(), pool,
        getContext().getSystem().classicSystem().log()));
    getContext().pipeToSelf(response, (r, failure) ->
        failure == null ? new Responded(ticket.id(), r) : new CallFailed(ticket.id(), failure));
  }

  /** The upload streams from the edge's disk to the server as the server reads it. */
  private Behavior<AgentCommand> onUploadOpened(UploadOpened opened) {
    ServerCall call = calls.get(opened.ticketId());
    if (call != null && !call.cancelled) {
      UpstreamCall c = call.ticket.call();
      send(call.ticket, HttpEntities.create(ContentTypes.parse(c.contentType()), c.bodyBytes(),
          opened.upload().bytes().getSource()));
    }
    return this;
  }

  private Behavior<AgentCommand> onUploadLost(UploadLost lost) {
    ServerCall call = calls.get(lost.ticketId());
    if (call != null) {
      getContext().getLog().info("call {} dropped: its upload could not be had from its edge ({})",
          lost.ticketId(), lost.cause().getMessage());
      call.ticket.requester().tell(new RequestCommand.UpstreamFailed(lost.ticketId(), spec.serverId(), false,
          "the upload could not be read from the edge"));
      endCall(lost.ticketId());
    }
    return this;
  }

  /** A server that accepted a call and said nothing since is stalled: retry elsewhere, take it out for a while. */
  private Behavior<AgentCommand> onFirstEventDue(FirstEventDue due) {
    ServerCall call = calls.get(due.ticketId());
    if (call != null && !call.answered) {
      call.cancelled = true;
      if (call.killSwitch != null) {
        call.killSwitch.abort(new RuntimeException("the server stalled"));
      }
      failRetryably(call, "the server stalled: nothing within "
          + (call.ticket.call().stream() ? settings.firstEventTimeout() : settings.wholeAnswerTimeout()).toSeconds()
          + " s");
    }
    return this;
  }

  private Behavior<AgentCommand> onCancel(AgentCommand.CancelCall cancel) {
    ServerCall call = calls.get(cancel.ticketId());
    if (call != null && call.ticket.info().batch() && !call.ticket.call().stream()) {
      // A batch line's answer is kept: the line comes back (its batch moved to another node) and is answered from it.
      return this;
    }
    if (call != null) {
      call.cancelled = true;
      if (call.killSwitch != null) {
        call.killSwitch.abort(new RuntimeException("the client went away"));
      }
    }
    return this;
  }

  // ---- the server call

  private Behavior<AgentCommand> onResponded(Responded responded) {
    ServerCall call = calls.get(responded.ticketId());
    HttpResponse response = responded.response();
    if (call == null || call.cancelled) {
      response.discardEntityBytes(materializer);
      endCall(responded.ticketId());
      return this;
    }
    int status = response.status().intValue();
    if (status >= 500) {
      response.discardEntityBytes(materializer);
      failRetryably(call, "server answered " + status);
      return this;
    }
    String ticketId = responded.ticketId();
    if (status == 404) {
      getContext().pipeToSelf(CommonPool.bypassed(response.entity().toStrict(10_000, materializer)),
          (strict, failure) -> failure == null
              ? new WholeBody(ticketId, status, "application/json", strict.getData())
              : new CallFailed(ticketId, failure));
      return this;
    }
    if (status >= 300 || !call.ticket.call().stream()) {
      String contentType = response.entity().getContentType().toString();
      getContext().pipeToSelf(CommonPool.bypassed(response.entity().toStrict(60_000, materializer)),
          (strict, failure) -> failure == null ? new WholeBody(ticketId, status, contentType, strict.getData())
              : new CallFailed(ticketId, failure));
      return this;
    }
    // One graph from the server's bytes to the hand-over, materialized now: the first event is seen as it passes,
    // and the answer is read ahead until the request actor's side collects the SourceRef.
    ActorRef<AgentCommand> self = getContext().getSelf();
    boolean responses = call.ticket.call().isResponses();
    CompletionStage<ServerEvents.Ended> ended = call.stream(response.entity().getDataBytes(), settings.maxEventBytes(),
        settings.energy(), meter, first -> self.tell(new FirstEvent(ticketId, first != SseEvents.BROKEN_STREAM_END,
            responses ? SseEvents.responseIdOf(first).orElse(null) : null)),
        materializer);
    getContext().pipeToSelf(ended, (e, failure) -> e != null
        ? new CallEnded(ticketId, call.status(e), e.usage(), e.events())
        : new CallEnded(ticketId, 502, Usage.NONE, 0));
    return this;
  }

  private Behavior<AgentCommand> onFirstEvent(FirstEvent first) {
    ServerCall call = calls.get(first.ticketId());
    if (call == null) {
      return this;
    }
    if (call.cancelled) {
      // The client left before its first token and the call was aborted on its word: the server did not fail.
      return onCallEnded(new CallEnded(first.ticketId(), 499, Usage.NONE, 0));
    }
    if (!first.answered()) {
      call.killSwitch.abort(new RuntimeException("the server ended the stream before its first event"));
      failRetryably(call, "server ended the stream before its first event");
      return this;
    }
    answered(call);
    if (first.responseId() != null) {
      queue.tell(new QueueCommand.ResponseStored(first.responseId(), spec.serverId()));
    }
    call.ticket.requester().tell(new RequestCommand.Streaming(first.ticketId(), spec.serverId(), 200, call.answer));
    return this;
  }

  private Behavior<AgentCommand> onWholeBody(WholeBody whole) {
    ServerCall call = calls.get(whole.ticketId());
    if (call == null) {
      return this;
    }
    if (whole.status() == 404 && SseEvents.isUnknownRoute(whole.body())) {
      // Not the client's error: this server does not serve its model's path. Another server may.
      String path = call.ticket.call().path();
      getContext().getLog().warn("server {} answers 404 on {}: it does not serve model {}'s type; no work for it "
          + "for {} s", spec.serverId(), path, spec.model(), ServerHealth.ENDPOINT_RETRY.toSeconds());
      health.endpointMissingFromNow();
      call.ticket.requester().tell(new RequestCommand.UpstreamFailed(call.ticket.id(), spec.serverId(), true,
          "server answered 404 on " + path));
      endCall(call.ticket.id());
      queue.tell(new QueueCommand.DemandWithdrawn(spec.serverId()));
      return this;
    }
    answered(call);
    if (whole.status() < 300 && call.ticket.call().isResponses()) {
      SseEvents.responseIdOf(whole.body()).ifPresent(id ->
          queue.tell(new QueueCommand.ResponseStored(id, spec.serverId())));
    }
    byte[] body = whole.body().toArray();
    Usage usage = whole.status() < 300
        ? SseEvents.parseUsage(whole.body().utf8String()).orElse(Usage.NONE) : Usage.NONE;
    if (usage != Usage.NONE && whole.contentType().startsWith("application/json")) {
      call.impact = settings.energy().of(meter.shareSince(call.energyMark), usage.completionTokens());
      String told = SseEvents.withImpact(whole.body().utf8String(), call.impact, settings.energy().knowsEmissions());
      if (told != null) {
        body = told.getBytes(java.nio.charset.StandardCharsets.UTF_8);
      }
    }
    RequestCommand.Whole answer =
        new RequestCommand.Whole(whole.ticketId(), spec.serverId(), whole.status(), whole.contentType(), body);
    if (call.ticket.info().batch() && whole.status() < 500) {
      answeredLines.keep(answer, System.currentTimeMillis());
    }
    call.ticket.requester().tell(answer);
    return onCallEnded(new CallEnded(whole.ticketId(), whole.status(), usage, 0));
  }

  private Behavior<AgentCommand> onCallFailed(CallFailed failed) {
    ServerCall call = calls.get(failed.ticketId());
    if (call != null) {
      if (call.cancelled) {
        endCall(failed.ticketId());
      } else {
        failRetryably(call, "server call failed: " + failed.cause().getMessage());
      }
    }
    return this;
  }

  private Behavior<AgentCommand> onCallEnded(CallEnded ended) {
    ServerCall call = calls.get(ended.ticketId());
    if (call != null && !call.answered && !call.cancelled && call.ticket.call().stream()) {
      // A body that ended before any event (the stream breaking is an event): the server failed.
      failRetryably(call, "server ended the stream before its first event");
      return this;
    }
    if (call != null) {
      String outcome = ended.status() < 300 ? "completed" : ended.status() == 499 ? "cancelled" : "interrupted";
      String endpoint = call.ticket.call().path().substring(4);
      long now = System.currentTimeMillis();
      UsageRecord record = call.usageRecord(spec, ended.status(), ended.usage(), ended.events(), settings.energy(),
          meter, now);
      usageSink.accept(record);
      metrics.callEnded(endpoint, outcome, ended.usage(), record.audioSeconds(), record);
      liveLoad.streamEnded(call, ended.status(), ended.usage(), ended.events(), now);
    }
    endCall(ended.ticketId());
    return this;
  }

  private HttpRequest withServerToken(HttpRequest request) {
    String token = spec.server().bearerToken();
    return token == null || token.isEmpty() ? request
        : request.addHeader(Authorization.create(HttpCredentials.createOAuth2BearerToken(token)));
  }

  private void failRetryably(ServerCall call, String reason) {
    getContext().getLog().warn("server {} failed a call before its first byte: {}", spec.serverId(), reason);
    health.failed();
    call.ticket.requester().tell(new RequestCommand.UpstreamFailed(call.ticket.id(), spec.serverId(), true, reason));
    endCall(call.ticket.id());
    queue.tell(new QueueCommand.DemandWithdrawn(spec.serverId()));
  }

  private void endCall(String ticketId) {
    ServerCall ended = calls.remove(ticketId);
    if (ended != null) {
      meter.end(ended.energyMark);
      demand();
      if (draining && calls.isEmpty()) {
        getContext().getSelf().tell(Tick.DRAINED);
      }
    }
  }

  private void answered(ServerCall call) {
    call.answered = true;
    health.answered();
    timers.cancel(new FirstEventDue(call.ticket.id()));
    observeFirstEvent(call);
  }

  private void observeFirstEvent(ServerCall call) {
    call.firstEventMillis = System.currentTimeMillis();
    double seconds = (System.nanoTime() - call.startNanos) / 1e9;
    if (call.ticket.call().stream()) {
      // A call that is not streamed answers when it is whole: its wait says nothing of the first token.
      liveLoad.firstToken(seconds);
    }
    long sinceArrival = System.currentTimeMillis() - call.ticket.info().arrivalMillis();
    metrics.firstEvent(Math.round(seconds * 1e9), sinceArrival * 1_000_000L, call.ticket.info().priority());
  }

  // ---- scraping

  private Behavior<AgentCommand> onScrapeTick() {
    scrape.start(withServerToken(HttpRequest.GET(spec.server().url() + "/metrics"))).ifPresent(load ->
        getContext().pipeToSelf(load, (l, failure) ->
            new Scraped(Optional.ofNullable(l), Optional.ofNullable(failure))));
    return this;
  }

  private Behavior<AgentCommand> onScraped(Scraped scraped) {
    scrape.ended();
    scraped.load().ifPresent(l -> {
      metrics.scraped(l);
      if (liveLoad.scraped(l, calls.values(), System.currentTimeMillis())) {
        demand(); // the queue hears at once that the server queues
      }
    });
    if (scraped.failure().isPresent()) {
      liveLoad.scrapeFailed();
    }
    switch (health.scraped(scraped.failure().isEmpty())) {
      case STOPPED_ANSWERING -> getContext().getLog().warn(
          "server {} does not answer its metrics: no work for it until it does ({})", spec.serverId(),
          scraped.failure().get().getMessage());
      case ANSWERING_AGAIN -> {
        getContext().getLog().info("server {} answers its metrics again", spec.serverId());
        demand();
      }
      case FIRST_ANSWER -> demand();
      case UNCHANGED -> { }
    }
    return this;
  }
}
