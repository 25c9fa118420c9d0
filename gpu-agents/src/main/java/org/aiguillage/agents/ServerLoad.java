package org.aiguillage.agents;

/**
 * What a server's {@code /metrics} says about its load; -1 where the server does not say.
 *
 * @param kvCacheUsage 0..1
 * @param tokenGapSeconds the sum of its inter-token latency histogram: every gap between two tokens of a request,
 *     since the server started (seconds)
 * @param tokenGaps that histogram's count
 * @param prefixCacheQueries prompt tokens the server looked up in its prefix cache since it started
 * @param prefixCacheHits of those, the tokens it found there
 */
public record ServerLoad(int running, int waiting, double kvCacheUsage, double tokenGapSeconds, double tokenGaps,
    double prefixCacheQueries, double prefixCacheHits) {

  public static final ServerLoad UNKNOWN = new ServerLoad(-1, -1, -1);

  public ServerLoad(int running, int waiting, double kvCacheUsage) {
    this(running, waiting, kvCacheUsage, -1, -1);
  }

  public ServerLoad(int running, int waiting, double kvCacheUsage, double tokenGapSeconds, double tokenGaps) {
    this(running, waiting, kvCacheUsage, tokenGapSeconds, tokenGaps, -1, -1);
  }
}
