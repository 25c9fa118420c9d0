package org.aiguillage.protocol.config;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.aiguillage.protocol.RoutingMode;
import org.aiguillage.protocol.WireNames;

/**
 * Reads the node's YAML. An unknown key, a value of the wrong shape or a missing required key stops the start
 * with a message that names the key, e.g. {@code models[0].vllm_servers[1].url}.
 */
public final class FederationConfigParser {

  public static final Set<String> SERVER_TYPES = Set.of("vllm", "sglang", "ollama", "openai");
  public static final Set<String> BUDGET_PERIODS = Set.of("day", "week", "month");

  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
      .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
      .registerModule(new SimpleModule()
          .addDeserializer(Duration.class, new HumanDurationDeserializer())
          .addDeserializer(RoutingMode.class, new RoutingModeDeserializer()));

  private FederationConfigParser() {}

  public static FederationConfig parse(String yaml) {
    FederationConfig config;
    try {
      config = yaml.isBlank() ? new FederationConfig(null, null, null, null, null, null, null) : YAML.readValue(yaml, FederationConfig.class);
    } catch (UnrecognizedPropertyException e) {
      throw new ConfigException("unknown configuration key '" + path(e) + "' (known here: "
          + e.getKnownPropertyIds().stream().map(String::valueOf).sorted().collect(Collectors.joining(", ")) + ")");
    } catch (InvalidFormatException e) {
      throw new ConfigException("malformed value for '" + path(e) + "': '" + e.getValue() + "' is not a valid "
          + e.getTargetType().getSimpleName().toLowerCase());
    } catch (JsonMappingException e) {
      // A closed set's own refusal (RoutingStrategy, Lifecycle...) names the values it accepts: said as it is.
      Throwable root = e;
      while (root.getCause() != null && root.getCause() != root) {
        root = root.getCause();
      }
      throw new ConfigException("malformed value for '" + path(e) + "': "
          + (root instanceof WireNames.Unknown ? root.getMessage() : e.getOriginalMessage()));
    } catch (JsonProcessingException e) {
      throw new ConfigException("the configuration is not valid YAML: " + e.getOriginalMessage());
    }
    if (config == null) {
      config = new FederationConfig(null, null, null, null, null, null, null);
    }
    validate(config);
    return config;
  }


  /** One {@code models} entry (JSON or YAML), checked as in a whole file; errors name its fields. */
  public static ModelConfig parseModel(String entry) {
    try {
      return parse("{\"models\": [" + entry + "]}").models().get(0);
    } catch (ConfigException e) {
      throw new ConfigException(e.getMessage().replace("models[0].", ""));
    }
  }

  /** One {@code vllm_servers} entry (JSON or YAML), checked as in a whole file; errors name its fields. */
  public static ServerConfig parseServer(String entry) {
    try {
      return parse("{\"models\": [{\"name\": \"m\", \"vllm_servers\": [" + entry + "]}]}").models().get(0)
          .vllmServers().get(0);
    } catch (ConfigException e) {
      throw new ConfigException(e.getMessage().replace("models[0].vllm_servers[0].", ""));
    }
  }

  private static void validate(FederationConfig config) {
    config.datacenters().forEach((name, dc) -> {
      if (!(dc.pue() >= 1.0)) {
        throw new ConfigException("malformed value for 'datacenters." + name + ".pue': must be 1 or more");
      }
      if (dc.carbonIntensityGPerKwh() != null && !(dc.carbonIntensityGPerKwh() >= 0)) {
        throw new ConfigException("malformed value for 'datacenters." + name
            + ".carbon_intensity_g_per_kwh': must be zero or more");
      }
    });
    for (int i = 0; i < config.node().roles().size(); i++) {
      oneOf(config.node().roles().get(i), NodeSettings.ROLES, "node.roles[" + i + "]");
    }
    if (config.node().roles().isEmpty()) {
      throw new ConfigException("malformed value for 'node.roles': a node needs at least one of edge, queue, agent");
    }
    ClusterSettings cluster = config.cluster();
    if (cluster.port() < 0 || cluster.port() > 65535) {
      throw new ConfigException("malformed value for 'cluster.port': " + cluster.port() + " is not a TCP port");
    }
    for (int i = 0; i < cluster.seedNodes().size(); i++) {
      hostAndPort(cluster.seedNodes().get(i), "cluster.seed_nodes[" + i + "]");
    }
    for (int i = 0; i < cluster.contactPoints().size(); i++) {
      hostAndPort(cluster.contactPoints().get(i), "cluster.contact_points[" + i + "]");
    }
    if (cluster.bootstrap() != Bootstrap.SEED_NODES && cluster.managementPort() == null) {
      throw new ConfigException("missing configuration key 'cluster.management_port' (bootstrap "
          + cluster.bootstrap() + " works through Pekko Management)");
    }
    int port = config.http().port();
    if (port < 0 || port > 65535) {
      throw new ConfigException("malformed value for 'http.port': " + port + " is not a TCP port");
    }
    Integer connections = config.http().maxConnections();
    if (connections != null && connections < 1) {
      throw new ConfigException("malformed value for 'http.max_connections': " + connections + " (at least 1)");
    }
    Set<String> names = new HashSet<>();
    List<KeyConfig> tokens = config.tokens();
    for (int i = 0; i < tokens.size(); i++) {
      KeyConfig t = tokens.get(i);
      String at = "tokens[" + i + "]";
      require(t.secret() != null && !t.secret().isBlank(), at + ".token");
      validateKey(t, at + ".");
    }
    for (int i = 0; i < config.oidc().size(); i++) {
      OidcIssuer o = config.oidc().get(i);
      String at = "oidc[" + i + "]";
      require(o.issuer() != null && !o.issuer().isBlank(), at + ".issuer");
      checkUrl(o.issuer(), at + ".issuer");
      require(o.audience() != null && !o.audience().isBlank(), at + ".audience");
      if (o.organization() == null && o.organizationClaim() == null) {
        throw new ConfigException("missing configuration key '" + at + ".organization' (or '" + at
            + ".organization_claim': the claim that names the subject's organisation)");
      }
      if (o.defaultPriority() < 1 || o.defaultPriority() > 5) {
        throw new ConfigException("malformed value for '" + at + ".default_priority': " + o.defaultPriority()
            + " is not in 1..5");
      }
      if (o.jwksUri() != null) {
        checkUrl(o.jwksUri(), at + ".jwks_uri");
      }
    }
    List<ModelConfig> models = config.models();
    for (int i = 0; i < models.size(); i++) {
      ModelConfig m = models.get(i);
      String at = "models[" + i + "]";
      require(m.name() != null && !m.name().isBlank(), at + ".name");
      if (!names.add(m.name())) {
        throw new ConfigException("malformed value for '" + at + ".name': model '" + m.name() + "' is defined twice");
      }
      for (String alias : m.aliases()) {
        if (!names.add(alias)) {
          throw new ConfigException("malformed value for '" + at + ".aliases': '" + alias
              + "' already names a model");
        }
      }
      if (m.priorityAging().isNegative()) {
        throw new ConfigException("malformed value for '" + at + ".priority_aging': must be positive or off");
      }
      if (m.firstTokenTimeout().isNegative() || m.firstTokenTimeout().isZero()) {
        throw new ConfigException("malformed value for '" + at + ".first_token_timeout': must be positive");
      }
      if (m.queueTimeout().isNegative() || m.queueTimeout().isZero()) {
        throw new ConfigException("malformed value for '" + at + ".queue_timeout': must be positive");
      }
      for (int j = 0; j < m.vllmServers().size(); j++) {
        ServerConfig s = m.vllmServers().get(j);
        String sat = at + ".vllm_servers[" + j + "]";
        require(s.url() != null && !s.url().isBlank(), sat + ".url");
        checkUrl(s.url(), sat + ".url");
        oneOf(s.type(), SERVER_TYPES, sat + ".type");
        if (s.maxParallelRequests() < 1) {
          throw new ConfigException("malformed value for '" + sat + ".max_parallel_requests': must be at least 1");
        }
        if (s.maxWaiting() < -1) {
          throw new ConfigException("malformed value for '" + sat + ".max_waiting': 0 or more, or -1 to ignore");
        }
        if (s.powerWatts() != null && !(s.powerWatts() >= 0)) {
          throw new ConfigException("malformed value for '" + sat + ".power_watts': must be zero or more");
        }
        if (s.gpu() != null && GpuPower.watts(s.gpu()).isEmpty()) {
          throw new ConfigException("malformed value for '" + sat + ".gpu': '" + s.gpu() + "' is not a GPU this "
              + "node knows (" + String.join(", ", GpuPower.KNOWN) + ", optionally counted: '8x h200'); give "
              + "power_watts instead");
        }
      }
    }
  }

  /**
   * The rules of a key's fields, for the YAML {@code tokens} entries and the admin API's bodies alike.
   *
   * @param at the prefix of the field names in messages ({@code tokens[2].}, or empty)
   */
  public static void validateKey(KeyConfig t, String at) {
    require(t.name() != null && !t.name().isBlank(), at + "name");
    require(t.organization() != null && !t.organization().isBlank(), at + "organization");
    if (t.priority() < 1 || t.priority() > 5) {
      throw new ConfigException("malformed value for '" + at + "priority': " + t.priority() + " is not in 1..5");
    }
    if (t.threshold() < 1) {
      throw new ConfigException("malformed value for '" + at + "threshold': must be at least 1");
    }
    if (t.requestsPerMinute() != null && t.requestsPerMinute() < 1) {
      throw new ConfigException("malformed value for '" + at + "requests_per_minute': must be at least 1");
    }
    if (t.tokensPerMinute() != null && t.tokensPerMinute() < 1) {
      throw new ConfigException("malformed value for '" + at + "tokens_per_minute': must be at least 1");
    }
    if (t.tokenBudget() != null && t.tokenBudget() < 1) {
      throw new ConfigException("malformed value for '" + at + "token_budget': must be at least 1");
    }
    if (t.audioSecondsPerDay() != null && !(t.audioSecondsPerDay() > 0)) {
      throw new ConfigException("malformed value for '" + at + "audio_seconds_per_day': must be more than 0");
    }
    oneOf(t.budgetPeriod(), BUDGET_PERIODS, at + "budget_period");
    if (t.expiresAt() != null) {
      try {
        parseInstant(t.expiresAt());
      } catch (RuntimeException e) {
        throw new ConfigException("malformed value for '" + at + "expires_at': '" + t.expiresAt()
            + "' is not an ISO-8601 date (2027-01-31) or instant (2027-01-31T18:00:00Z)");
      }
    }
  }

  /** An ISO-8601 instant, or a date meaning its start in UTC. */
  public static java.time.Instant parseInstant(String text) {
    String t = text.trim();
    if (t.length() == 10) {
      return java.time.LocalDate.parse(t).atStartOfDay(java.time.ZoneOffset.UTC).toInstant();
    }
    return java.time.OffsetDateTime.parse(t).toInstant();
  }

  /** {@code host:port}, as seed nodes and contact points are written. */
  public static void hostAndPort(String value, String key) {
    int colon = value == null ? -1 : value.lastIndexOf(':');
    try {
      if (colon > 0) {
        int port = Integer.parseInt(value.substring(colon + 1));
        if (port > 0 && port <= 65535) {
          return;
        }
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new ConfigException("malformed value for '" + key + "': '" + value + "' is not host:port");
  }

  private static void checkUrl(String url, String key) {
    try {
      URI uri = new URI(url);
      if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme()) || uri.getHost() == null) {
        throw new ConfigException("malformed value for '" + key + "': '" + url + "' is not an http(s) URL");
      }
    } catch (java.net.URISyntaxException e) {
      throw new ConfigException("malformed value for '" + key + "': '" + url + "' is not a URL");
    }
  }

  private static void require(boolean present, String key) {
    if (!present) {
      throw new ConfigException("missing configuration key '" + key + "'");
    }
  }

  private static void oneOf(String value, Set<String> allowed, String key) {
    if (!allowed.contains(value)) {
      throw new ConfigException("malformed value for '" + key + "': '" + value + "' is not one of "
          + allowed.stream().sorted().collect(Collectors.joining(", ")));
    }
  }

  private static String path(JsonMappingException e) {
    StringBuilder sb = new StringBuilder();
    for (JsonMappingException.Reference ref : e.getPath()) {
      if (ref.getIndex() >= 0) {
        sb.append('[').append(ref.getIndex()).append(']');
      } else if (ref.getFieldName() != null) {
        if (sb.length() > 0) {
          sb.append('.');
        }
        sb.append(ref.getFieldName());
      }
    }
    return sb.toString();
  }

  /** {@code 90}, {@code 90s}, {@code 500ms}, {@code 2m}, {@code 1h}, ISO-8601 {@code PT90S}, or {@code off} (zero). */
  public static Duration parseDuration(String text) {
    String t = text.trim();
    if (t.equals("off") || t.equals("false")) {
      return Duration.ZERO;
    }
    Matcher m = Pattern.compile("(\\d+)\\s*(ms|s|m|h)?").matcher(t);
    if (m.matches()) {
      long n = Long.parseLong(m.group(1));
      String unit = m.group(2) == null ? "s" : m.group(2);
      return switch (unit) {
        case "ms" -> Duration.ofMillis(n);
        case "m" -> Duration.ofMinutes(n);
        case "h" -> Duration.ofHours(n);
        default -> Duration.ofSeconds(n);
      };
    }
    return Duration.parse(t);
  }

  private static final class HumanDurationDeserializer extends JsonDeserializer<Duration> {
    @Override
    public Duration deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
      String text = p.getValueAsString();
      try {
        return parseDuration(text);
      } catch (RuntimeException e) {
        throw InvalidFormatException.from(p, "not a duration (use 30s, 500ms, 2m)", text, Duration.class);
      }
    }
  }

  private static final class RoutingModeDeserializer extends JsonDeserializer<RoutingMode> {
    @Override
    public RoutingMode deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
      String text = p.getValueAsString();
      return RoutingMode.fromWireName(text).orElseThrow(() ->
          InvalidFormatException.from(p, "not a routing mode (any, private-first, private-only)", text,
              RoutingMode.class));
    }
  }
}
