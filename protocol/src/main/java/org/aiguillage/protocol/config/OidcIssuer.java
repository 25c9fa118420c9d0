package org.aiguillage.protocol.config;

import java.time.Duration;

/**
 * An identity provider whose access tokens (JWTs) the edge accepts beside API keys, and how its claims map to an
 * account: each subject gets one, created on first use, with these limits.
 *
 * @param issuer the {@code iss} its tokens carry; its keys come from {@code <issuer>/.well-known/openid-configuration}
 * @param audience the {@code aud} a token must name
 * @param jwksUri where its keys are, when it has no discovery document (null: discovered)
 * @param organization every subject's organisation; or {@code organizationClaim}: the claim that says it
 * @param priorityClaim a claim that gives the subject's priority (1 to 5), if any
 * @param defaultPriority the priority without that claim (default 3)
 * @param limits the limits of each subject's account
 * @param clockSkew how far {@code exp} and {@code nbf} may be off (default 60 s)
 * @param adminRoleClaim a claim holding the subject's roles (a string or strings; dotted for a nested one, as
 *     Keycloak's {@code realm_access.roles})
 * @param adminRole the role in it that makes the subject its organisation's admin
 */
public record OidcIssuer(
    String issuer,
    String audience,
    String jwksUri,
    String organization,
    String organizationClaim,
    String priorityClaim,
    Integer defaultPriority,
    Limits limits,
    Duration clockSkew,
    String adminRoleClaim,
    String adminRole) {

  /** @param tokensPerDay prompt plus completion tokens per UTC day */
  public record Limits(Integer requestsPerMinute, Long tokensPerMinute, Long tokensPerDay) {
    public static final Limits NONE = new Limits(null, null, null);
  }

  public OidcIssuer {
    issuer = issuer == null ? null : issuer.endsWith("/") ? issuer.substring(0, issuer.length() - 1) : issuer;
    defaultPriority = defaultPriority == null ? 3 : defaultPriority;
    limits = limits == null ? Limits.NONE : limits;
    clockSkew = clockSkew == null ? Duration.ofSeconds(60) : clockSkew;
  }
}
