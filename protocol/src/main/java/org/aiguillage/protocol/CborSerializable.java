package org.aiguillage.protocol;

/**
 * Marker for every message that may cross the cluster. Bound to Jackson CBOR in {@code serialization.conf}
 * of the node; nothing else is allowed on the wire.
 */
public interface CborSerializable {}
