package org.aiguillage.loadtest.sim;

import java.util.List;

/**
 * The simulator's "model": a deterministic word per position, seeded by the prompt, so a test can compute the
 * exact answer it expects, and the same prompt gives the same answer streamed or whole.
 */
public final class SimulatedText {

  private static final List<String> WORDS = List.of(
      "the", "federation", "serves", "tokens", "from", "many", "GPU", "servers", "across", "datacentres", "and",
      "every", "request", "finds", "its", "queue", "by", "priority", "while", "agents", "pull", "work", "when",
      "they", "have", "room", "so", "no", "server", "idles", "nor", "overflows");

  private SimulatedText() {}

  public static long seed(String prompt) {
    return prompt.hashCode();
  }

  /** Token {@code i} of the answer: a word and a space (the first one without the space). */
  public static String token(long seed, int i) {
    int index = Math.floorMod(seed * 31 + i * 7L, WORDS.size());
    return (i == 0 ? "" : " ") + WORDS.get(index);
  }

  public static String answer(String prompt, int tokens) {
    long seed = seed(prompt);
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < tokens; i++) {
      sb.append(token(seed, i));
    }
    return sb.toString();
  }

  /**
   * The simulator's tokenizer: one token per whitespace-separated word. Chat requests add 4 tokens per message,
   * the overhead of a chat template.
   */
  public static int countTokens(String text) {
    return tokens(text).size();
  }

  /**
   * The hashes of the full blocks of a prompt's tokens, as vLLM's prefix cache knows them: block {@code i}'s hash
   * covers its {@link SimulatorProfile#BLOCK_TOKENS} tokens and every token before them, so two prompts share a
   * block's hash only if they begin alike up to its end. The last, partial block has none.
   */
  public static long[] blockHashes(List<String> tokens) {
    int blocks = tokens.size() / SimulatorProfile.BLOCK_TOKENS;
    long[] hashes = new long[blocks];
    long h = 0xcbf29ce484222325L;
    for (int b = 0; b < blocks; b++) {
      for (int i = b * SimulatorProfile.BLOCK_TOKENS; i < (b + 1) * SimulatorProfile.BLOCK_TOKENS; i++) {
        h = (h ^ tokens.get(i).hashCode()) * 0x100000001b3L;
      }
      h ^= h >>> 31;
      h *= 0x9e3779b97f4a7c15L;
      hashes[b] = h;
    }
    return hashes;
  }

  /** A text's tokens: its whitespace-separated words. */
  public static List<String> tokens(String text) {
    String t = text.strip();
    return t.isEmpty() ? List.of() : List.of(t.split("\\s+"));
  }
}
