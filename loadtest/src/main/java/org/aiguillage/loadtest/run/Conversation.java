package org.aiguillage.loadtest.run;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * One user's chat sessions, as people hold them in Open WebUI or a coding assistant: a session opens with one of a
 * few long system prompts that every user of that assistant shares, then each turn adds the user's message and
 * resends the whole history, the previous answers included; after {@code turns} turns the user opens a new session.
 * What a server's prefix cache is for: each turn's prompt begins with the last one's.
 *
 * <p>An answer goes back into the history as words of its length drawn from the user's seeded source, not as the
 * text the server streamed (the load generator does not parse what it receives): against a real server the answers'
 * part of the history is then not found in its cache, the system prompt and the users' messages are.
 */
public final class Conversation {

  /** A chat message. */
  public record Message(String role, String content) {}

  /** The workload: {@code systemPrompts} system prompts of {@code systemTokens} words, sessions of {@code turns}. */
  public record MultiTurn(int systemPrompts, int systemTokens, int turns) {
    public MultiTurn {
      if (systemPrompts < 1 || systemTokens < 1 || turns < 1) {
        throw new IllegalArgumentException("--turns, --system-prompts and --system-tokens are at least 1");
      }
    }

    /** System prompt {@code i}, the same in every run and for every user. */
    String systemPrompt(int i) {
      return LoadClient.prompt(new Random(1_000_003L * (i + 1)), systemTokens);
    }
  }

  private final MultiTurn workload;
  private final String user;
  private final List<Message> messages = new ArrayList<>();
  private int sessions;
  private int turn;

  public Conversation(MultiTurn workload, String user) {
    this.workload = workload;
    this.user = user;
  }

  /** The next turn: the user's message of {@code tokens} words after the history (a new session after the last). */
  public void ask(Random random, int tokens) {
    if (messages.isEmpty() || turn >= workload.turns()) {
      messages.clear();
      messages.add(new Message("system", workload.systemPrompt(random.nextInt(workload.systemPrompts()))));
      sessions++;
      turn = 0;
    }
    messages.add(new Message("user", LoadClient.prompt(random, tokens)));
    turn++;
  }

  /** The answer came: it joins the history (words of its length; a failed turn leaves none and is asked anew). */
  public void answered(Random random, int outputTokens, boolean ok) {
    if (ok) {
      messages.add(new Message("assistant", LoadClient.prompt(random, Math.max(1, outputTokens))));
    } else {
      messages.remove(messages.size() - 1);
      turn--;
    }
  }

  public List<Message> messages() {
    return List.copyOf(messages);
  }

  /** This session's name: what keeps a conversation on its server where the dispatcher honours it. */
  public String session() {
    return user + "-" + sessions;
  }
}
