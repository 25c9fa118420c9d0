package org.aiguillage.actors.accounts;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.aiguillage.protocol.accounting.UsageRecord;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * Writes the usage records of the calls ended on this node to the ledger, in batches (one transaction per batch,
 * not per call). Run it on a blocking dispatcher: it waits on the database. A batch the database refuses is kept
 * and tried again, so an outage of the database loses no record while the node lives.
 */
public final class UsageRecorder {

  public sealed interface Command {}

  public record Record(UsageRecord usage) implements Command {}

  /** Write what is buffered now (done on stop too, so a graceful stop loses nothing). */
  public record Flush() implements Command {}

  private static final int MAX_BATCH = 500;
  private static final int MAX_BUFFERED = 100_000;

  private UsageRecorder() {}

  public static Behavior<Command> create(UsageLedger ledger, Duration flushInterval) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      timers.startTimerWithFixedDelay(new Flush(), flushInterval);
      List<UsageRecord> buffer = new ArrayList<>();
      return Behaviors.receive(Command.class)
          .onMessage(Record.class, r -> {
            if (buffer.size() < MAX_BUFFERED) {
              buffer.add(r.usage());
            } else {
              ctx.getLog().error("usage ledger unreachable and {} records waiting: dropping the record of {}",
                  buffer.size(), r.usage().ticketId());
            }
            if (buffer.size() >= MAX_BATCH) {
              flush(ctx, ledger, buffer);
            }
            return Behaviors.same();
          })
          .onMessage(Flush.class, f -> {
            flush(ctx, ledger, buffer);
            return Behaviors.same();
          })
          .onSignal(PostStop.class, stop -> {
            flush(ctx, ledger, buffer);
            return Behaviors.same();
          })
          .build();
    }));
  }

  private static void flush(org.apache.pekko.actor.typed.javadsl.ActorContext<Command> ctx, UsageLedger ledger,
      List<UsageRecord> buffer) {
    if (buffer.isEmpty()) {
      return;
    }
    try {
      ledger.insert(buffer);
      buffer.clear();
    } catch (Exception e) {
      ctx.getLog().warn("cannot write {} usage records yet: {}", buffer.size(), e.getMessage());
    }
  }
}
