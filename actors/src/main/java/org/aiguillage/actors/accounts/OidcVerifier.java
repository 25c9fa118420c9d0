package org.aiguillage.actors.accounts;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWT;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.JWTParser;
import com.nimbusds.jwt.proc.BadJWTException;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.aiguillage.protocol.Json;
import org.aiguillage.protocol.config.OidcIssuer;

/**
 * Checks an OIDC access token (a JWT) against the issuers the configuration accepts: its signature with the
 * issuer's keys (RS256 or ES256 only: never {@code none}, never an HMAC keyed with a public key), its issuer, its
 * audience, {@code exp} and {@code nbf} within the issuer's clock skew; then maps its claims to an account's
 * organisation and priority. Keys come from the issuer's discovery document ({@code jwks_uri}), cached, fetched
 * again when a token names a key id the cache lacks (a rotation), at most once a second.
 *
 * <p>Its first use of an issuer fetches over HTTP: call it off the edge's threads. The token itself is never logged
 * nor part of a refusal.
 */
public final class OidcVerifier {

  /** What a token is worth. */
  public sealed interface Result permits Verified, Refused {}

  /** A token that holds: who, for which organisation, at which priority, and the issuer's limits. */
  /** @param admin whether the token's roles make its subject its organisation's admin */
  public record Verified(OidcIssuer issuer, String subject, String organization, int priority, boolean admin)
      implements Result {}

  /** A token that does not: why, in words that help its holder and say nothing of the token. */
  public record Refused(String reason) implements Result {}

  private static final Set<JWSAlgorithm> ALGORITHMS = Set.of(JWSAlgorithm.RS256, JWSAlgorithm.ES256);
  private static final long REFRESH_AT_MOST_EVERY_MILLIS = 1_000;

  private final Map<String, OidcIssuer> issuers = new ConcurrentHashMap<>();
  private final Map<String, DefaultJWTProcessor<SecurityContext>> processors = new ConcurrentHashMap<>();
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  public OidcVerifier(List<OidcIssuer> accepted) {
    accepted.forEach(i -> issuers.put(i.issuer(), i));
  }

  public boolean any() {
    return !issuers.isEmpty();
  }

  /** Whether a bearer credential has a JWT's shape (three base64url parts, a JSON header): not an API key. */
  public static boolean looksLikeJwt(String credential) {
    return credential.startsWith("eyJ") && credential.chars().filter(c -> c == '.').count() == 2;
  }

  public Result verify(String token) {
    JWT jwt;
    String iss;
    try {
      jwt = JWTParser.parse(token);
      iss = jwt.getJWTClaimsSet().getIssuer();
    } catch (Exception e) {
      return new Refused("The bearer token is not a valid JWT.");
    }
    OidcIssuer issuer = iss == null ? null : issuers.get(iss.endsWith("/") ? iss.substring(0, iss.length() - 1)
        : iss);
    if (issuer == null) {
      return new Refused("The token's issuer is not one this service accepts.");
    }
    JWTClaimsSet claims;
    try {
      claims = processor(issuer).process(jwt, null);
    } catch (BadJWTException e) {
      return new Refused(claimsRefusal(e.getMessage()));
    } catch (BadJOSEException e) {
      String m = String.valueOf(e.getMessage());
      return new Refused(m.contains("plain") || m.contains("Unsecured") ? "Unsigned tokens are not accepted."
          : m.contains("algorithm") ? "The token is signed with an algorithm or a key this service does not accept."
          : "The token's signature does not verify.");
    } catch (Exception e) {
      return new Refused("The token's issuer cannot be reached to check it. Retry later.");
    }
    String organization = issuer.organization();
    if (issuer.organizationClaim() != null) {
      Object claim = claims.getClaim(issuer.organizationClaim());
      if (claim instanceof String s && !s.isBlank()) {
        organization = s;
      } else if (organization == null) {
        return new Refused("The token has no '" + issuer.organizationClaim() + "' claim naming an organisation.");
      }
    }
    int priority = issuer.defaultPriority();
    if (issuer.priorityClaim() != null && claims.getClaim(issuer.priorityClaim()) != null) {
      try {
        priority = Math.max(1, Math.min(5, Integer.parseInt(String.valueOf(claims.getClaim(issuer.priorityClaim())))));
      } catch (NumberFormatException e) {
        // an unreadable claim: the issuer's default
      }
    }
    return new Verified(issuer, claims.getSubject(), organization, priority, hasAdminRole(issuer, claims));
  }

  private static boolean hasAdminRole(OidcIssuer issuer, JWTClaimsSet claims) {
    if (issuer.adminRoleClaim() == null || issuer.adminRole() == null) {
      return false;
    }
    Object value = claims.getClaims();
    for (String part : issuer.adminRoleClaim().split("\\.")) {
      value = value instanceof Map<?, ?> m ? m.get(part) : null;
    }
    if (value instanceof java.util.Collection<?> roles) {
      return roles.stream().anyMatch(r -> issuer.adminRole().equals(String.valueOf(r)));
    }
    return value != null && issuer.adminRole().equals(String.valueOf(value));
  }

  private static String claimsRefusal(String message) {
    String m = String.valueOf(message);
    if (m.contains("Expired")) {
      return "The token expired.";
    }
    if (m.contains("before use time")) {
      return "The token is not valid yet.";
    }
    if (m.contains("audience")) {
      return "The token is not meant for this service (its audience).";
    }
    if (m.contains("iss")) {
      return "The token's issuer is not one this service accepts.";
    }
    if (m.contains("missing required claims")) {
      return "The token lacks a required claim (sub, exp).";
    }
    return "The token's claims are not accepted.";
  }

  private DefaultJWTProcessor<SecurityContext> processor(OidcIssuer issuer) throws Exception {
    DefaultJWTProcessor<SecurityContext> known = processors.get(issuer.issuer());
    if (known != null) {
      return known;
    }
    URI jwks = URI.create(issuer.jwksUri() != null ? issuer.jwksUri() : discover(issuer));
    JWKSource<SecurityContext> keys = JWKSourceBuilder.<SecurityContext>create(jwks.toURL())
        .cache(Duration.ofMinutes(15).toMillis(), Duration.ofSeconds(5).toMillis())
        .rateLimited(REFRESH_AT_MOST_EVERY_MILLIS)
        .build();
    DefaultJWTProcessor<SecurityContext> processor = new DefaultJWTProcessor<>();
    processor.setJWSKeySelector(new JWSVerificationKeySelector<>(ALGORITHMS, keys));
    DefaultJWTClaimsVerifier<SecurityContext> claims = new DefaultJWTClaimsVerifier<>(Set.of(issuer.audience()),
        new JWTClaimsSet.Builder().issuer(issuer.issuer()).build(), Set.of("sub", "exp"), null);
    claims.setMaxClockSkew((int) issuer.clockSkew().toSeconds());
    processor.setJWTClaimsSetVerifier(claims);
    processors.put(issuer.issuer(), processor);
    return processor;
  }

  /** The issuer's {@code jwks_uri}, from its discovery document. */
  private String discover(OidcIssuer issuer) throws Exception {
    HttpResponse<String> response = http.send(HttpRequest.newBuilder(
            URI.create(issuer.issuer() + "/.well-known/openid-configuration")).timeout(Duration.ofSeconds(5)).build(),
        HttpResponse.BodyHandlers.ofString());
    if (response.statusCode() != 200) {
      throw new IllegalStateException("discovery answered " + response.statusCode());
    }
    JsonNode document = Json.MAPPER.readTree(response.body());
    return Optional.ofNullable(document.get("jwks_uri")).map(JsonNode::asText)
        .orElseThrow(() -> new IllegalStateException("no jwks_uri in the discovery document"));
  }
}
