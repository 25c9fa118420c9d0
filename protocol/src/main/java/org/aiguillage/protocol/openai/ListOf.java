package org.aiguillage.protocol.openai;

import java.util.List;

/** A list answer, as OpenAI's API and ours give them: {@code {"object":"list","data":[...]}}. */
public record ListOf<T>(String object, List<T> data) {

  public ListOf(List<T> data) {
    this("list", List.copyOf(data));
  }
}
