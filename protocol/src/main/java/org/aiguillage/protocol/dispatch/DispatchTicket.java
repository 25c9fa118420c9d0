package org.aiguillage.protocol.dispatch;

import org.aiguillage.protocol.CborSerializable;
import org.apache.pekko.actor.typed.ActorRef;

/** A ticket as it travels: what to order it by, what to call, and the request actor waiting for the answer. */
public record DispatchTicket(TicketInfo info, UpstreamCall call, ActorRef<RequestCommand> requester)
    implements CborSerializable {

  public String id() {
    return info.id();
  }
}
