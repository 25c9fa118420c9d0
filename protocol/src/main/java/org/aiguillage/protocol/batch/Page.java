package org.aiguillage.protocol.batch;

import java.util.List;

/**
 * One page of a list, as OpenAI's paginated lists give it: {@code {"object":"list","data":[...],"first_id",
 * "last_id","has_more"}}; the next page is asked for with {@code after=last_id}.
 */
public record Page<T>(String object, List<T> data, String firstId, String lastId, boolean hasMore) {

  /** The first {@code limit} of {@code items} (read one more than asked, to know whether there is more). */
  public static <T> Page<T> of(List<T> items, int limit, java.util.function.Function<T, String> id) {
    List<T> data = List.copyOf(items.subList(0, Math.min(limit, items.size())));
    return new Page<>("list", data, data.isEmpty() ? null : id.apply(data.get(0)),
        data.isEmpty() ? null : id.apply(data.get(data.size() - 1)), items.size() > limit);
  }
}
