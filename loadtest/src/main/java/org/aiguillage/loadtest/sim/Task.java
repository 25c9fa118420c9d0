package org.aiguillage.loadtest.sim;

import java.util.Arrays;
import java.util.List;

/**
 * What the simulated model is, and so which of vLLM's APIs it serves: vLLM registers the routes of its model's
 * task and answers 404 ({@code {"detail":"Not Found"}}) on the others. {@link #ALL} serves every one (the
 * simulator's default, handy for a load test of any endpoint).
 */
public enum Task {
  GENERATE("/v1/chat/completions", "/v1/completions", "/v1/responses"),
  EMBED("/v1/embeddings"),
  SCORE("/v1/rerank", "/v2/rerank", "/v1/score"),
  TRANSCRIPTION("/v1/audio/transcriptions", "/v1/audio/translations"),
  ALL();

  private final List<String> paths;

  Task(String... paths) {
    this.paths = List.of(paths);
  }

  /** Whether a server of this task serves {@code path}. */
  public boolean serves(String path) {
    return this == ALL || paths.contains(path);
  }

  /** @throws IllegalArgumentException naming the tasks */
  public static Task of(String name) {
    return Arrays.stream(values()).filter(t -> t.name().equalsIgnoreCase(name)).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("--task is one of generate, embed, score, transcription, "
            + "all; not '" + name + "'"));
  }
}
