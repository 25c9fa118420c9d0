package org.aiguillage.protocol.config;

/**
 * The admin API's credentials: {@code admin: { token: ... }}, or {@code AIGUILLAGE_ADMIN_TOKEN}. Without a token,
 * {@code /admin} is closed.
 */
public record AdminSettings(String token) {

  public static AdminSettings defaults() {
    return new AdminSettings(null);
  }

  public AdminSettings {
    token = token == null || token.isBlank() ? null : token.trim();
  }

  public boolean open() {
    return token != null;
  }

  @Override
  public String toString() {
    return "AdminSettings[token=" + (token == null ? "none" : "***") + "]";
  }
}
