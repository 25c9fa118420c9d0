package org.aiguillage.protocol.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.List;
import org.aiguillage.protocol.WireNames;

/**
 * What a model serves, with the type names of OpenGateLLM (the gateway of the French state's Albert API): the edge
 * refuses a request on an endpoint its model's type does not serve before it is queued.
 */
public enum ModelType {
  TEXT_GENERATION("text-generation", List.of("/v1/chat/completions", "/v1/completions", "/v1/responses")),
  TEXT_EMBEDDINGS_INFERENCE("text-embeddings-inference", List.of("/v1/embeddings")),
  AUTOMATIC_SPEECH_RECOGNITION("automatic-speech-recognition",
      List.of("/v1/audio/transcriptions", "/v1/audio/translations")),
  TEXT_CLASSIFICATION("text-classification", List.of("/v1/rerank", "/v2/rerank", "/v1/score"));

  private final String wireName;
  private final List<String> endpoints;

  ModelType(String wireName, List<String> endpoints) {
    this.wireName = wireName;
    this.endpoints = endpoints;
  }

  /** As the YAML, the admin API, {@code /v1/models} and the journal write it. */
  @JsonValue
  public String wireName() {
    return wireName;
  }

  /** The client-facing paths a model of this type serves. */
  public List<String> endpoints() {
    return endpoints;
  }

  /** @throws WireNames.Unknown naming the accepted values */
  @JsonCreator
  public static ModelType fromWireName(String name) {
    return WireNames.of(values(), ModelType::wireName, name);
  }

  @Override
  public String toString() {
    return wireName;
  }
}
