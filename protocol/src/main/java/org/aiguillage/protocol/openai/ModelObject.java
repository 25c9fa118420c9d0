package org.aiguillage.protocol.openai;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * A model as {@code GET /v1/models} lists it: OpenAI's fields, and ours where they say more ({@code alias_of} for an
 * alias, {@code lifecycle} when not in production, {@code type}: what it serves, in OpenGateLLM's words).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ModelObject(String id, String object, long created, @JsonProperty("owned_by") String ownedBy,
    @JsonProperty("alias_of") String aliasOf, String lifecycle, String type) {

  public static ModelObject of(String id, String aliasOf, String lifecycle, String type) {
    return new ModelObject(id, "model", 0, "aiguillage", aliasOf, lifecycle, type);
  }
}
