package org.aiguillage.protocol.openai;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The OpenAI error envelope, {@code {"error":{"message","type","param","code"}}}, with the HTTP status it goes out with.
 * Every error the dispatcher produces itself is one of these, so an OpenAI SDK raises the right exception.
 */
public record OpenAiError(@JsonProperty("error") Body error) {

  @JsonInclude(JsonInclude.Include.ALWAYS)
  public record Body(String message, String type, String param, String code) {}

  public static OpenAiError of(String message, String type, String param, String code) {
    return new OpenAiError(new Body(message, type, param, code));
  }

  public static OpenAiError invalidRequest(String message, String param, String code) {
    return of(message, "invalid_request_error", param, code);
  }

  public static OpenAiError authentication(String message) {
    return of(message, "authentication_error", null, "invalid_api_key");
  }

  public static OpenAiError rateLimited(String message, String code) {
    return of(message, "rate_limit_error", null, code);
  }

  public static OpenAiError serverError(String message, String code) {
    return of(message, "server_error", null, code);
  }

  public String message() {
    return error.message();
  }
}
