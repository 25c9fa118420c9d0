package org.aiguillage.loadtest.run;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Turns request records into the figures of a report. Pure: the same records give the same summary. */
public final class LoadMetrics {

  /** Written into every report, so a reader knows what each figure means. */
  public static final String FORMULAS = """
      - TTFT (time to first token) = arrival of the first chunk carrying output - sending of the request.
      - ITL (inter-token latency) = the gap between two successive output chunks of a request, every gap counted.
      - TPOT (time per output token) = (E2E - TTFT) / (output tokens - 1), per request with more than one token.
      - E2E (end-to-end latency) = end of the answer - sending of the request.
      - Output tokens/s = sum of output tokens of completed requests / duration of the measured window.
      - Output tokens/s per user = mean over completed requests of (output tokens - 1) / (E2E - TTFT).
      - Requests/s = completed requests / duration.
      - Goodput = completed requests with TTFT <= TTFT SLO and TPOT <= ITL SLO, per second.
      - Duration = from the first request sent to the last answer ended, in the group.
      - Percentiles interpolate linearly between closest ranks (numpy's default).""";

  private LoadMetrics() {}

  public static Summary summarize(String group, int concurrency, List<RequestRecord> records, double ttftSloMs,
      double itlSloMs) {
    List<RequestRecord> ok = records.stream().filter(RequestRecord::ok).toList();
    double start = records.stream().mapToDouble(RequestRecord::startMs).min().orElse(0);
    double end = records.stream().mapToDouble(RequestRecord::endMs).max().orElse(0);
    double durationS = Math.max(1e-9, (end - start) / 1000);
    long outputTokens = ok.stream().mapToLong(RequestRecord::outputTokens).sum();
    List<Double> itl = new ArrayList<>();
    List<Double> perUser = new ArrayList<>();
    int good = 0;
    for (RequestRecord r : ok) {
      List<Double> t = r.chunkTimesMs();
      for (int i = 1; i < t.size(); i++) {
        itl.add(t.get(i) - t.get(i - 1));
      }
      if (r.outputTokens() > 1 && r.endMs() > r.firstTokenMs()) {
        perUser.add((r.outputTokens() - 1) / ((r.endMs() - r.firstTokenMs()) / 1000));
      }
      double tpot = r.tpotMs();
      if (r.ttftMs() <= ttftSloMs && (Double.isNaN(tpot) || tpot <= itlSloMs)) {
        good++;
      }
    }
    Map<String, Integer> errors = new TreeMap<>();
    for (RequestRecord r : records) {
      if (!r.ok()) {
        errors.merge(r.status() == 0 ? "connection" : Integer.toString(r.status()), 1, Integer::sum);
      }
    }
    return new Summary(group, concurrency, records.size(), ok.size(), durationS, ok.size() / durationS,
        outputTokens / durationS, Percentiles.of(perUser).mean(), good / durationS,
        Percentiles.of(ok.stream().map(RequestRecord::ttftMs).toList()),
        Percentiles.of(itl),
        Percentiles.of(ok.stream().map(RequestRecord::tpotMs).toList()),
        Percentiles.of(ok.stream().map(RequestRecord::e2eMs).toList()),
        errors);
  }
}
