package org.aiguillage.actors.accounts;

import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.aiguillage.protocol.CommonPool;
import org.aiguillage.protocol.accounting.UsageRecord;
import org.aiguillage.protocol.config.KeyConfig;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.stream.javadsl.Sink;

/**
 * The accounts, keys' and organisations', as the edge and the admin API use them: asks to the sharded {@link
 * KeyAccount} and {@link OrganizationAccount} entities. A
 * secret goes no further than this class: it is hashed here and only its hash travels (and is the key of the
 * edge's short-lived memory of which secrets work).
 */
public final class Accounts {

  /** A key just made: its secret, shown this once, and its record. */
  public record NewKey(String secret, KeyRecord key) {}

  /** How old an edge's knowledge of a key may be: a revoked key works at most this long on other edges. */
  public static final Duration AUTHENTICATION_MAX_AGE = Duration.ofMillis(500);
  private static final int MAX_KNOWN = 100_000;
  /** How long a key known to work still works while its account cannot be reached. */
  static final Duration STALE_IF_UNREACHABLE = Duration.ofMinutes(10);
  /** How long to wait for an account before falling back on what this edge knew. */
  static final Duration FALLBACK_AFTER = Duration.ofSeconds(1);

  private record Known(KeyAccount.Authentication authentication, long atNanos) {}

  private final ActorSystem<?> system;
  private final ClusterSharding sharding;
  private final Duration timeout;
  private final Map<String, Known> authenticated = new ConcurrentHashMap<>();
  /** Organisations without limits, and when this edge learnt it. */
  private final Map<String, Long> unlimitedOrganizations = new ConcurrentHashMap<>();

  private volatile OidcVerifier oidc = new OidcVerifier(List.of());
  /** Where OIDC tokens are checked: a first use of an issuer fetches its keys over HTTP. */
  private final java.util.concurrent.Executor verifying = java.util.concurrent.Executors.newFixedThreadPool(2, r -> {
    Thread t = new Thread(r, "aiguillage-oidc");
    t.setDaemon(true);
    return t;
  });

  public Accounts(ActorSystem<?> system, Duration timeout) {
    this.system = system;
    this.sharding = ClusterSharding.get(system);
    this.timeout = timeout;
  }

  /** The identity providers whose access tokens are accepted beside API keys. */
  public void acceptTokensOf(List<org.aiguillage.protocol.config.OidcIssuer> issuers) {
    oidc = new OidcVerifier(issuers);
  }

  /** Starts the sharding of the accounts, keys' and organisations' (proxies on nodes without the queue role). */
  public static void initSharding(ActorSystem<?> system) {
    KeyAccount.initSharding(system);
    OrganizationAccount.initSharding(system);
  }

  private EntityRef<KeyAccount.Command> account(String keyId) {
    return sharding.entityRefFor(KeyAccount.TYPE_KEY, keyId);
  }

  /**
   * Whether a secret is a working key, as its account said at most {@link #AUTHENTICATION_MAX_AGE} ago: a
   * revocation reaches every edge within that time, and a key's requests do not all queue at its account.
   */
  public CompletionStage<KeyAccount.Authentication> authenticate(String secret) {
    OidcVerifier verifier = oidc;
    if (verifier.any() && OidcVerifier.looksLikeJwt(secret)) {
      return CompletableFuture.supplyAsync(() -> verifier.verify(secret), verifying).thenCompose(result ->
          result instanceof OidcVerifier.Verified v ? subject(v)
              : CompletableFuture.completedFuture(new KeyAccount.AuthenticationRefused(
                  ((OidcVerifier.Refused) result).reason())));
    }
    String hash = KeySecrets.hash(secret);
    long now = System.nanoTime();
    Known known = authenticated.get(hash);
    if (known != null && now - known.atNanos < AUTHENTICATION_MAX_AGE.toNanos()) {
      return CompletableFuture.completedFuture(known.authentication);
    }
    // While a key's account moves (its node died and is not yet downed, a hand-over), a key this edge knew to
    // work keeps working: its account cannot have revoked it meanwhile. It is asked again on the next request.
    boolean fallback = known != null && known.authentication instanceof KeyAccount.Authenticated
        && now - known.atNanos < STALE_IF_UNREACHABLE.toNanos();
    return CommonPool.bypassed(account(KeySecrets.idOfHash(hash))
        .<KeyAccount.Authentication>ask(replyTo -> new KeyAccount.Authenticate(hash, replyTo),
            fallback ? FALLBACK_AFTER : timeout))
        .handle((authentication, failure) -> {
          if (failure != null) {
            if (fallback) {
              return known.authentication;
            }
            throw failure instanceof java.util.concurrent.CompletionException c ? c
                : new java.util.concurrent.CompletionException(failure);
          }
          if (authenticated.size() >= MAX_KNOWN) {
            authenticated.clear(); // a flood of made-up keys must not grow the heap
          }
          authenticated.put(hash, new Known(authentication, now));
          return authentication;
        });
  }

  /**
   * The account of a token's subject, made on its first use (and brought up to date with its claims) by the
   * subject's {@link KeyAccount}: limits, budgets and usage per user, as for a key. Remembered as keys are.
   */
  private CompletionStage<KeyAccount.Authentication> subject(OidcVerifier.Verified v) {
    String id = "oidc-" + KeySecrets.hash(v.issuer().issuer() + "|" + v.subject()).substring(0, 16);
    var l = v.issuer().limits();
    KeySettings settings = new KeySettings(v.subject(), v.organization(), v.priority(),
        org.aiguillage.protocol.config.KeyConfig.DEFAULT_THRESHOLD, List.of(), l.requestsPerMinute(),
        l.tokensPerMinute(), l.tokensPerDay(), "day", null, org.aiguillage.protocol.RoutingMode.ANY, true, null,
        v.admin() ? v.organization() : null);
    String cacheKey = id + "|" + settings.hashCode();
    long now = System.nanoTime();
    Known known = authenticated.get(cacheKey);
    if (known != null && now - known.atNanos < AUTHENTICATION_MAX_AGE.toNanos()) {
      return CompletableFuture.completedFuture(known.authentication);
    }
    return CommonPool.bypassed(
            account(id).<KeyAccount.Authentication>ask(replyTo -> new KeyAccount.Subject(settings, replyTo), timeout))
        .thenApply(authentication -> {
          if (authenticated.size() >= MAX_KNOWN) {
            authenticated.clear();
          }
          authenticated.put(cacheKey, new Known(authentication, now));
          return authentication;
        });
  }

  public CompletionStage<KeyAccount.Admission> admit(String keyId, String ticketId, long estimatedTokens) {
    return admit(keyId, ticketId, estimatedTokens, false);
  }

  /** @param audio a speech-to-text call, which the key's audio budget also bounds */
  public CompletionStage<KeyAccount.Admission> admit(String keyId, String ticketId, long estimatedTokens,
      boolean audio) {
    return CommonPool.bypassed(
        account(keyId).ask(replyTo -> new KeyAccount.Admit(ticketId, estimatedTokens, audio, replyTo), timeout));
  }

  /**
   * The organisation's admission of a call. An organisation this edge learnt has no limits (at most {@link
   * #AUTHENTICATION_MAX_AGE} ago) is not asked.
   */
  public CompletionStage<KeyAccount.Admission> admitByOrganization(String organization, String ticketId,
      long estimatedTokens) {
    long now = System.nanoTime();
    Long unlimitedAt = unlimitedOrganizations.get(organization);
    if (unlimitedAt != null && now - unlimitedAt < AUTHENTICATION_MAX_AGE.toNanos()) {
      return CompletableFuture.completedFuture(new KeyAccount.Admitted(RateLimits.NONE));
    }
    return CommonPool.bypassed(organization(organization).<OrganizationAccount.Admission>ask(replyTo ->
            new OrganizationAccount.Admit(ticketId, estimatedTokens, replyTo), timeout))
        .thenApply(admission -> {
          if (admission.limited()) {
            unlimitedOrganizations.remove(organization);
          } else {
            unlimitedOrganizations.put(organization, now);
          }
          return admission.admission();
        });
  }

  /** The call ended: its tokens settle the key's account and its organisation's. */
  public void settle(UsageRecord usage) {
    account(usage.keyId()).tell(new KeyAccount.Settle(usage.ticketId(), usage.totalTokens(), usage.audioSeconds()));
    organization(usage.organization()).tell(new OrganizationAccount.Settle(usage.ticketId(), usage.totalTokens()));
  }

  public void release(String keyId, String organization, String ticketId) {
    account(keyId).tell(new KeyAccount.Release(ticketId));
    organization(organization).tell(new OrganizationAccount.Release(ticketId));
  }

  private EntityRef<OrganizationAccount.Command> organization(String name) {
    return sharding.entityRefFor(OrganizationAccount.TYPE_KEY, name);
  }

  public CompletionStage<OrganizationAccount.Reply> putOrganization(String name, OrganizationAccount.Settings settings) {
    unlimitedOrganizations.remove(name);
    return organization(name).ask(replyTo -> new OrganizationAccount.Put(settings, replyTo), timeout);
  }

  public CompletionStage<OrganizationAccount.Reply> getOrganization(String name) {
    return organization(name).ask(OrganizationAccount.Get::new, timeout);
  }

  /** Every organisation recorded in the journal (those made through the admin API). */
  public CompletionStage<List<OrganizationAccount.Organization>> organizations() {
    return everyEntity(OrganizationAccount.TYPE_KEY.name(), this::getOrganization,
        reply -> reply instanceof OrganizationAccount.Found f ? Optional.of(f.organization()) : Optional.empty());
  }

  /**
   * Asks every entity of a type that has events in the journal, and keeps what {@code found} makes of the answers.
   */
  private <R, T> CompletionStage<List<T>> everyEntity(String typeName, Function<String, CompletionStage<R>> ask,
      Function<R, Optional<T>> found) {
    String prefix = typeName + "|";
    return readJournal().currentPersistenceIds()
        .filter(id -> id.startsWith(prefix))
        .mapAsync(8, id -> ask.apply(id.substring(prefix.length())))
        .map(found::apply)
        .filter(Optional::isPresent)
        .map(Optional::get)
        .runWith(Sink.seq(), system)
        .thenApply(List::copyOf);
  }

  private JdbcReadJournal readJournal() {
    return PersistenceQuery.get(system.classicSystem())
        .getReadJournalFor(JdbcReadJournal.class, JdbcReadJournal.Identifier());
  }

  /** Makes or updates a key of the YAML file (validated by the parser). */
  public CompletionStage<Done> seed(KeyConfig key) {
    String hash = KeySecrets.hash(key.secret());
    return account(KeySecrets.idOfHash(hash))
        .ask(replyTo -> new KeyAccount.Seed(hash, KeySettings.of(key), replyTo), timeout);
  }

  /** Makes a key with a new secret (another one if its id is taken, which 2^-48 odds make rare). */
  public CompletionStage<NewKey> create(KeySettings settings) {
    return create(settings, 3);
  }

  private CompletionStage<NewKey> create(KeySettings settings, int attempts) {
    String secret = KeySecrets.generate();
    String hash = KeySecrets.hash(secret);
    return account(KeySecrets.idOfHash(hash))
        .<KeyAccount.KeyReply>ask(replyTo -> new KeyAccount.Create(KeySecrets.prefixOf(secret), hash, settings,
            replyTo), timeout)
        .thenCompose(reply -> {
          if (reply instanceof KeyAccount.Found found) {
            return CompletableFuture.completedFuture(new NewKey(secret, found.key()));
          }
          if (attempts > 1) {
            return create(settings, attempts - 1);
          }
          return CompletableFuture.failedFuture(new IllegalStateException("no free key id after 3 tries"));
        });
  }

  public CompletionStage<KeyAccount.KeyReply> get(String keyId) {
    return account(keyId).ask(KeyAccount.Get::new, timeout);
  }

  public CompletionStage<KeyAccount.KeyReply> update(String keyId, KeySettings settings) {
    return account(keyId).<KeyAccount.KeyReply>ask(replyTo -> new KeyAccount.Update(settings, replyTo), timeout)
        .thenApply(reply -> forget(keyId, reply));
  }

  public CompletionStage<KeyAccount.KeyReply> revoke(String keyId) {
    return account(keyId).ask(KeyAccount.Revoke::new, timeout).thenApply(reply -> forget(keyId, reply));
  }

  /** This edge forgets what it knew of a key it just changed (other edges within the max age). */
  private KeyAccount.KeyReply forget(String keyId, KeyAccount.KeyReply reply) {
    if (reply instanceof KeyAccount.Found found) {
      authenticated.remove(found.key().secretHash());
    }
    return reply;
  }

  /** Every key in the journal, oldest first. */
  public CompletionStage<List<KeyRecord>> list() {
    return everyEntity(KeyAccount.TYPE_KEY.name(), this::get,
            reply -> reply instanceof KeyAccount.Found f ? Optional.of(f.key()) : Optional.<KeyRecord>empty())
        .thenApply(keys -> keys.stream().sorted(Comparator.comparingLong(KeyRecord::createdAtMillis)
            .thenComparing(KeyRecord::id)).toList());
  }
}
