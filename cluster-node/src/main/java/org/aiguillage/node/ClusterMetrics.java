package org.aiguillage.node;

import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.aiguillage.actors.ModelQueue;
import org.aiguillage.actors.accounts.KeyAccount;
import org.aiguillage.actors.accounts.OrganizationAccount;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.cluster.sharding.typed.ClusterShardingQuery;
import org.apache.pekko.cluster.sharding.typed.GetShardRegionState;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * The cluster as this node sees it, in Prometheus text: its members by status, the unreachable ones, and the shards
 * it hosts of each kind (read every 5 seconds; a region that does not answer keeps its last figure). Written at
 * scrape time from the node's own actor system, so several nodes in one JVM each tell their own.
 */
final class ClusterMetrics {

  private static final Duration EVERY = Duration.ofSeconds(5);
  private static final Map<String, EntityTypeKey<?>> REGIONS = Map.of(
      "model-queue", ModelQueue.TYPE_KEY,
      "key-account", KeyAccount.TYPE_KEY,
      "organization-account", OrganizationAccount.TYPE_KEY);

  private final ActorSystem<?> system;
  private final Map<String, Integer> shards = new ConcurrentHashMap<>();

  ClusterMetrics(ActorSystem<?> system, boolean hostsShards) {
    this.system = system;
    if (hostsShards) {
      system.scheduler().scheduleWithFixedDelay(Duration.ofSeconds(1), EVERY, this::readShards,
          system.executionContext());
    }
  }

  private void readShards() {
    REGIONS.forEach((name, type) -> AskPattern.<ClusterShardingQuery, ShardRegion.CurrentShardRegionState>ask(
            ClusterSharding.get(system).shardState(),
            replyTo -> new GetShardRegionState(type, replyTo), EVERY, system.scheduler())
        .whenComplete((state, failure) -> {
          if (state != null) {
            shards.put(name, state.getShards().size());
          }
        }));
  }

  String scrape() {
    StringBuilder out = new StringBuilder(512);
    ClusterEvent.CurrentClusterState state = Cluster.get(system).state();
    Map<MemberStatus, Integer> byStatus = new java.util.HashMap<>();
    for (Member m : state.getMembers()) {
      byStatus.merge(m.status(), 1, Integer::sum);
    }
    out.append("# HELP aiguillage_cluster_members members as this node sees them, by status\n")
        .append("# TYPE aiguillage_cluster_members gauge\n");
    for (String status : new String[] {"up", "joining", "weakly-up", "leaving", "exiting", "down"}) {
      int n = byStatus.entrySet().stream().filter(e -> wireName(e.getKey()).equals(status))
          .mapToInt(Map.Entry::getValue).sum();
      out.append("aiguillage_cluster_members{status=\"").append(status).append("\"} ").append(n).append('\n');
    }
    out.append("# HELP aiguillage_cluster_unreachable members this node cannot reach now\n")
        .append("# TYPE aiguillage_cluster_unreachable gauge\n")
        .append("aiguillage_cluster_unreachable ").append(state.getUnreachable().size()).append('\n');
    if (!shards.isEmpty()) {
      out.append("# HELP aiguillage_shards shards hosted on this node\n").append("# TYPE aiguillage_shards gauge\n");
      new java.util.TreeMap<>(shards).forEach((type, n) ->
          out.append("aiguillage_shards{type=\"").append(type).append("\"} ").append(n).append('\n'));
    }
    return out.toString();
  }

  private static String wireName(MemberStatus status) {
    String s = status.toString().toLowerCase(Locale.ROOT);
    return s.equals("weaklyup") ? "weakly-up" : s;
  }
}
