package org.aiguillage.priority;

import java.nio.charset.StandardCharsets;

/**
 * A prompt as the blocks a server's prefix cache would know it by, without the model's tokenizer: the hashes of
 * fixed-size blocks of its canonical text (messages, tools and system in order), block {@code i}'s hash covering its
 * bytes and every byte before them, so two prompts share a block's hash only if they begin alike up to its end. A
 * conversation's next turn begins with its last one; assistants of one application share their system prompt.
 */
public final class PromptPrefix {

  /** Bytes per block: about 64 tokens of English or code, four of vLLM's 16-token blocks. */
  public static final int BLOCK_BYTES = 256;
  /** Blocks hashed at most (128 KiB of prompt): a longer prompt's further blocks tell a queue nothing more. */
  public static final int MAX_BLOCKS = 512;

  private static final long[] NONE = new long[0];

  private PromptPrefix() {}

  /** The full blocks' hashes of a canonical prompt text (the last, partial block has none). */
  public static long[] blocks(String canonical) {
    if (canonical == null || canonical.isEmpty()) {
      return NONE;
    }
    byte[] bytes = canonical.getBytes(StandardCharsets.UTF_8);
    int n = Math.min(MAX_BLOCKS, bytes.length / BLOCK_BYTES);
    long[] hashes = new long[n];
    long h = 0xcbf29ce484222325L;
    for (int b = 0; b < n; b++) {
      for (int i = b * BLOCK_BYTES; i < (b + 1) * BLOCK_BYTES; i++) {
        h = (h ^ (bytes[i] & 0xff)) * 0x100000001b3L;
      }
      h ^= h >>> 29;
      h *= 0xbf58476d1ce4e5b9L;
      hashes[b] = h;
    }
    return hashes;
  }
}
