package org.aiguillage.actors.accounts;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import java.time.Duration;
import java.time.Instant;
import org.aiguillage.actors.edge.ApiKey;
import org.aiguillage.protocol.CborSerializable;
import org.aiguillage.protocol.openai.OpenAiError;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EffectBuilder;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

/**
 * One API key and its account: the key's settings and status, and the counters its limits are checked against.
 * Sharded by key id, so one actor in the whole cluster owns a key's counters: three edges cannot each let the key
 * through its limit, and a revocation holds on every edge from the next request on, since every request asks here.
 *
 * <p>Persisted: the key's life (created, updated, revoked) and the tokens its calls used (the budget), written once
 * a second in one event rather than once per call: one key may serve thousands of users, and an account that waits
 * on the journal for each call would hold every request of that key behind it. Not persisted: the 60 s request
 * window, which restarts empty if the account moves to another node; the token window is rebuilt from the events
 * replayed at recovery.
 */
public final class KeyAccount
    extends EventSourcedBehaviorWithEnforcedReplies<KeyAccount.Command, KeyAccount.Event, KeyAccount.State> {

  public static final EntityTypeKey<Command> TYPE_KEY = EntityTypeKey.create(Command.class, "KeyAccount");

  /** How often the tokens of ended calls are written to the journal, in one event. */
  static final Duration FLUSH_INTERVAL = Duration.ofSeconds(1);

  public static void initSharding(ActorSystem<?> system) {
    ClusterSharding.get(system).init(Entity.of(TYPE_KEY, ctx ->
            create(ctx.getEntityId(), PersistenceId.of(ctx.getEntityTypeKey().name(), ctx.getEntityId())))
        // Passivation and hand-over let the account write its last tokens before it stops.
        .withStopMessage(new Stop()));
  }

  public static Behavior<Command> create(String keyId, PersistenceId persistenceId) {
    return Behaviors.withTimers(timers -> {
      timers.startTimerWithFixedDelay(new FlushUsage(), FLUSH_INTERVAL);
      return new KeyAccount(keyId, persistenceId);
    });
  }

  // ---- protocol

  public sealed interface Command extends CborSerializable {}

  /** Make a key (admin API): refused if its id is taken. */
  public record Create(String prefix, String secretHash, KeySettings settings, ActorRef<KeyReply> replyTo)
      implements Command {}

  /** Make or update a key from the YAML: its settings follow the file; a revocation stays. */
  public record Seed(String secretHash, KeySettings settings, ActorRef<Done> replyTo) implements Command {}

  public record Update(KeySettings settings, ActorRef<KeyReply> replyTo) implements Command {}

  public record Revoke(ActorRef<KeyReply> replyTo) implements Command {}

  public record Get(ActorRef<KeyReply> replyTo) implements Command {}

  /**
   * An OIDC token's subject, its token already verified: its account is made on first use (source {@code oidc}, no
   * secret) and follows the token's claims (organisation, priority) and its issuer's limits; a disabling or a
   * revocation through the admin API stays.
   */
  public record Subject(KeySettings settings, ActorRef<Authentication> replyTo) implements Command {}

  /** Is this secret (by its hash) a key that works now? */
  public record Authenticate(String secretHash, ActorRef<Authentication> replyTo) implements Command {}

  /**
   * May this call go ahead under the key's limits? Admitted, it counts one request and reserves its tokens.
   *
   * @param audio a speech-to-text call, which the key's audio budget also bounds
   */
  public record Admit(String ticketId, long estimatedTokens, boolean audio, ActorRef<Admission> replyTo)
      implements Command {

    public Admit(String ticketId, long estimatedTokens, ActorRef<Admission> replyTo) {
      this(ticketId, estimatedTokens, false, replyTo);
    }
  }

  /** The call ended: its real token count replaces its reservation, and counts against the budget. */
  public record Settle(String ticketId, long tokens, double audioSeconds) implements Command {

    public Settle(String ticketId, long tokens) {
      this(ticketId, tokens, 0);
    }
  }

  /** The call never reached a server: its reservation goes. */
  public record Release(String ticketId) implements Command {}

  /** Write the tokens settled since the last write (every second: one journal write, not one per call). */
  public record FlushUsage() implements Command {}

  /** Write what is pending, then stop (passivation, hand-over to another node). */
  public record Stop() implements Command {}

  public sealed interface KeyReply extends CborSerializable {}

  public record Found(KeyRecord key) implements KeyReply {}

  public record NotFound() implements KeyReply {}

  public record Conflict(String message) implements KeyReply {}

  public sealed interface Authentication extends CborSerializable {}

  /**
   * @param limited whether the key has a limit or a budget, so that each call must be admitted here
   * @param adminOf the organisation the key (or the token's subject) administers through the admin API; null: none
   */
  public record Authenticated(ApiKey key, boolean limited, String adminOf) implements Authentication {

    public Authenticated(ApiKey key, boolean limited) {
      this(key, limited, null);
    }
  }

  public record AuthenticationRefused(String message) implements Authentication {}

  /** Also carried inside an organisation's answer, hence the type name on the wire. */
  @JsonTypeInfo(use = JsonTypeInfo.Id.NAME)
  @JsonSubTypes({@JsonSubTypes.Type(value = Admitted.class, name = "admitted"),
      @JsonSubTypes.Type(value = Denied.class, name = "denied")})
  public sealed interface Admission extends CborSerializable {}

  public record Admitted(RateLimits limits) implements Admission {}

  public record Denied(int status, OpenAiError error, long retryAfterSeconds, RateLimits limits)
      implements Admission {}

  public sealed interface Event extends CborSerializable {}

  public record Created(KeyRecord key) implements Event {}

  public record Updated(KeySettings settings) implements Event {}

  public record Revoked(long atMillis) implements Event {}

  /**
   * The tokens of {@code calls} calls that ended by {@code atMillis}, and the seconds of audio of those that were
   * speech to text (absent, so 0, in events written before the audio endpoints).
   */
  public record TokensUsed(long tokens, long calls, long atMillis, double audioSeconds) implements Event {

    public TokensUsed(long tokens, long calls, long atMillis) {
      this(tokens, calls, atMillis, 0);
    }
  }

  /** @param key null until the key is created */
  public record State(KeyRecord key) implements CborSerializable {
    boolean exists() {
      return key != null;
    }
  }

  // ---- behaviour

  private final String keyId;
  private final Limiter limiter = new Limiter();
  /** The audio seconds of ended calls not yet written (with their tokens, every second). */
  private double unwrittenAudioSeconds;
  private boolean recovered;

  private KeyAccount(String keyId, PersistenceId persistenceId) {
    super(persistenceId);
    this.keyId = keyId;
  }

  @Override
  public State emptyState() {
    return new State(null);
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    // A busy key records a call every few seconds: recover from a snapshot, not from every call since its creation.
    return RetentionCriteria.snapshotEvery(500, 2);
  }

  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder().onSignal(RecoveryCompleted.instance(), state -> recovered = true).build();
  }

  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    return newCommandHandlerWithReplyBuilder().forAnyState()
        .onCommand(Create.class, this::onCreate)
        .onCommand(Seed.class, this::onSeed)
        .onCommand(Update.class, (state, c) -> state.exists()
            ? Effect().persist(new Updated(c.settings())).thenReply(c.replyTo(), s -> new Found(s.key()))
            : Effect().reply(c.replyTo(), new NotFound()))
        .onCommand(Revoke.class, (state, c) -> !state.exists() ? Effect().reply(c.replyTo(), new NotFound())
            : state.key().revoked() ? Effect().reply(c.replyTo(), new Found(state.key()))
            : Effect().persist(new Revoked(System.currentTimeMillis()))
                .thenReply(c.replyTo(), s -> new Found(s.key())))
        .onCommand(Get.class, (state, c) ->
            Effect().reply(c.replyTo(), state.exists() ? new Found(state.key()) : new NotFound()))
        .onCommand(Authenticate.class, this::onAuthenticate)
        .onCommand(Subject.class, this::onSubject)
        .onCommand(Admit.class, this::onAdmit)
        .onCommand(Settle.class, this::onSettle)
        .onCommand(Release.class, (state, c) -> {
          limiter.release(c.ticketId());
          return Effect().noReply();
        })
        .onCommand(FlushUsage.class, (state, c) -> flush(state).thenNoReply())
        .onCommand(Stop.class, (state, c) -> flush(state).thenStop().thenNoReply())
        .build();
  }

  private EffectBuilder<Event, State> flush(State state) {
    if (!state.exists() || limiter.unwrittenTokens() == 0 && unwrittenAudioSeconds == 0) {
      return Effect().none();
    }
    long[] unwritten = limiter.takeUnwritten();
    double audio = unwrittenAudioSeconds;
    unwrittenAudioSeconds = 0;
    return Effect().persist(new TokensUsed(unwritten[0], unwritten[1], System.currentTimeMillis(), audio));
  }

  private ReplyEffect<Event, State> onCreate(State state, Create c) {
    if (state.exists()) {
      return Effect().reply(c.replyTo(), new Conflict("key id " + keyId + " is taken"));
    }
    long now = System.currentTimeMillis();
    KeyRecord key = new KeyRecord(keyId, c.prefix(), c.secretHash(), c.settings(), false, "admin", now, null,
        KeyRecord.periodStart(c.settings().budgetPeriod(), now), 0);
    return Effect().persist(new Created(key)).thenReply(c.replyTo(), s -> new Found(s.key()));
  }

  private ReplyEffect<Event, State> onSeed(State state, Seed c) {
    if (!state.exists()) {
      long now = System.currentTimeMillis();
      KeyRecord key = new KeyRecord(keyId, "", c.secretHash(), c.settings(), false, "yaml", now, null,
          KeyRecord.periodStart(c.settings().budgetPeriod(), now), 0);
      return Effect().persist(new Created(key)).thenReply(c.replyTo(), s -> Done.getInstance());
    }
    // An operator's disabling through the admin API survives a restart; everything else follows the file.
    KeySettings wanted = c.settings().withEnabled(state.key().settings().enabled());
    if (wanted.equals(state.key().settings()) || !KeySecrets.sameHash(state.key().secretHash(), c.secretHash())) {
      return Effect().reply(c.replyTo(), Done.getInstance());
    }
    return Effect().persist(new Updated(wanted)).thenReply(c.replyTo(), s -> Done.getInstance());
  }

  private ReplyEffect<Event, State> onSubject(State state, Subject c) {
    if (!state.exists()) {
      long now = System.currentTimeMillis();
      KeyRecord key = new KeyRecord(keyId, "oidc", "", c.settings(), false, "oidc", now, null,
          KeyRecord.periodStart(c.settings().budgetPeriod(), now), 0);
      return Effect().persist(new Created(key)).thenReply(c.replyTo(), s -> admitted(s.key()));
    }
    KeySettings wanted = c.settings().withEnabled(state.key().settings().enabled());
    if (!wanted.equals(state.key().settings())) {
      return Effect().persist(new Updated(wanted)).thenReply(c.replyTo(), s -> admitted(s.key()));
    }
    return Effect().reply(c.replyTo(), admitted(state.key()));
  }

  /** A key's answer to its holder: working (with what its requests carry), or why not. */
  private static Authentication admitted(KeyRecord key) {
    long now = System.currentTimeMillis();
    String refusal = switch (key.status(now)) {
      case REVOKED -> "This account has been revoked.";
      case EXPIRED -> "This account expired.";
      case DISABLED -> "This account is disabled.";
      case ACTIVE -> null;
    };
    if (refusal != null) {
      return new AuthenticationRefused(refusal);
    }
    KeySettings s = key.settings();
    return new Authenticated(new ApiKey(key.id(), s.name(), s.organization(), s.priority(), s.threshold(),
        s.defaultRoutingMode(), s.models()), s.limited(), s.adminOf());
  }

  private ReplyEffect<Event, State> onAuthenticate(State state, Authenticate c) {
    if (!state.exists() || !KeySecrets.sameHash(state.key().secretHash(), c.secretHash())) {
      return Effect().reply(c.replyTo(), new AuthenticationRefused("Incorrect API key provided."));
    }
    KeyRecord key = state.key();
    long now = System.currentTimeMillis();
    String refusal = switch (key.status(now)) {
      case REVOKED -> "This API key has been revoked.";
      case EXPIRED -> "This API key expired on " + key.settings().expiresAtText() + ".";
      case DISABLED -> "This API key is disabled.";
      case ACTIVE -> null;
    };
    if (refusal != null) {
      return Effect().reply(c.replyTo(), new AuthenticationRefused(refusal));
    }
    KeySettings s = key.settings();
    return Effect().reply(c.replyTo(), admitted(key));
  }

  private ReplyEffect<Event, State> onAdmit(State state, Admit c) {
    long now = System.currentTimeMillis();
    if (!state.exists() || state.key().status(now) != KeyStatus.ACTIVE) {
      return Effect().reply(c.replyTo(), new Denied(401, OpenAiError.authentication(
          "This API key is not active."), 0, RateLimits.NONE));
    }
    KeySettings s = state.key().settings();
    Double audioBudget = s.audioSecondsPerDay();
    if (c.audio() && audioBudget != null && state.key().audioUsedAt(now) + unwrittenAudioSeconds >= audioBudget) {
      long untilNext = KeyRecord.nextPeriodStart("day", now) - now;
      return Effect().reply(c.replyTo(), new Denied(429, OpenAiError.of("You exceeded the audio budget of this "
          + "key: " + audioBudget + " seconds of audio per day; it renews at " + Instant.ofEpochMilli(now + untilNext)
          + ".", "insufficient_quota", null, "insufficient_quota"), (untilNext + 999) / 1000,
          limiter.limits(limits(s), now)));
    }
    return Effect().reply(c.replyTo(), limiter.admit(limits(s), state.key().budgetUsedAt(now), "this key",
        c.ticketId(), c.estimatedTokens(), now));
  }

  static Limiter.Limits limits(KeySettings s) {
    return new Limiter.Limits(s.requestsPerMinute(), s.tokensPerMinute(), s.tokenBudget(), s.budgetPeriod());
  }

  private ReplyEffect<Event, State> onSettle(State state, Settle c) {
    if (state.exists()) {
      limiter.settle(c.ticketId(), c.tokens(), System.currentTimeMillis());
      unwrittenAudioSeconds += c.audioSeconds();
    }
    return Effect().noReply();
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState()
        .onEvent(Created.class, (state, e) -> new State(e.key()))
        .onEvent(Updated.class, (state, e) -> new State(state.key().withSettings(e.settings())))
        .onEvent(Revoked.class, (state, e) -> new State(state.key().revokedAt(e.atMillis())))
        .onEvent(TokensUsed.class, (state, e) -> {
          if (!recovered) {
            limiter.replay(e.tokens(), e.atMillis(), System.currentTimeMillis());
          }
          return new State(state.key().withTokensUsed(e.tokens(), e.atMillis())
              .withAudioUsed(e.audioSeconds(), e.atMillis()));
        })
        .build();
  }
}
