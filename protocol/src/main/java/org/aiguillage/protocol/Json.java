package org.aiguillage.protocol;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.module.SimpleModule;
import org.aiguillage.protocol.config.ConfigException;

/**
 * The project's one JSON mapper for the wire: the edge's routes, the admin API and its command line, request
 * parsing, the agents' reading of server events, the simulator. Field names are the YAML's and OpenAI's (snake
 * case), and a field a record does not know is an error, named in the 400 that answers it. (Pekko's CBOR between
 * nodes has its own, from its serialization settings; the load generator's report files keep theirs.)
 */
public final class Json {

  public static final ObjectMapper MAPPER = new ObjectMapper()
      .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .registerModule(new SimpleModule().addDeserializer(RoutingMode.class, new JsonDeserializer<>() {
        @Override
        public RoutingMode deserialize(com.fasterxml.jackson.core.JsonParser p,
            com.fasterxml.jackson.databind.DeserializationContext ctxt) throws java.io.IOException {
          String text = p.getValueAsString();
          return RoutingMode.fromWireName(text).orElseThrow(() -> new ConfigException(
              "malformed value for 'default_routing_mode': '" + text + "' is not one of any, private-first, "
                  + "private-only"));
        }
      }));

  private Json() {}

  public static byte[] bytes(Object value) {
    try {
      return MAPPER.writeValueAsBytes(value);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write " + value.getClass().getSimpleName() + " as JSON", e);
    }
  }
}
