package org.aiguillage.node;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Optional;

/**
 * {@code x-aiguillage-priority}: how a client of a dialect that has no field of ours (Ollama, Anthropic) lowers its
 * request's priority below its key's. Like the body's {@code priority}, it can lower, never raise.
 */
final class PriorityHeader {

  static final String NAME = "x-aiguillage-priority";

  private PriorityHeader() {}

  /** Sets the translated body's {@code priority} from the header: a number as is, anything else as text (refused). */
  static void apply(Optional<String> header, ObjectNode body) {
    header.map(String::strip).ifPresent(value -> {
      try {
        body.put("priority", Integer.parseInt(value));
      } catch (NumberFormatException e) {
        body.put("priority", value);
      }
    });
  }
}
