package org.aiguillage.node;

import java.util.List;

/** A list answer, as OpenAI's API and ours give them: {@code {"object":"list","data":[...]}}. */
record ListOf<T>(String object, List<T> data) {

  ListOf(List<T> data) {
    this("list", List.copyOf(data));
  }
}
