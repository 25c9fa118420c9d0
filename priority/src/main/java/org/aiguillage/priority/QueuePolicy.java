package org.aiguillage.priority;

import java.time.Duration;

/**
 * How a {@link TicketQueue} ranks tickets.
 *
 * @param ageingStep every full step a ticket waits raises its effective priority by one, without ceiling, so a
 *     ticket that waited long enough outranks any fresh one; {@link Duration#ZERO} turns ageing off. A batch's
 *     lines do not age: they stay below every interactive ticket
 */
public record QueuePolicy(Duration ageingStep) {

  public static final QueuePolicy NO_AGEING = new QueuePolicy(Duration.ZERO);

  public static QueuePolicy ageingEvery(Duration step) {
    return new QueuePolicy(step);
  }

  public boolean ageing() {
    return !ageingStep.isZero() && !ageingStep.isNegative();
  }

  public int effectivePriority(Ticket ticket, long nowMillis) {
    if (!ageing() || ticket.batch()) {
      return ticket.priority();
    }
    long waited = Math.max(0, nowMillis - ticket.arrivalMillis());
    return ticket.priority() + (int) Math.min(Integer.MAX_VALUE / 2, waited / ageingStep.toMillis());
  }
}
