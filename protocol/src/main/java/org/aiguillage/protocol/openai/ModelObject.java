package org.aiguillage.protocol.openai;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * A model as {@code GET /v1/models} lists it: OpenAI's fields, and ours where they say more ({@code alias_of} for an
 * alias, {@code lifecycle} when not in production).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ModelObject(String id, String object, long created, @JsonProperty("owned_by") String ownedBy,
    @JsonProperty("alias_of") String aliasOf, String lifecycle) {

  public static ModelObject of(String id, String aliasOf, String lifecycle) {
    return new ModelObject(id, "model", 0, "aiguillage", aliasOf, lifecycle);
  }

  /** The answer of {@code GET /v1/models}. */
  public record ListOf(String object, List<ModelObject> data) {
    public ListOf(List<ModelObject> data) {
      this("list", List.copyOf(data));
    }
  }
}
