package org.aiguillage.agents;

/**
 * What a server's {@code /metrics} says about its load; -1 where the server does not say.
 *
 * @param kvCacheUsage 0..1
 */
public record ServerLoad(int running, int waiting, double kvCacheUsage) {

  public static final ServerLoad UNKNOWN = new ServerLoad(-1, -1, -1);
}
