package org.aiguillage.protocol.config;

/**
 * Where the node keeps its journal (keys, accounts) and its usage ledger: {@code persistence: { url, user, password
 * }}. The default is an H2 file under {@code ./data}, so a node needs nothing installed; production and CI use
 * PostgreSQL ({@code jdbc:postgresql://...}).
 */
public record PersistenceSettings(String url, String user, String password) {

  public static final String DEFAULT_URL = "jdbc:h2:file:./data/aiguillage";

  public static PersistenceSettings defaults() {
    return new PersistenceSettings(null, null, null);
  }

  public PersistenceSettings {
    url = url == null || url.isBlank() ? DEFAULT_URL : url.trim();
    user = user == null ? (url.startsWith("jdbc:h2:") ? "sa" : "postgres") : user;
    password = password == null ? "" : password;
  }

  public boolean isH2() {
    return url.startsWith("jdbc:h2:");
  }

  public boolean isPostgres() {
    return url.startsWith("jdbc:postgresql:");
  }

  /**
   * The URL as the JDBC driver gets it: on H2, identifiers keep their case (pekko-persistence-jdbc's tables are
   * quoted lower-case names) and an in-memory database lives as long as the JVM.
   */
  public String jdbcUrl() {
    if (!isH2()) {
      return url;
    }
    String u = url;
    if (!u.toUpperCase().contains("DATABASE_TO_UPPER")) {
      u += ";DATABASE_TO_UPPER=false";
    }
    if (u.startsWith("jdbc:h2:mem:") && !u.toUpperCase().contains("DB_CLOSE_DELAY")) {
      u += ";DB_CLOSE_DELAY=-1";
    }
    return u;
  }

  @Override
  public String toString() {
    // The password is a secret; a URL may hold one too, so only its scheme and host part are shown.
    return "PersistenceSettings[url=" + url.replaceAll("password=[^&;]*", "password=***") + ", user=" + user + "]";
  }
}
