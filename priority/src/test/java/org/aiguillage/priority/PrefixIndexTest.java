package org.aiguillage.priority;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** What a queue remembers of the prompts it sent, and what it forgets. */
class PrefixIndexTest {

  private static String words(String word, int n) {
    return (word + " ").repeat(n);
  }

  @Test
  void aConversationsNextTurnBeginsWithTheBlocksOfItsLast() {
    String system = "{\"role\":\"system\",\"content\":\"" + words("rules", 400) + "\"}";
    long[] first = PromptPrefix.blocks(system + "{\"role\":\"user\",\"content\":\"hello\"}");
    long[] next = PromptPrefix.blocks(system + "{\"role\":\"user\",\"content\":\"hello\"}"
        + "{\"role\":\"assistant\",\"content\":\"" + words("answer", 100) + "\"}");
    long[] stranger = PromptPrefix.blocks("{\"role\":\"system\",\"content\":\"" + words("other", 400) + "\"}");

    assertEquals(first.length, Arrays.mismatch(first, next), "every block of the first turn begins the next");
    assertTrue(next.length > first.length);
    assertEquals(0, Arrays.mismatch(first, stranger));
    assertEquals(0, PromptPrefix.blocks("short").length, "less than a block: nothing to find");
  }

  @Test
  void aServerIsCreditedWithTheLeadingBlocksItWasSent() {
    PrefixIndex index = new PrefixIndex(1000);
    long[] sent = PromptPrefix.blocks(words("a", 1000));
    index.sent("s1", sent);

    assertEquals(sent.length, index.cachedPrefix("s1", sent));
    assertEquals(0, index.cachedPrefix("s2", sent));
    long[] longer = PromptPrefix.blocks(words("a", 1000) + words("b", 500));
    assertEquals(sent.length, index.cachedPrefix("s1", longer), "its first blocks, not its new ones");
  }

  @Test
  void eachServerKeepsItsMostRecentBlocksAndIsForgottenWhole() {
    PrefixIndex index = new PrefixIndex(10);
    long[] old = PromptPrefix.blocks(words("old", 2000)); // 31 blocks
    long[] recent = PromptPrefix.blocks(words("new", 2000));
    index.sent("s1", old);
    index.sent("s1", recent);

    assertEquals(10, index.size());
    assertEquals(0, index.cachedPrefix("s1", old));
    assertEquals(0, index.cachedPrefix("s1", recent), "only its last 10 blocks, not its first");
    index.sent("s1", Arrays.copyOf(recent, 5));
    assertEquals(5, index.cachedPrefix("s1", recent));
    index.forget("s1");
    assertEquals(0, index.size());
  }
}
