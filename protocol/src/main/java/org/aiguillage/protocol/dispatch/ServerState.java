package org.aiguillage.protocol.dispatch;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import org.aiguillage.protocol.WireNames;

/**
 * Why a server's agent takes work or not: {@code ready}; {@code full} (its ceiling of open calls); {@code backlog}
 * (the server queues requests of its own); {@code kv-cache-full}; {@code unhealthy} (failed lately: back-off);
 * {@code draining} (being removed, or its node leaving); {@code endpoint-missing} (it answered 404 on the path its
 * model's type serves: it runs another kind of model, or an engine without that API; it is tried again after a
 * while). Named as the admin API's fleet view shows it.
 */
public enum ServerState {
  READY("ready"),
  FULL("full"),
  BACKLOG("backlog"),
  KV_CACHE_FULL("kv-cache-full"),
  UNHEALTHY("unhealthy"),
  DRAINING("draining"),
  ENDPOINT_MISSING("endpoint-missing");

  private final String wireName;

  ServerState(String wireName) {
    this.wireName = wireName;
  }

  @JsonValue
  public String wireName() {
    return wireName;
  }

  @JsonCreator
  public static ServerState fromWireName(String name) {
    return WireNames.of(values(), ServerState::wireName, name);
  }

  @Override
  public String toString() {
    return wireName;
  }
}
