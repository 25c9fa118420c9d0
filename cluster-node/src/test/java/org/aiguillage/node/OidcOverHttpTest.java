package org.aiguillage.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.aiguillage.loadtest.sim.SimulatorProfile;
import org.aiguillage.loadtest.sim.VllmSimulator;
import org.aiguillage.protocol.config.FederationConfigParser;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * OIDC access tokens beside API keys, with real signed tokens: an issuer served over HTTP by the test (discovery
 * document and JWKS, keys made with nimbus), and every way a token can be wrong refused with 401.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OidcOverHttpTest {

  private static final String AUDIENCE = "aiguillage";
  private static final String ADMIN = "oidc-admin";
  private final ObjectMapper json = new ObjectMapper();
  private final HttpClient http = HttpClient.newHttpClient();
  private final List<JWK> published = new CopyOnWriteArrayList<>();

  private HttpServer idp;
  private String issuer;
  private RSAKey rsa;
  private ECKey ec;
  private VllmSimulator ofA;
  private VllmSimulator ofB;
  private AiguillageNode node;

  @BeforeAll
  void start() throws Exception {
    rsa = new RSAKeyGenerator(2048).keyID("rsa-1").generate();
    ec = new ECKeyGenerator(Curve.P_256).keyID("ec-1").generate();
    published.add(rsa.toPublicJWK());
    published.add(ec.toPublicJWK());
    idp = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    issuer = "http://127.0.0.1:" + idp.getAddress().getPort() + "/realms/staff";
    idp.createContext("/realms/staff/.well-known/openid-configuration", exchange -> respond(exchange,
        "{\"issuer\":\"" + issuer + "\",\"jwks_uri\":\"" + issuer + "/protocol/openid-connect/certs\"}"));
    idp.createContext("/realms/staff/protocol/openid-connect/certs", exchange -> respond(exchange,
        new JWKSet(List.copyOf(published)).toString(true)));
    idp.start();
    ofA = VllmSimulator.start("served", SimulatorProfile.fast());
    ofB = VllmSimulator.start("served", SimulatorProfile.fast());
    node = AiguillageNode.start(FederationConfigParser.parse("""
        http: { host: 127.0.0.1, port: 0 }
        admin: { token: %s }
        persistence: { url: "jdbc:h2:mem:oidc" }
        oidc:
          - issuer: %s
            audience: %s
            organization_claim: org
            priority_claim: aiguillage_priority
            default_priority: 2
            limits: { requests_per_minute: 3 }
            admin_role_claim: realm_access.roles
            admin_role: aiguillage-admin
        models:
          - name: m
            model: served
            vllm_servers:
              - { url: %s, organization: univ-a, max_parallel_requests: 8 }
              - { url: %s, organization: univ-b, max_parallel_requests: 8 }
        """.formatted(ADMIN, issuer, AUDIENCE, ofA.baseUrl(), ofB.baseUrl())));
  }

  @AfterAll
  void stop() {
    node.close();
    ofA.close();
    ofB.close();
    idp.stop(0);
  }

  private static void respond(com.sun.net.httpserver.HttpExchange exchange, String body) throws java.io.IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().add("Content-Type", "application/json");
    exchange.sendResponseHeaders(200, bytes.length);
    exchange.getResponseBody().write(bytes);
    exchange.close();
  }

  private JWTClaimsSet.Builder claims(String subject) {
    long now = System.currentTimeMillis();
    return new JWTClaimsSet.Builder().issuer(issuer).audience(AUDIENCE).subject(subject).claim("org", "univ-a")
        .issueTime(new Date(now)).expirationTime(new Date(now + 300_000));
  }

  private String rs256(JWTClaimsSet claims, RSAKey key) throws Exception {
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(key.getKeyID()).build(), claims);
    jwt.sign(new RSASSASigner(key));
    return jwt.serialize();
  }

  private HttpResponse<String> chat(String token, String routingMode) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(node.baseUrl() + "/v1/chat/completions"))
        .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
            + "\"hi\"}],\"max_tokens\":2" + (routingMode == null ? "" : ",\"routing-mode\":\"" + routingMode + "\"")
            + "}")).build(), HttpResponse.BodyHandlers.ofString());
  }

  private void assertRefused(String token, String because) throws Exception {
    HttpResponse<String> refused = chat(token, null);
    assertEquals(401, refused.statusCode(), because + ": " + refused.body());
    JsonNode error = json.readTree(refused.body()).get("error");
    assertEquals("invalid_api_key", error.get("code").asText());
    assertFalse(refused.body().contains(token), "the token is never repeated");
  }

  @Test
  void aValidTokenIsServedWithItsOrganisationsRoutingAndItsOwnLimits() throws Exception {
    String token = rs256(claims("alice").build(), rsa);
    long byB = ofB.stats().received();
    for (int i = 0; i < 3; i++) {
      HttpResponse<String> served = chat(token, "private-only");
      assertEquals(200, served.statusCode(), served.body());
    }
    assertEquals(byB, ofB.stats().received(), "private-only: univ-a's server only");
    assertEquals(429, chat(token, null).statusCode(), "the issuer's limit: 3 a minute, per subject");

    String bob = rs256(claims("bob").claim("aiguillage_priority", 1).build(), rsa);
    assertEquals(200, chat(bob, null).statusCode(), "another subject has its own account and limits");

    JsonNode keys = json.readTree(http.send(HttpRequest.newBuilder(URI.create(node.baseUrl() + "/admin/keys"))
        .header("Authorization", "Bearer " + ADMIN).build(), HttpResponse.BodyHandlers.ofString()).body());
    JsonNode alice = null;
    JsonNode bobs = null;
    for (JsonNode k : keys.get("data")) {
      alice = k.get("name").asText().equals("alice") ? k : alice;
      bobs = k.get("name").asText().equals("bob") ? k : bobs;
    }
    assertEquals("oidc", alice.get("source").asText());
    assertEquals("univ-a", alice.get("organization").asText());
    assertEquals(2, alice.get("priority").asInt(), "the issuer's default priority");
    assertEquals(1, bobs.get("priority").asInt(), "the priority claim");
  }

  @Test
  void anEs256TokenIsAcceptedToo() throws Exception {
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.ES256).keyID("ec-1").build(),
        claims("carol").build());
    jwt.sign(new ECDSASigner(ec));
    assertEquals(200, chat(jwt.serialize(), null).statusCode());
  }

  @Test
  void everyWrongTokenIsRefusedWith401() throws Exception {
    long now = System.currentTimeMillis();
    assertRefused(rs256(claims("d").expirationTime(new Date(now - 600_000)).build(), rsa), "expired");
    assertRefused(rs256(claims("d").notBeforeTime(new Date(now + 600_000)).build(), rsa), "not yet valid");
    assertRefused(rs256(claims("d").audience("another-service").build(), rsa), "wrong audience");
    assertRefused(rs256(claims("d").issuer("https://evil.example/realms/staff").build(), rsa), "wrong issuer");
    assertRefused(new PlainJWT(claims("d").build()).serialize(), "alg none");
    String valid = rs256(claims("d").build(), rsa);
    String[] parts = valid.split("\\.");
    String forged = Base64.getUrlEncoder().withoutPadding().encodeToString(claims("d").claim("org", "univ-b")
        .build().toString().getBytes(StandardCharsets.UTF_8));
    assertRefused(parts[0] + "." + forged + "." + parts[2], "tampered payload");
    SignedJWT hmac = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).keyID("rsa-1").build(),
        claims("d").build());
    hmac.sign(new MACSigner(rsa.toPublicJWK().toJSONString().getBytes(StandardCharsets.UTF_8)));
    assertRefused(hmac.serialize(), "HS256 keyed with the public key");
    RSAKey unknown = new RSAKeyGenerator(2048).keyID("rsa-1").generate();
    assertRefused(rs256(claims("d").build(), unknown), "signed by another key under a known id");
  }

  @Test
  void aRotatedKeyIsPickedUpWithoutARestart() throws Exception {
    assertEquals(200, chat(rs256(claims("erin").build(), rsa), null).statusCode());
    RSAKey next = new RSAKeyGenerator(2048).keyID("rsa-2").generate();
    published.add(next.toPublicJWK());
    Thread.sleep(1_100); // keys are fetched again at most once a second
    assertEquals(200, chat(rs256(claims("erin").build(), next), null).statusCode());
  }

  @Test
  void aTokenWithTheAdminRoleAdministersItsOrganisationOnly() throws Exception {
    String admin = rs256(claims("frank").claim("realm_access", java.util.Map.of("roles",
        List.of("offline_access", "aiguillage-admin"))).build(), rsa);
    String user = rs256(claims("grace").build(), rsa);
    assertEquals(200, chat(user, null).statusCode());

    HttpResponse<String> keys = http.send(HttpRequest.newBuilder(URI.create(node.baseUrl() + "/admin/keys"))
        .header("Authorization", "Bearer " + admin).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, keys.statusCode(), keys.body());
    json.readTree(keys.body()).get("data").forEach(k -> assertEquals("univ-a", k.get("organization").asText()));
    assertEquals(401, http.send(HttpRequest.newBuilder(URI.create(node.baseUrl() + "/admin/keys"))
        .header("Authorization", "Bearer " + user).build(), HttpResponse.BodyHandlers.ofString()).statusCode(),
        "without the role, no admin");
  }
}
