package org.aiguillage.actors.accounts;

import org.aiguillage.protocol.CborSerializable;
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
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

/**
 * One organisation of the federation and its account: a description and limits shared by all its keys (a
 * university-wide budget, say), counted here, once for the cluster. An organisation without limits costs its
 * keys' requests nothing: edges remember that for half a second.
 */
public final class OrganizationAccount extends EventSourcedBehaviorWithEnforcedReplies<OrganizationAccount.Command,
    OrganizationAccount.Event, OrganizationAccount.State> {

  public static final EntityTypeKey<Command> TYPE_KEY = EntityTypeKey.create(Command.class, "OrganizationAccount");

  public static void initSharding(ActorSystem<?> system) {
    ClusterSharding.get(system).init(Entity.of(TYPE_KEY, ctx ->
            create(ctx.getEntityId(), PersistenceId.of(ctx.getEntityTypeKey().name(), ctx.getEntityId())))
        .withStopMessage(new Stop()));
  }

  public static Behavior<Command> create(String name, PersistenceId persistenceId) {
    return Behaviors.withTimers(timers -> {
      timers.startTimerWithFixedDelay(new FlushUsage(), KeyAccount.FLUSH_INTERVAL);
      return new OrganizationAccount(name, persistenceId);
    });
  }

  /** What an operator sets on an organisation. Null limits: none. */
  public record Settings(String description, Integer requestsPerMinute, Long tokensPerMinute, Long tokenBudget,
      String budgetPeriod) implements CborSerializable {
    public Settings {
      budgetPeriod = budgetPeriod == null ? "month" : budgetPeriod;
    }

    Limiter.Limits limits() {
      return new Limiter.Limits(requestsPerMinute, tokensPerMinute, tokenBudget, budgetPeriod);
    }
  }

  /** @param budgetPeriodStartMillis the start of the period {@code budgetUsed} counts in */
  public record Organization(String name, Settings settings, long createdAtMillis, long budgetPeriodStartMillis,
      long budgetUsed) implements CborSerializable {

    public long budgetUsedAt(long nowMillis) {
      return KeyRecord.periodStart(settings.budgetPeriod(), nowMillis) == budgetPeriodStartMillis ? budgetUsed : 0;
    }
  }

  public sealed interface Command extends CborSerializable {}

  /** Create, or change the settings of, the organisation. */
  public record Put(Settings settings, ActorRef<Reply> replyTo) implements Command {}

  public record Get(ActorRef<Reply> replyTo) implements Command {}

  /** May this call go ahead under the organisation's limits? ({@code limited} in the answer says if there are any.) */
  public record Admit(String ticketId, long estimatedTokens, ActorRef<Admission> replyTo) implements Command {}

  public record Settle(String ticketId, long tokens) implements Command {}

  public record Release(String ticketId) implements Command {}

  public record FlushUsage() implements Command {}

  public record Stop() implements Command {}

  public sealed interface Reply extends CborSerializable {}

  public record Found(Organization organization) implements Reply {}

  public record NotFound() implements Reply {}

  /** @param limited whether the organisation has limits, so that its keys' calls must be admitted here */
  public record Admission(KeyAccount.Admission admission, boolean limited) implements CborSerializable {}

  public sealed interface Event extends CborSerializable {}

  public record Created(Settings settings, long atMillis) implements Event {}

  public record Updated(Settings settings) implements Event {}

  public record TokensUsed(long tokens, long calls, long atMillis) implements Event {}

  /** @param organization null until created */
  public record State(Organization organization) implements CborSerializable {}

  private final String name;
  private final Limiter limiter = new Limiter();
  private boolean recovered;

  private OrganizationAccount(String name, PersistenceId persistenceId) {
    super(persistenceId);
    this.name = name;
  }

  @Override
  public State emptyState() {
    return new State(null);
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(500, 2);
  }

  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder().onSignal(RecoveryCompleted.instance(), state -> recovered = true).build();
  }

  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    return newCommandHandlerWithReplyBuilder().forAnyState()
        .onCommand(Put.class, (state, c) -> Effect()
            .persist(state.organization() == null ? new Created(c.settings(), System.currentTimeMillis())
                : new Updated(c.settings()))
            .thenReply(c.replyTo(), s -> new Found(s.organization())))
        .onCommand(Get.class, (state, c) -> Effect().reply(c.replyTo(),
            state.organization() == null ? new NotFound() : new Found(state.organization())))
        .onCommand(Admit.class, (state, c) -> {
          Organization o = state.organization();
          if (o == null || !o.settings().limits().any()) {
            return Effect().reply(c.replyTo(), new Admission(new KeyAccount.Admitted(RateLimits.NONE), false));
          }
          long now = System.currentTimeMillis();
          return Effect().reply(c.replyTo(), new Admission(limiter.admit(o.settings().limits(), o.budgetUsedAt(now),
              "organisation " + name, c.ticketId(), c.estimatedTokens(), now), true));
        })
        .onCommand(Settle.class, (state, c) -> {
          if (state.organization() != null) {
            limiter.settle(c.ticketId(), c.tokens(), System.currentTimeMillis());
          }
          return Effect().noReply();
        })
        .onCommand(Release.class, (state, c) -> {
          limiter.release(c.ticketId());
          return Effect().noReply();
        })
        .onCommand(FlushUsage.class, (state, c) -> flush(state).thenNoReply())
        .onCommand(Stop.class, (state, c) -> flush(state).thenStop().thenNoReply())
        .build();
  }

  private EffectBuilder<Event, State> flush(State state) {
    if (state.organization() == null || limiter.unwrittenTokens() == 0) {
      return Effect().none();
    }
    long[] unwritten = limiter.takeUnwritten();
    return Effect().persist(new TokensUsed(unwritten[0], unwritten[1], System.currentTimeMillis()));
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState()
        .onEvent(Created.class, (state, e) -> new State(new Organization(name, e.settings(), e.atMillis(),
            KeyRecord.periodStart(e.settings().budgetPeriod(), e.atMillis()), 0)))
        .onEvent(Updated.class, (state, e) -> {
          Organization o = state.organization();
          return new State(new Organization(name, e.settings(), o.createdAtMillis(), o.budgetPeriodStartMillis(),
              o.budgetUsed()));
        })
        .onEvent(TokensUsed.class, (state, e) -> {
          if (!recovered) {
            limiter.replay(e.tokens(), e.atMillis(), System.currentTimeMillis());
          }
          Organization o = state.organization();
          long period = KeyRecord.periodStart(o.settings().budgetPeriod(), e.atMillis());
          long used = period == o.budgetPeriodStartMillis() ? o.budgetUsed() + e.tokens() : e.tokens();
          return new State(new Organization(name, o.settings(), o.createdAtMillis(), period, used));
        })
        .build();
  }
}
