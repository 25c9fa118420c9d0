package org.aiguillage.loadtest.run;

import java.util.List;

/**
 * What one request of a load test saw. Times are milliseconds from the start of the run (doubles, measured in
 * nanoseconds); {@code chunkTimesMs} are the arrival times of the chunks that carried output, in order.
 *
 * @param label the key class the request was sent with (e.g. {@code low}, {@code high})
 * @param status HTTP status, or 0 when the connection failed
 * @param outputTokens completion tokens as the server reported them (or the content chunks, if it did not)
 * @param responseId the {@code id} of the answer's chunks, as the server made it ("" if none came)
 * @param sentEpochMicros when the request was sent, in microseconds of the machine's wall clock, to match with a
 *     server's own timings on the same machine
 */
public record RequestRecord(
    String label,
    int concurrency,
    double startMs,
    double firstTokenMs,
    double endMs,
    List<Double> chunkTimesMs,
    int promptTokens,
    int outputTokens,
    int status,
    String error,
    String responseId,
    long sentEpochMicros) {

  public boolean ok() {
    return status == 200 && error.isEmpty() && firstTokenMs >= 0;
  }

  public double ttftMs() {
    return firstTokenMs - startMs;
  }

  public double e2eMs() {
    return endMs - startMs;
  }

  /** Time per output token after the first: (E2E - TTFT) / (output tokens - 1); NaN for a single token. */
  public double tpotMs() {
    return outputTokens > 1 ? (endMs - firstTokenMs) / (outputTokens - 1) : Double.NaN;
  }
}
