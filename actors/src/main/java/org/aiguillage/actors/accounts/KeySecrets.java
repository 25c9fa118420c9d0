package org.aiguillage.actors.accounts;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;

/**
 * API key secrets: made by the server, shown once, kept only as a SHA-256 hash. A key's public id comes from its
 * hash, so the edge finds a key's account from the secret a client presents without any index of secrets, and the
 * account compares the full hash in constant time.
 */
public final class KeySecrets {

  private static final SecureRandom RANDOM = new SecureRandom();
  private static final int SECRET_BYTES = 32;

  private KeySecrets() {}

  /** {@code sk-} and 32 random bytes, URL-safe Base64 without padding (43 characters). */
  public static String generate() {
    byte[] bytes = new byte[SECRET_BYTES];
    RANDOM.nextBytes(bytes);
    return "sk-" + Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  public static String hash(String secret) {
    try {
      return HexFormat.of().formatHex(
          MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every JVM", e);
    }
  }

  /** The key's public id: safe to log, show and put in URLs. */
  public static String idOfHash(String hash) {
    return "key-" + hash.substring(0, 12);
  }

  /**
   * What the admin API shows of a secret: its first characters when the server made it (too few to matter out of
   * 43 random ones), nothing of a secret an operator chose (it may be short).
   */
  public static String prefixOf(String secret) {
    return secret.startsWith("sk-") && secret.length() >= 40 ? secret.substring(0, 8) + "..." : "";
  }

  /** Constant-time comparison of two hex hashes: its time does not tell how much of a guess was right. */
  static boolean sameHash(String a, String b) {
    return MessageDigest.isEqual(a.getBytes(StandardCharsets.US_ASCII), b.getBytes(StandardCharsets.US_ASCII));
  }
}
