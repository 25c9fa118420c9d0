package org.aiguillage.actors.accounts;

import com.fasterxml.jackson.annotation.JsonValue;

/** Where a key stands now: only an active key is admitted. Shown by the admin API under its wire name. */
public enum KeyStatus {
  ACTIVE("active"),
  DISABLED("disabled"),
  EXPIRED("expired"),
  REVOKED("revoked");

  private final String wireName;

  KeyStatus(String wireName) {
    this.wireName = wireName;
  }

  @JsonValue
  public String wireName() {
    return wireName;
  }

  @Override
  public String toString() {
    return wireName;
  }
}
