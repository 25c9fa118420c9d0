package org.aiguillage.protocol.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import org.aiguillage.protocol.WireNames;

/** Who applies a request's priority: the dispatcher alone, or vLLM too (its own priority field). */
public enum PriorityHandler {
  DISPATCHER("dispatcher"),
  VLLM("vllm");

  private final String wireName;

  PriorityHandler(String wireName) {
    this.wireName = wireName;
  }

  /** As the YAML, the admin API and the journal write it. */
  @JsonValue
  public String wireName() {
    return wireName;
  }

  /** @throws IllegalArgumentException naming the accepted values */
  @JsonCreator
  public static PriorityHandler fromWireName(String name) {
    return WireNames.of(values(), PriorityHandler::wireName, name);
  }

  @Override
  public String toString() {
    return wireName;
  }
}
