package org.aiguillage.node;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchService;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.aiguillage.actors.accounts.Accounts;
import org.aiguillage.actors.fleet.FleetRegistry;
import org.aiguillage.protocol.config.ConfigException;
import org.aiguillage.protocol.config.FederationConfig;
import org.aiguillage.protocol.config.HttpSettings;
import org.apache.pekko.actor.typed.ActorSystem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The configuration in force, and its reload while the node serves (decision 012): from {@code SIGHUP}, {@code
 * POST /admin/config/reload} or a change of the file (a Kubernetes ConfigMap update swaps the mounted file).
 *
 * <p>A file that does not parse or validate is refused whole, with the start's path-naming message, and the running
 * configuration stays. Otherwise its models and servers are applied to the fleet registry (what the file owns follows
 * it; each change is a log line), its keys are created or brought up to date, and its limits, admin token and body
 * sizes take effect; what cannot change while the node runs (the node's roles and datacentre, the cluster, the
 * database, the HTTP address) is kept, and the report says so.
 */
final class ConfigReload {

  /** What a reload did: the changes, one line each, and what was kept because only a restart changes it. */
  record Report(String at, List<String> changes, List<String> kept, List<String> warnings) {}

  /** A reload refused: why, naming the file's key. */
  static final class Refused extends RuntimeException {
    Refused(String message) {
      super(message);
    }
  }

  private final ActorSystem<?> system;
  private final Logger log;
  private final Optional<Path> file;
  private final Supplier<FederationConfig> source;
  private final FleetView fleet;
  private final Accounts accounts;
  private final AtomicReference<FederationConfig> inForce;
  private volatile Report last;

  /**
   * @param file the configuration file, if the node was started from one (the demo and tests may have none)
   * @param source reads and validates the file again (with the environment's overrides)
   */
  ConfigReload(ActorSystem<?> system, FederationConfig initial, Optional<Path> file,
      Supplier<FederationConfig> source, FleetView fleet, Accounts accounts) {
    this.system = system;
    this.log = LoggerFactory.getLogger(ConfigReload.class);
    this.file = file;
    this.source = source;
    this.fleet = fleet;
    this.accounts = accounts;
    this.inForce = new AtomicReference<>(initial);
  }

  /** The configuration in force: the file's as last applied (its models as the registry holds them: see FleetView). */
  FederationConfig inForce() {
    return inForce.get();
  }

  Optional<Path> file() {
    return file;
  }

  /** The report of the start or of the last reload. */
  Report last() {
    return last;
  }

  /** Applies the configuration's models to the registry, as at start; logs each change. */
  CompletionStage<Report> apply(FederationConfig config, List<String> kept) {
    String owner = FleetRegistry.fileOf(config.node().datacenter());
    boolean servers = config.node().has("agent");
    return fleet.ask(replyTo -> new FleetRegistry.Apply(owner, config.models(), servers, replyTo)).thenApply(reply -> {
      if (!(reply instanceof FleetRegistry.Applied applied)) {
        throw new IllegalStateException("the fleet registry answered " + reply);
      }
      applied.warnings().forEach(w -> log.warn("configuration: {}", w));
      applied.changes().forEach(change -> log.info("configuration: {}", change));
      kept.forEach(k -> log.warn("configuration: {} is kept as it is: only a restart changes it", k));
      Report report = new Report(Instant.now().toString(), applied.changes(), kept, applied.warnings());
      last = report;
      return report;
    });
  }

  /** Reads the file again and applies it; a file that does not parse or validate changes nothing. */
  synchronized CompletionStage<Report> reload() {
    FederationConfig next;
    try {
      next = source.get();
    } catch (ConfigException e) {
      log.warn("configuration reload refused, the running configuration stays: {}", e.getMessage());
      return CompletableFuture.failedFuture(new Refused(e.getMessage()));
    }
    FederationConfig running = inForce.get();
    List<String> kept = new ArrayList<>();
    if (!Objects.equals(next.node(), running.node())) {
      kept.add("node (roles, datacenter)");
    }
    if (!Objects.equals(next.cluster(), running.cluster())) {
      kept.add("cluster");
    }
    if (!Objects.equals(next.persistence(), running.persistence())) {
      kept.add("persistence");
    }
    HttpSettings http = next.http();
    if (!Objects.equals(http.host(), running.http().host()) || !Objects.equals(http.port(), running.http().port())) {
      kept.add("http.host and http.port");
    }
    if (!Objects.equals(http.maxConnections(), running.http().maxConnections())) {
      kept.add("http.max_connections");
    }
    // The settings that cannot change while the node runs stay as they are; the rest takes effect.
    FederationConfig applied = next.withHttp(new HttpSettings(running.http().host(), running.http().port(),
            http.maxBodyBytes(), http.maxAudioBytes(), running.http().maxConnections()))
        .withNode(running.node()).withCluster(running.cluster()).withPersistence(running.persistence());
    List<CompletableFuture<org.apache.pekko.Done>> keys = applied.tokens().stream()
        .map(t -> accounts.seed(t).toCompletableFuture()).toList();
    return CompletableFuture.allOf(keys.toArray(CompletableFuture[]::new))
        .thenCompose(v -> apply(applied, kept))
        .thenApply(report -> {
          accounts.acceptTokensOf(applied.oidc());
          inForce.set(applied);
          return report;
        });
  }

  /**
   * Watches the file's directory and reloads when the file's content changes: an edit in place, or Kubernetes'
   * swap of a ConfigMap's mounted files (a rename of its {@code ..data} link, not an event on the file itself).
   */
  void watchFile() {
    if (file.isEmpty()) {
      return;
    }
    Path path = file.get().toAbsolutePath();
    Thread watcher = new Thread(() -> {
      try (WatchService watch = FileSystems.getDefault().newWatchService()) {
        path.getParent().register(watch, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY,
            StandardWatchEventKinds.ENTRY_DELETE);
        String seen = content(path);
        while (!Thread.currentThread().isInterrupted()) {
          var key = watch.take();
          key.pollEvents();
          key.reset();
          Thread.sleep(200); // let a writer finish
          String now = content(path);
          if (now != null && !now.equals(seen)) {
            seen = now;
            log.info("configuration file {} changed: reloading", path);
            reload().whenComplete((r, failure) -> { });
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (IOException e) {
        log.warn("cannot watch the configuration file {}: {} (SIGHUP and POST /admin/config/reload still reload)",
            path, e.getMessage());
      }
    }, "aiguillage-config-watch");
    watcher.setDaemon(true);
    watcher.start();
    system.getWhenTerminated().thenRun(watcher::interrupt);
  }

  /** Reloads on {@code SIGHUP}, where the JVM lets a program handle it. */
  void onHangUp() {
    if (file.isEmpty()) {
      return;
    }
    try {
      sun.misc.Signal.handle(new sun.misc.Signal("HUP"), signal -> {
        log.info("SIGHUP: reloading the configuration file {}", file.get());
        reload();
      });
    } catch (IllegalArgumentException | UnsupportedOperationException e) {
      log.warn("SIGHUP cannot be handled here ({}): reload with POST /admin/config/reload", e.getMessage());
    }
  }

  private static String content(Path path) {
    try {
      return Files.readString(path);
    } catch (IOException e) {
      return null;
    }
  }
}
