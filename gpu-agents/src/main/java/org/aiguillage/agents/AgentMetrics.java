package org.aiguillage.agents;

import java.util.EnumMap;
import java.util.HashMap;
import java.util.Map;
import kamon.Kamon;
import kamon.metric.Counter;
import kamon.metric.Gauge;
import kamon.metric.Histogram;
import kamon.metric.MeasurementUnit;
import kamon.tag.TagSet;
import org.aiguillage.agents.SseEvents.Usage;
import org.aiguillage.protocol.accounting.UsageRecord;
import org.aiguillage.protocol.dispatch.ServerState;

/**
 * One agent's instruments (names in docs/metrics.md), looked up once, not on every call: its server's state and load
 * as gauges, its calls, tokens, energy and emissions as counters, first-token times as histograms. The gauges go when
 * the agent stops, so a removed server leaves no stale series.
 */
final class AgentMetrics {

  private final String model;
  private final String server;
  private final Histogram serverTtft;
  private final Map<Integer, Histogram> ttftByPriority = new HashMap<>();
  private final Map<String, Counter> calls = new HashMap<>();
  private final Counter promptTokens;
  private final Counter completionTokens;
  private final Counter audioSeconds;
  private final Map<String, Counter> keyCounters = new HashMap<>();
  /** What the energy and emission counters (whole mWh and mg) have not been given yet, per series. */
  private final Map<String, double[]> remainders = new HashMap<>();
  private final EnumMap<ServerState, Gauge> state = new EnumMap<>(ServerState.class);
  private final TagSet serverTags;
  private final Gauge inFlight;
  private final Gauge maxParallel;
  private final Gauge running;
  private final Gauge waiting;
  private final Gauge kvCache;
  private final Gauge stepSeconds;
  private final Counter prefixQueries;
  private final Counter prefixHits;
  private double lastPrefixQueries = -1;
  private double lastPrefixHits = -1;
  private double lastGapSeconds = -1;
  private double lastGaps = -1;

  AgentMetrics(String model, String server, String organization, String datacenter) {
    this.model = model;
    this.server = server;
    this.serverTags = tags("model", model, "server", server);
    this.serverTtft = Kamon.histogram("aiguillage_server_ttft_seconds",
            "time from the call to the server to its first event", MeasurementUnit.time().nanoseconds())
        .withTags(serverTags);
    this.promptTokens = tokens("prompt");
    this.completionTokens = tokens("completion");
    this.audioSeconds = Kamon.counter("aiguillage_audio_seconds", "seconds of audio heard by speech-to-text servers")
        .withTags(tags("model", model));
    for (ServerState s : ServerState.values()) {
      state.put(s, Kamon.gauge("aiguillage_server_state", "1 for the server's state now, 0 for the others")
          .withTags(tags("model", model, "server", server, "organization", organization, "datacenter", datacenter,
              "state", s.wireName())));
    }
    this.inFlight = gauge("aiguillage_server_in_flight", "calls this dispatcher has open on the server");
    this.maxParallel = gauge("aiguillage_server_max_parallel", "the server's max_parallel_requests");
    this.running = gauge("aiguillage_server_running", "requests the server says it runs");
    this.waiting = gauge("aiguillage_server_waiting", "requests queued in the server itself");
    this.kvCache = gauge("aiguillage_server_kv_cache_usage", "the server's KV-cache use, 0 to 1");
    this.stepSeconds = gauge("aiguillage_server_step_seconds",
        "the server's mean time between tokens since the last scrape");
    this.prefixQueries = Kamon.counter("aiguillage_server_prefix_cache_queries",
        "prompt tokens the server looked up in its prefix cache").withTags(serverTags);
    this.prefixHits = Kamon.counter("aiguillage_server_prefix_cache_hits",
        "prompt tokens the server found in its prefix cache").withTags(serverTags);
  }

  private Counter tokens(String kind) {
    return Kamon.counter("aiguillage_tokens", "tokens reported by the servers").withTags(tags("model", model, "kind",
        kind));
  }

  private Gauge gauge(String name, String description) {
    return Kamon.gauge(name, description).withTags(serverTags);
  }

  /** The agent's view of its server now: its state, the calls open on it and its ceiling. */
  void observe(ServerState now, int callsOpen, int ceiling) {
    state.forEach((s, g) -> g.update(s == now ? 1 : 0));
    inFlight.update(callsOpen);
    maxParallel.update(ceiling);
  }

  /** A scrape of the server's metrics: its own figures, and the counters' increase since the last one. */
  void scraped(ServerLoad load) {
    if (load.running() >= 0) {
      running.update(load.running());
    }
    if (load.waiting() >= 0) {
      waiting.update(load.waiting());
    }
    if (load.kvCacheUsage() >= 0) {
      kvCache.update(load.kvCacheUsage());
    }
    if (load.tokenGaps() >= 0 && lastGaps >= 0 && load.tokenGaps() > lastGaps) {
      stepSeconds.update((load.tokenGapSeconds() - lastGapSeconds) / (load.tokenGaps() - lastGaps));
    }
    lastGapSeconds = load.tokenGapSeconds();
    lastGaps = load.tokenGaps();
    lastPrefixQueries = increase(prefixQueries, lastPrefixQueries, load.prefixCacheQueries());
    lastPrefixHits = increase(prefixHits, lastPrefixHits, load.prefixCacheHits());
  }

  /** Adds a server counter's increase; a counter that went down means the server restarted: it counts from 0. */
  private static double increase(Counter counter, double last, double now) {
    if (now < 0) {
      return last;
    }
    double delta = last < 0 ? 0 : now >= last ? now - last : now;
    if (delta >= 1) {
      counter.increment(Math.round(delta));
    }
    return now;
  }

  void firstEvent(long sinceCallNanos, long sinceArrivalNanos, int priority) {
    serverTtft.record(sinceCallNanos);
    ttftByPriority.computeIfAbsent(priority, p -> Kamon.histogram("aiguillage_ttft_seconds",
            "time from the request's arrival to its first event, queue wait included",
            MeasurementUnit.time().nanoseconds())
        .withTags(tags("model", model, "priority", Integer.toString(p))))
        .record(Math.max(0, sinceArrivalNanos));
  }

  /** A call ended: its outcome, tokens, audio, and its key's share of them with the energy and emissions. */
  void callEnded(String endpoint, String outcome, Usage usage, double audio, UsageRecord record) {
    calls.computeIfAbsent(endpoint + "|" + outcome, k -> Kamon.counter("aiguillage_server_calls",
            "calls made to inference servers")
        .withTags(tags("model", model, "server", server, "endpoint", endpoint, "outcome", outcome))).increment();
    promptTokens.increment(usage.promptTokens());
    completionTokens.increment(usage.completionTokens());
    if (audio > 0) {
      audioSeconds.increment(Math.round(audio));
    }
    String key = record.keyId() + "|" + record.organization();
    keyCounter(key, "prompt").increment(record.promptTokens());
    keyCounter(key, "completion").increment(record.completionTokens());
    double[] left = remainders.computeIfAbsent(key, k -> new double[2]);
    left[0] += record.energyJoules() / 3.6; // mWh
    left[1] += record.co2eGrams() * 1000; // mg
    long mwh = (long) left[0];
    long mg = (long) left[1];
    if (mwh > 0) {
      keyCounter(key, "energy").increment(mwh);
      left[0] -= mwh;
    }
    if (mg > 0) {
      keyCounter(key, "co2e").increment(mg);
      left[1] -= mg;
    }
  }

  private Counter keyCounter(String key, String what) {
    return keyCounters.computeIfAbsent(key + "|" + what, k -> {
      String[] kv = key.split("\\|", 2);
      return switch (what) {
        case "energy" -> Kamon.counter("aiguillage_energy_milliwatt_hours",
                "energy of the calls, datacentre overhead included, in mWh")
            .withTags(tags("key", kv[0], "organization", kv[1], "model", model));
        case "co2e" -> Kamon.counter("aiguillage_co2e_milligrams", "emissions of the calls' energy, in mg CO2e")
            .withTags(tags("key", kv[0], "organization", kv[1], "model", model));
        default -> Kamon.counter("aiguillage_key_tokens", "tokens reported by the servers, per key")
            .withTags(tags("key", kv[0], "organization", kv[1], "model", model, "kind", what));
      };
    });
  }

  /** The agent stopped: its server's gauges go (counters and histograms stay, as Prometheus expects of them). */
  void remove() {
    state.values().forEach(Gauge::remove);
    for (Gauge g : new Gauge[] {inFlight, maxParallel, running, waiting, kvCache, stepSeconds}) {
      g.remove();
    }
  }

  static TagSet tags(String... keysAndValues) {
    TagSet.Builder builder = TagSet.builder();
    for (int i = 0; i < keysAndValues.length; i += 2) {
      builder.add(keysAndValues[i], keysAndValues[i + 1]);
    }
    return builder.build();
  }
}
