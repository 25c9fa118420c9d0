package org.aiguillage.actors.edge;

import org.aiguillage.protocol.RoutingMode;

/**
 * An API key as the edge knows it: never the secret, only its public id.
 *
 * @param id public id, safe to log and show ({@code key-} and the first hex digits of the secret's hash)
 */
public record ApiKey(String id, String name, String organization, int priority, int threshold,
    RoutingMode defaultRoutingMode) {}
