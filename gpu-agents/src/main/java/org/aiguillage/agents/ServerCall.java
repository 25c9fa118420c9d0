package org.aiguillage.agents;

import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;
import org.aiguillage.agents.SseEvents.Usage;
import org.aiguillage.protocol.accounting.UsageRecord;
import org.aiguillage.protocol.dispatch.DispatchTicket;
import org.aiguillage.protocol.dispatch.TicketInfo;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.SourceRef;
import org.apache.pekko.stream.StreamRefSubscriptionTimeoutException;
import org.apache.pekko.stream.SubscriptionWithCancelException;
import org.apache.pekko.stream.UniqueKillSwitch;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.StreamRefs;
import org.apache.pekko.util.ByteString;

/**
 * One call to the server, as its agent follows it: its ticket, its timings, its share of the server's energy and,
 * for a streamed answer, the stream from the server's body to the hand-over. The agent's actor owns it; its stream
 * tells it what it saw only through {@link ServerEvents.Ended}, which completes after the stream's last write here
 * ({@link #impact}), so the actor reads that once the end is told, with nothing shared while the stream runs.
 */
final class ServerCall implements ServerEvents.Listener {

  /** What the server's body is read ahead of the client's side. */
  static final int READ_AHEAD_BYTES = 64 * 1024;

  final DispatchTicket ticket;
  final long startNanos = System.nanoTime();
  final long startMillis = System.currentTimeMillis();
  long firstEventMillis = -1;
  /** Where its share of the server's busy time is counted from (see {@link EnergyMeter}). */
  double energyMark;
  /** Its energy and emissions, once its usage was seen: what its client and its usage record are told. */
  CallEnergy.Impact impact;
  UniqueKillSwitch killSwitch;
  /** A streamed answer, materialized when the server's response came and handed over at its first event. */
  SourceRef<ByteString> answer;
  boolean cancelled;
  boolean answered;

  private Consumer<ByteString> onFirstEvent;
  private CallEnergy energy;
  private EnergyMeter meter;

  ServerCall(DispatchTicket ticket) {
    this.ticket = ticket;
  }

  /**
   * Runs the answer's stream: the server's body through {@link ServerEvents} to a {@link SourceRef}, which the
   * agent hands over at the first event.
   *
   * @param onFirstEvent told (from the stream) the first event, or {@link SseEvents#BROKEN_STREAM_END}
   * @return the stream's end
   */
  CompletionStage<ServerEvents.Ended> stream(Source<ByteString, ?> body, int maxEventBytes, CallEnergy energy,
      EnergyMeter meter, Consumer<ByteString> onFirstEvent, Materializer materializer) {
    this.onFirstEvent = onFirstEvent;
    this.energy = energy;
    this.meter = meter;
    Pair<Pair<UniqueKillSwitch, CompletionStage<ServerEvents.Ended>>, SourceRef<ByteString>> started = body
        .viaMat(KillSwitches.single(), Keep.right())
        .viaMat(new ServerEvents(maxEventBytes, READ_AHEAD_BYTES, this), Keep.both())
        .toMat(StreamRefs.sourceRef(), Keep.both())
        .run(materializer);
    killSwitch = started.first().first();
    answer = started.second();
    return started.first().second();
  }

  @Override
  public void firstEvent(ByteString firstEvent) {
    onFirstEvent.accept(firstEvent);
  }

  /** Drops the usage chunk the client did not ask for; else tells it the call's energy (the call is all but over). */
  @Override
  public ByteString usage(ByteString event, Usage usage) {
    if (!ticket.call().clientWantsUsage()) {
      return SseEvents.isUsageOnly(event) ? ByteString.emptyByteString() : event;
    }
    impact = energy.of(meter.shareSince(energyMark), usage.completionTokens());
    return SseEvents.withImpact(event, impact, energy.knowsEmissions());
  }

  /** What a streamed call came to, as in {@link org.aiguillage.protocol.accounting.UsageRecord#status()}. */
  int status(ServerEvents.Ended ended) {
    if (cancelled && ended.usage() == Usage.NONE) {
      return 499; // the client left; aborting the call on its word breaks the stream, which is not the server's doing
    }
    Throwable cause = ended.cancelCause();
    if (cause instanceof StreamRefSubscriptionTimeoutException) {
      return 499; // the answer was handed over and nobody collected it: its client left on the way
    }
    if (ended.interrupted()
        || cause != null && !(cause instanceof SubscriptionWithCancelException.NonFailureCancellation)) {
      return 502;
    }
    // Streams always ask the server for usage, which it sends last: without it, the client cut the stream.
    return ended.usage() == Usage.NONE ? 499 : 200;
  }

  /**
   * The call's usage record, at its end: the tokens the server reported (a cut stream: its events, one token each),
   * and its energy as its client was told it, else as it stands now.
   *
   * @param status what the call came to, as in {@link UsageRecord#status()}
   */
  UsageRecord usageRecord(ServerSpec spec, int status, Usage usage, long events, CallEnergy energy,
      EnergyMeter meter, long nowMillis) {
    long completion = usage == Usage.NONE && status == 499 ? events : usage.completionTokens();
    CallEnergy.Impact told = impact != null ? impact : energy.of(meter.shareSince(energyMark), completion);
    TicketInfo info = ticket.info();
    return new UsageRecord(info.id(), info.keyId(), info.organization(), info.model(), spec.serverId(),
        spec.server().organization(), usage.promptTokens(), completion, Math.max(0, startMillis - info.arrivalMillis()),
        firstEventMillis < 0 ? -1 : Math.max(0, firstEventMillis - info.arrivalMillis()), nowMillis - startMillis,
        status, info.priority(), info.routingMode().wireName(), told.joules(), nowMillis, audioSeconds(usage),
        told.co2eGrams(), told.method());
  }

  /** What a speech-to-text call heard: as its server said, else as the edge read the file's header. */
  private double audioSeconds(Usage usage) {
    return usage.audioSeconds() >= 0 ? usage.audioSeconds() : Math.max(0, ticket.call().audioSeconds());
  }
}
