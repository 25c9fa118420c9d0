package org.aiguillage.protocol.batch;

import java.util.List;
import java.util.Map;
import org.aiguillage.protocol.CborSerializable;

/**
 * A batch as OpenAI's Batch API gives it ({@code POST /v1/batches}, {@code GET /v1/batches/{id}}): its status, its
 * files, its counts and the time of each step (seconds since the epoch, null for a step it has not reached).
 *
 * @param errors why validation failed it, line by line (null when it did not fail)
 * @param progress ours: the share of its lines settled, 0 to 1 (OpenAI clients ignore it)
 */
public record BatchObject(
    String id,
    String object,
    String endpoint,
    Errors errors,
    String inputFileId,
    String completionWindow,
    String status,
    String outputFileId,
    String errorFileId,
    long createdAt,
    Long inProgressAt,
    long expiresAt,
    Long finalizingAt,
    Long completedAt,
    Long failedAt,
    Long expiredAt,
    Long cancellingAt,
    Long cancelledAt,
    RequestCounts requestCounts,
    Map<String, String> metadata,
    double progress) implements CborSerializable {

  /** Validation's findings, in OpenAI's list shape. */
  public record Errors(String object, List<LineError> data) implements CborSerializable {
    public Errors(List<LineError> data) {
      this("list", List.copyOf(data));
    }
  }

  /** @param line the input file's line, from 1; null for an error of the whole file */
  public record LineError(String code, String message, String param, Integer line) implements CborSerializable {}

  public record RequestCounts(long total, long completed, long failed) implements CborSerializable {}
}
