package org.aiguillage.protocol.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import org.aiguillage.protocol.WireNames;

/** A model's lifecycle: staging models are seen only by keys that name them; deprecated ones are served with a
 * Deprecation header.
 */
public enum Lifecycle {
  PRODUCTION("production"),
  STAGING("staging"),
  DEPRECATED("deprecated");

  private final String wireName;

  Lifecycle(String wireName) {
    this.wireName = wireName;
  }

  /** As the YAML, the admin API and the journal write it. */
  @JsonValue
  public String wireName() {
    return wireName;
  }

  /** @throws IllegalArgumentException naming the accepted values */
  @JsonCreator
  public static Lifecycle fromWireName(String name) {
    return WireNames.of(values(), Lifecycle::wireName, name);
  }

  @Override
  public String toString() {
    return wireName;
  }
}
