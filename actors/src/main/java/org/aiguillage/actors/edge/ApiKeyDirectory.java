package org.aiguillage.actors.edge;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.aiguillage.protocol.config.TokenConfig;

/**
 * The API keys this node accepts, held as SHA-256 hashes of their secrets: a key is found by hashing what the
 * client presented, so the secrets themselves are never kept, and a lookup's timing depends on the hash, not on how
 * much of a secret an attacker guessed right.
 */
public final class ApiKeyDirectory {

  private final Map<String, ApiKey> byHash = new ConcurrentHashMap<>();

  public static ApiKeyDirectory of(List<TokenConfig> tokens) {
    ApiKeyDirectory directory = new ApiKeyDirectory();
    tokens.forEach(directory::put);
    return directory;
  }

  public void put(TokenConfig token) {
    String hash = hash(token.token());
    byHash.put(hash, new ApiKey("key-" + hash.substring(0, 12), token.name(), token.organization(),
        token.priority(), token.threshold(), token.defaultRoutingMode()));
  }

  public Optional<ApiKey> authenticate(String secret) {
    return Optional.ofNullable(byHash.get(hash(secret)));
  }

  static String hash(String secret) {
    try {
      return HexFormat.of().formatHex(
          MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every JVM", e);
    }
  }
}
