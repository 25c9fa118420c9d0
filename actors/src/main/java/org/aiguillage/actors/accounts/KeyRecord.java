package org.aiguillage.actors.accounts;

import java.time.DayOfWeek;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.temporal.TemporalAdjusters;
import org.aiguillage.protocol.CborSerializable;

/**
 * A key as its account keeps it: the hash of its secret (never the secret), its settings, its status and its
 * budget consumption in the current period.
 *
 * @param source {@code yaml} (seeded from the configuration at start) or {@code admin}
 */
public record KeyRecord(
    String id,
    String prefix,
    String secretHash,
    KeySettings settings,
    boolean revoked,
    String source,
    long createdAtMillis,
    Long revokedAtMillis,
    long budgetPeriodStartMillis,
    long budgetUsed,
    long audioDayStartMillis,
    double audioSecondsUsed) implements CborSerializable {

  public KeyRecord(String id, String prefix, String secretHash, KeySettings settings, boolean revoked, String source,
      long createdAtMillis, Long revokedAtMillis, long budgetPeriodStartMillis, long budgetUsed) {
    this(id, prefix, secretHash, settings, revoked, source, createdAtMillis, revokedAtMillis, budgetPeriodStartMillis,
        budgetUsed, 0, 0);
  }

  public KeyRecord withSettings(KeySettings newSettings) {
    return new KeyRecord(id, prefix, secretHash, newSettings, revoked, source, createdAtMillis, revokedAtMillis,
        budgetPeriodStartMillis, budgetUsed, audioDayStartMillis, audioSecondsUsed);
  }

  public KeyRecord revokedAt(long atMillis) {
    return new KeyRecord(id, prefix, secretHash, settings, true, source, createdAtMillis, atMillis,
        budgetPeriodStartMillis, budgetUsed, audioDayStartMillis, audioSecondsUsed);
  }

  public KeyRecord withTokensUsed(long tokens, long atMillis) {
    long period = periodStart(settings.budgetPeriod(), atMillis);
    long used = period == budgetPeriodStartMillis ? budgetUsed + tokens : tokens;
    return new KeyRecord(id, prefix, secretHash, settings, revoked, source, createdAtMillis, revokedAtMillis,
        period, used, audioDayStartMillis, audioSecondsUsed);
  }

  public KeyRecord withAudioUsed(double seconds, long atMillis) {
    if (seconds == 0) {
      return this;
    }
    long day = periodStart("day", atMillis);
    double used = day == audioDayStartMillis ? audioSecondsUsed + seconds : seconds;
    return new KeyRecord(id, prefix, secretHash, settings, revoked, source, createdAtMillis, revokedAtMillis,
        budgetPeriodStartMillis, budgetUsed, day, used);
  }

  /** Seconds of audio used in the UTC day that holds {@code nowMillis}. */
  public double audioUsedAt(long nowMillis) {
    return periodStart("day", nowMillis) == audioDayStartMillis ? audioSecondsUsed : 0;
  }

  /** Tokens used in the period that holds {@code nowMillis}. */
  public long budgetUsedAt(long nowMillis) {
    return periodStart(settings.budgetPeriod(), nowMillis) == budgetPeriodStartMillis ? budgetUsed : 0;
  }

  /** Revoked, then expired, then as its operator set it. */
  public KeyStatus status(long nowMillis) {
    if (revoked) {
      return KeyStatus.REVOKED;
    }
    if (settings.expiredAt(nowMillis)) {
      return KeyStatus.EXPIRED;
    }
    return settings.enabled() ? KeyStatus.ACTIVE : KeyStatus.DISABLED;
  }

  /** The start (UTC) of the budget period that holds {@code atMillis}. */
  static long periodStart(String period, long atMillis) {
    LocalDate day = Instant.ofEpochMilli(atMillis).atZone(ZoneOffset.UTC).toLocalDate();
    LocalDate start = switch (period) {
      case "day" -> day;
      case "week" -> day.with(TemporalAdjusters.previousOrSame(DayOfWeek.MONDAY));
      default -> day.withDayOfMonth(1);
    };
    return start.atStartOfDay(ZoneOffset.UTC).toInstant().toEpochMilli();
  }

  static long nextPeriodStart(String period, long atMillis) {
    LocalDate start = Instant.ofEpochMilli(periodStart(period, atMillis)).atZone(ZoneOffset.UTC).toLocalDate();
    LocalDate next = switch (period) {
      case "day" -> start.plusDays(1);
      case "week" -> start.plusWeeks(1);
      default -> start.plusMonths(1);
    };
    return next.atStartOfDay(ZoneOffset.UTC).toInstant().toEpochMilli();
  }
}
