package org.aiguillage.agents;

import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.UnaryOperator;
import org.aiguillage.agents.SseEvents.Usage;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.FlowShape;
import org.apache.pekko.stream.Inlet;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.stage.AbstractGraphStageWithMaterializedValue;
import org.apache.pekko.stream.stage.AbstractInHandler;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.GraphStageLogic;
import org.apache.pekko.util.ByteString;

/**
 * A server's SSE body on its way to the client, in one stage: the bytes pass through in the chunks the connection
 * read them in (cut only at an event's end, so that no element ends inside an event), while the stage sees what the
 * dispatcher needs of them: the first event (the hand-over, the time to first token), the number of events, and the
 * usage chunk (kept for the account, dropped when the client did not ask for it, or told the call's energy).
 *
 * <p>Nothing is decoded on the way but the usage chunk: an element is scanned for its events' ends and for the bytes
 * of {@code "usage"}, and pushed as it came. The stage pulls from the server without waiting for the client's side:
 * the answer flows (up to {@link #maxPendingBytes} kept) before anyone collects it, which is how its first event is
 * seen before the hand-over; what waits for a slow client is passed on as one element.
 *
 * <p>A server that fails mid-answer ends the stream in-band ({@link SseEvents#BROKEN_STREAM_END}), after the events
 * it sent: a failure travelling as a failure would overtake them.
 */
final class ServerEvents extends AbstractGraphStageWithMaterializedValue<FlowShape<ByteString, ByteString>,
    CompletionStage<ServerEvents.Ended>> {

  /** What the call's answer came to, when its stream ended. */
  record Ended(long events, Usage usage, boolean interrupted, Throwable cancelCause) {}

  /** Told from the stream's thread (an actor's {@code tell} is what fits). */
  interface Listener {
    /**
     * The first element is on its way.
     *
     * @param firstEvent the first event, or {@link SseEvents#BROKEN_STREAM_END} if the server failed first
     */
    void firstEvent(ByteString firstEvent);

    /** The usage chunk: what goes to the client in its place (empty: nothing). */
    ByteString usage(ByteString event, Usage usage);
  }

  private static final byte LF = '\n';
  private static final ByteString SEPARATOR = ByteString.fromString("\n\n");

  private final Inlet<ByteString> in = Inlet.create("ServerEvents.in");
  private final Outlet<ByteString> out = Outlet.create("ServerEvents.out");
  private final FlowShape<ByteString, ByteString> shape = FlowShape.of(in, out);
  private final int maxEventBytes;
  private final int maxPendingBytes;
  private final Listener listener;

  /**
   * @param maxEventBytes an event longer than this ends the answer as a failing server's
   * @param maxPendingBytes what is read ahead of the client's side
   */
  ServerEvents(int maxEventBytes, int maxPendingBytes, Listener listener) {
    this.maxEventBytes = maxEventBytes;
    this.maxPendingBytes = maxPendingBytes;
    this.listener = listener;
  }

  @Override
  public FlowShape<ByteString, ByteString> shape() {
    return shape;
  }

  @Override
  public Pair<GraphStageLogic, CompletionStage<Ended>> createLogicAndMaterializedValuePair(Attributes attributes) {
    CompletableFuture<Ended> ended = new CompletableFuture<>();
    GraphStageLogic logic = new GraphStageLogic(shape) {
      /** The start of an event the server has not finished sending. */
      private ByteString carry = ByteString.emptyByteString();
      /** Events read, not yet pushed. */
      private ByteString pending = ByteString.emptyByteString();
      private boolean firstSeen;
      private long events;
      private Usage usage = Usage.NONE;
      private boolean interrupted;
      private boolean upstreamDone;

      {
        setHandler(in, new AbstractInHandler() {
          @Override
          public void onPush() {
            ByteString chunk = grab(in);
            byte[] bytes = (carry.isEmpty() ? chunk : carry.concat(chunk)).toArrayUnsafe();
            ByteString data = ByteString.fromArrayUnsafe(bytes);
            int end = lastEventEnd(bytes);
            if (end < 0) {
              carry = data;
              if (carry.length() > maxEventBytes) {
                broken();
                return;
              }
            } else if (end == bytes.length) {
              carry = ByteString.emptyByteString();
              passOn(data, bytes);
            } else {
              carry = data.drop(end);
              ByteString events = data.take(end);
              passOn(events, events.toArrayUnsafe());
            }
            flush();
            pullIfRoom();
          }

          @Override
          public void onUpstreamFinish() {
            if (!carry.isEmpty() && !isBlank(carry)) {
              // A last event without its blank line: the server closed the body; it is still an event.
              ByteString last = carry.concat(SEPARATOR);
              passOn(last, last.toArrayUnsafe());
            }
            carry = ByteString.emptyByteString();
            upstreamDone = true;
            flush();
            finishIfDone();
          }

          @Override
          public void onUpstreamFailure(Throwable cause) {
            broken();
          }
        });
        setHandler(out, new AbstractOutHandler() {
          @Override
          public void onPull() {
            flush();
            if (upstreamDone) {
              finishIfDone();
            } else {
              pullIfRoom();
            }
          }

          @Override
          public void onDownstreamFinish(Throwable cause) throws Exception {
            ended.complete(new Ended(events, usage, interrupted, cause));
            super.onDownstreamFinish(cause);
          }
        });
      }

      @Override
      public void preStart() {
        pull(in);
      }

      @Override
      public void postStop() {
        // Whichever way it stopped (an abort, the materializer shutting down), the call is told.
        ended.complete(new Ended(events, usage, interrupted, null));
      }

      /** The server failed (or sent an event too long to keep): what it sent stands, then the in-band end. */
      private void broken() {
        interrupted = true;
        carry = ByteString.emptyByteString();
        if (!firstSeen) {
          firstSeen = true;
          listener.firstEvent(SseEvents.BROKEN_STREAM_END);
        }
        pending = pending.concat(SseEvents.BROKEN_STREAM_END);
        if (!isClosed(in)) {
          cancel(in);
        }
        upstreamDone = true;
        flush();
        finishIfDone();
      }

      /** Whole events ({@code bytes} are the block's): counted, their usage read, on their way. */
      private void passOn(ByteString block, byte[] bytes) {
        if (!firstSeen) {
          firstSeen = true;
          int firstEnd = SseEvents.firstEventEnd(block);
          listener.firstEvent(firstEnd < 0 || firstEnd == block.length() ? block : block.take(firstEnd));
        }
        events += countEvents(bytes);
        if (SseEvents.mentionsUsage(bytes)) {
          block = withUsageRead(block);
        }
        if (!block.isEmpty()) {
          pending = pending.isEmpty() ? block : pending.concat(block);
        }
      }

      /** The block with its usage chunk as the listener wants it; the usage kept. */
      private ByteString withUsageRead(ByteString block) {
        ByteString result = ByteString.emptyByteString();
        for (ByteString event : SseEvents.split(block)) {
          Optional<Usage> read = SseEvents.usageOf(event);
          if (read.isPresent()) {
            usage = read.get();
            event = listener.usage(event, usage);
          }
          result = result.concat(event);
        }
        return result;
      }

      private void flush() {
        if (!pending.isEmpty() && isAvailable(out)) {
          ByteString next = pending;
          pending = ByteString.emptyByteString();
          push(out, next);
        }
      }

      private void pullIfRoom() {
        if (!upstreamDone && !hasBeenPulled(in) && !isClosed(in) && pending.length() < maxPendingBytes) {
          pull(in);
        }
      }

      private void finishIfDone() {
        if (pending.isEmpty()) {
          ended.complete(new Ended(events, usage, interrupted, null));
          completeStage();
        }
      }
    };
    return Pair.create(logic, ended);
  }

  /** The index just past the last blank line ("\n\n") in the bytes, or -1 if they have none. */
  static int lastEventEnd(byte[] bytes) {
    for (int i = bytes.length - 1; i > 0; i--) {
      if (bytes[i] == LF && bytes[i - 1] == LF) {
        return i + 1;
      }
    }
    return -1;
  }

  /** Blank lines ending a non-empty event. */
  static int countEvents(byte[] bytes) {
    int n = 0;
    boolean content = false;
    for (int i = 0; i < bytes.length; i++) {
      if (bytes[i] == LF) {
        if (i > 0 && bytes[i - 1] == LF) {
          if (content) {
            n++;
          }
          content = false;
        }
      } else {
        content = true;
      }
    }
    return n;
  }

  private static boolean isBlank(ByteString data) {
    for (int i = 0; i < data.length(); i++) {
      byte b = data.apply(i);
      if (b != LF && b != '\r' && b != ' ') {
        return false;
      }
    }
    return true;
  }
}
