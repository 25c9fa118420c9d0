package org.aiguillage.agents;

/**
 * How long one engine step of a server lasts against how many requests it runs: {@code base + perCall x running}
 * milliseconds, fitted from the server's own inter-token latency histogram ({@code vllm:inter_token_latency_seconds},
 * v0 {@code vllm:time_per_output_token_seconds}): between two scrapes its sum and count grow by the time and number of
 * the token gaps of that interval, and their ratio is the mean step the requests running then saw, prefill work of
 * new arrivals included.
 *
 * <p>The fit is a least-squares line over the intervals, weighted so that one {@link #HALF_LIFE_SAMPLES} intervals
 * old counts half: a server's curve changes with its prompts, slowly. A line needs intervals at different batch
 * sizes; while the ones it holds are too alike (a server kept at one batch since its curve was last fitted) the last
 * fitted line stands, for {@link #MEMORY_MILLIS}. Nothing is known before a first fit, nor after a server restart
 * until its counters have grown again.
 */
final class StepCurve {

  static final int HALF_LIFE_SAMPLES = 120;
  static final long MEMORY_MILLIS = 300_000;
  /** Fewer token gaps than this in an interval say too little about its mean. */
  static final double MIN_GAPS = 16;
  /** The intervals' batch sizes must spread over at least this (a standard deviation, in requests) to fit a line. */
  static final double MIN_SPREAD = 1.0;

  private static final double DECAY = Math.pow(0.5, 1.0 / HALF_LIFE_SAMPLES);

  private double lastSum = -1;
  private double lastCount = -1;
  private int lastRunning = -1;
  private double w;
  private double wx;
  private double wy;
  private double wxx;
  private double wxy;
  private double base = -1;
  private double perCall = -1;
  private long fittedMillis;

  /** A scrape's cumulative gap sum (seconds) and count, and the running count, or -1 where the server does not say. */
  void observe(double gapSecondsSum, double gapCount, int running, long nowMillis) {
    if (gapSecondsSum < 0 || gapCount < 0 || running < 0) {
      lastSum = -1;
      lastRunning = -1;
    } else {
      double gaps = gapCount - lastCount;
      double seconds = gapSecondsSum - lastSum;
      if (lastSum >= 0 && gaps >= MIN_GAPS && seconds >= 0 && lastRunning > 0 && running > 0) {
        add((lastRunning + running) / 2.0, seconds / gaps * 1000);
        fit(nowMillis);
      }
      // A counter that went back is a restarted server: its next interval starts here.
      lastSum = gapSecondsSum;
      lastCount = gapCount;
      lastRunning = running;
    }
    if (base >= 0 && nowMillis - fittedMillis > MEMORY_MILLIS) {
      base = -1;
      perCall = -1;
    }
  }

  private void add(double x, double y) {
    w = w * DECAY + 1;
    wx = wx * DECAY + x;
    wy = wy * DECAY + y;
    wxx = wxx * DECAY + x * x;
    wxy = wxy * DECAY + x * y;
  }

  private void fit(long nowMillis) {
    if (w < 3) {
      return;
    }
    double meanX = wx / w;
    double meanY = wy / w;
    double variance = wxx / w - meanX * meanX;
    if (variance < MIN_SPREAD * MIN_SPREAD) {
      return;
    }
    // Steps do not get shorter with more requests: a falling line is noise, and then the mean is the best guess.
    double slope = Math.max(0, (wxy / w - meanX * meanY) / variance);
    double intercept = meanY - slope * meanX;
    if (intercept < 0) {
      intercept = 0;
      slope = meanY / meanX;
    }
    base = intercept;
    perCall = slope;
    fittedMillis = nowMillis;
  }

  /** The step at a batch of zero, in ms (-1: no curve known). */
  double baseMillis() {
    return base;
  }

  /** What each running request adds to a step, in ms (-1: no curve known). */
  double millisPerCall() {
    return perCall;
  }

  void forget() {
    lastSum = -1;
    lastRunning = -1;
    base = -1;
    perCall = -1;
    w = wx = wy = wxx = wxy = 0;
  }
}
