package org.aiguillage.protocol.config;

/**
 * The Batch API's settings ({@code batch:} in the YAML). How much of a server batches may fill is a model's
 * ({@code batch_slot_share}).
 *
 * @param maxFileBytes the largest file {@code POST /v1/files} stores (200 MB by default)
 * @param maxLines the most requests one batch file may hold (50,000, as OpenAI)
 * @param linesInFlight how many lines of one batch wait in the queues or run at once: the queue, not this, decides
 *     when a line runs; this bounds what a running batch holds (64 by default)
 * @param priceFactor what a batch line's token counts for in usage reports' {@code billed_tokens} (1 by default;
 *     OpenAI charges batches half: 0.5)
 */
public record BatchSettings(Long maxFileBytes, Integer maxLines, Integer linesInFlight, Double priceFactor) {

  public static BatchSettings defaults() {
    return new BatchSettings(null, null, null, null);
  }

  public BatchSettings {
    maxFileBytes = maxFileBytes == null ? 200L * 1024 * 1024 : maxFileBytes;
    maxLines = maxLines == null ? 50_000 : maxLines;
    linesInFlight = linesInFlight == null ? 64 : linesInFlight;
    priceFactor = priceFactor == null ? 1.0 : priceFactor;
    if (priceFactor < 0) {
      throw new ConfigException("batch.price_factor must not be negative");
    }
    if (maxFileBytes <= 0 || maxLines <= 0 || linesInFlight <= 0) {
      throw new ConfigException("batch: max_file_bytes, max_lines and lines_in_flight must be positive");
    }
  }
}
