package org.aiguillage.actors.accounts;

import java.time.Instant;
import org.aiguillage.protocol.openai.OpenAiError;

/**
 * The limits of one account (a key's or an organisation's): the exact 60 s windows and the budget, with the tokens
 * settled since the account last wrote them to its journal. Lives in the account entity's memory.
 */
final class Limiter {

  /** What is limited; null: no such limit. */
  record Limits(Integer requestsPerMinute, Long tokensPerMinute, Long tokenBudget, String budgetPeriod) {
    boolean any() {
      return requestsPerMinute != null || tokensPerMinute != null || tokenBudget != null;
    }
  }

  private final RateWindow window = new RateWindow();
  private long unwrittenTokens;
  private long unwrittenCalls;

  /**
   * Admits a call, counting it, or says why not.
   *
   * @param budgetUsed the tokens written to the journal in the current budget period
   * @param whose how the refusal names the account: {@code this key}, {@code organisation univ-a}
   */
  KeyAccount.Admission admit(Limits l, long budgetUsed, String whose, String ticketId, long estimatedTokens,
      long now) {
    window.prune(now);
    Long budget = l.tokenBudget();
    if (budget != null && budgetUsed + unwrittenTokens + window.pendingTokens() >= budget) {
      long untilNext = KeyRecord.nextPeriodStart(l.budgetPeriod(), now) - now;
      return new KeyAccount.Denied(429, OpenAiError.of("You exceeded the token budget of " + whose + ": "
          + budget + " tokens per " + l.budgetPeriod() + "; it renews at " + Instant.ofEpochMilli(now + untilNext)
          + ".", "insufficient_quota", null, "insufficient_quota"), (untilNext + 999) / 1000, limits(l, now));
    }
    Integer rpm = l.requestsPerMinute();
    if (rpm != null && window.requestCount() >= rpm) {
      long reset = window.requestsResetMillis(now);
      return new KeyAccount.Denied(429, OpenAiError.rateLimited("Rate limit reached for requests on " + whose
          + ": limit " + rpm + " per minute. Retry in " + RateLimits.duration(reset) + ".", "rate_limit_exceeded"),
          seconds(reset), limits(l, now));
    }
    Long tpm = l.tokensPerMinute();
    if (tpm != null && estimatedTokens > tpm) {
      return new KeyAccount.Denied(429, OpenAiError.rateLimited("Request too large: it may use " + estimatedTokens
          + " tokens (prompt and max_tokens) and the limit of " + whose + " is " + tpm
          + " tokens per minute. Lower max_tokens or the prompt.", "rate_limit_exceeded"), 0, limits(l, now));
    }
    if (tpm != null && window.tokenCount() + estimatedTokens > tpm) {
      long reset = window.tokensResetMillis(now, tpm, estimatedTokens);
      return new KeyAccount.Denied(429, OpenAiError.rateLimited("Rate limit reached for tokens on " + whose
          + ": limit " + tpm + " per minute, " + window.tokenCount() + " used or reserved, this request may use "
          + estimatedTokens + ". Retry in " + RateLimits.duration(reset) + ".", "rate_limit_exceeded"),
          seconds(reset), limits(l, now));
    }
    if (l.any()) {
      window.admit(ticketId, estimatedTokens, now);
    }
    return new KeyAccount.Admitted(limits(l, now));
  }

  /** A call ended with {@code tokens}; they count against the budget from now on, and are written soon. */
  void settle(String ticketId, long tokens, long now) {
    window.settle(ticketId, tokens, now);
    if (tokens > 0) {
      unwrittenTokens += tokens;
      unwrittenCalls++;
    }
  }

  void release(String ticketId) {
    window.release(ticketId);
  }

  void replay(long tokens, long atMillis, long now) {
    window.replay(tokens, atMillis, now);
  }

  long unwrittenTokens() {
    return unwrittenTokens;
  }

  /** The tokens and calls settled since the last call, which the account is about to write. */
  long[] takeUnwritten() {
    long[] taken = {unwrittenTokens, unwrittenCalls};
    unwrittenTokens = 0;
    unwrittenCalls = 0;
    return taken;
  }

  RateLimits limits(Limits l, long now) {
    Integer rpm = l.requestsPerMinute();
    Long tpm = l.tokensPerMinute();
    return new RateLimits(
        rpm, rpm == null ? null : Math.max(0, rpm - window.requestCount()),
        rpm == null ? null : window.requestsResetMillis(now),
        tpm, tpm == null ? null : Math.max(0, tpm - window.tokenCount()),
        tpm == null ? null : window.tokensResetMillis(now, tpm, 0));
  }

  private static long seconds(long millis) {
    return Math.max(1, (millis + 999) / 1000);
  }
}
