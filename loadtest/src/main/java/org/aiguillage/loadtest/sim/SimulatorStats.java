package org.aiguillage.loadtest.sim;

/** What a simulated server has seen so far, for tests and load reports. */
public record SimulatorStats(
    long received,
    long completed,
    long aborted,
    int running,
    int waiting,
    long peakRunning,
    long promptTokens,
    long generationTokens) {}
