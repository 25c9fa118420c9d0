package org.aiguillage.actors.accounts;

import java.util.ArrayList;
import java.util.List;
import org.aiguillage.protocol.CborSerializable;

/**
 * A key's rate-limit state as OpenAI reports it in {@code x-ratelimit-*} headers. Null fields: no such limit.
 */
public record RateLimits(
    Integer limitRequests,
    Integer remainingRequests,
    Long resetRequestsMillis,
    Long limitTokens,
    Long remainingTokens,
    Long resetTokensMillis) implements CborSerializable {

  public static final RateLimits NONE = new RateLimits(null, null, null, null, null, null);

  /** Header name and value pairs, as OpenAI names them. */
  public List<String[]> headers() {
    List<String[]> headers = new ArrayList<>();
    if (limitRequests != null) {
      headers.add(new String[] {"x-ratelimit-limit-requests", limitRequests.toString()});
      headers.add(new String[] {"x-ratelimit-remaining-requests", remainingRequests.toString()});
      headers.add(new String[] {"x-ratelimit-reset-requests", duration(resetRequestsMillis)});
    }
    if (limitTokens != null) {
      headers.add(new String[] {"x-ratelimit-limit-tokens", limitTokens.toString()});
      headers.add(new String[] {"x-ratelimit-remaining-tokens", remainingTokens.toString()});
      headers.add(new String[] {"x-ratelimit-reset-tokens", duration(resetTokensMillis)});
    }
    return headers;
  }

  /** OpenAI's way of writing a reset time: {@code 20ms}, {@code 1s}, {@code 6m0s}. */
  static String duration(long millis) {
    if (millis < 1000) {
      return Math.max(0, millis) + "ms";
    }
    long seconds = (millis + 999) / 1000;
    return seconds < 60 ? seconds + "s" : seconds / 60 + "m" + seconds % 60 + "s";
  }
}
