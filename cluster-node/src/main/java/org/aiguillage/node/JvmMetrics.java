package org.aiguillage.node;

import com.sun.management.UnixOperatingSystemMXBean;
import java.io.IOException;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.lang.management.OperatingSystemMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The process's own health in Prometheus text, read when scraped: heap and its pools (after their last collection
 * too: the figure that shows memory kept per request), collections, threads, file descriptors and resident memory.
 * Named as the Prometheus Java client names them, so the usual JVM dashboards and alerts read them unchanged.
 * Kamon's system-metrics module would add a dependency and a sampling thread for the same few figures.
 */
final class JvmMetrics {

  private JvmMetrics() {}

  static String scrape() {
    StringBuilder out = new StringBuilder(2048);
    MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
    MemoryUsage nonHeap = ManagementFactory.getMemoryMXBean().getNonHeapMemoryUsage();
    header(out, "jvm_memory_used_bytes", "gauge", "Bytes used in a JVM memory area.");
    sample(out, "jvm_memory_used_bytes{area=\"heap\"}", heap.getUsed());
    sample(out, "jvm_memory_used_bytes{area=\"nonheap\"}", nonHeap.getUsed());
    header(out, "jvm_memory_committed_bytes", "gauge", "Bytes committed in a JVM memory area.");
    sample(out, "jvm_memory_committed_bytes{area=\"heap\"}", heap.getCommitted());
    sample(out, "jvm_memory_committed_bytes{area=\"nonheap\"}", nonHeap.getCommitted());
    header(out, "jvm_memory_max_bytes", "gauge", "Most bytes a JVM memory area may use (-1: no limit).");
    sample(out, "jvm_memory_max_bytes{area=\"heap\"}", heap.getMax());

    header(out, "jvm_memory_pool_used_bytes", "gauge", "Bytes used in a heap pool.");
    for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == MemoryType.HEAP) {
        sample(out, "jvm_memory_pool_used_bytes{pool=\"" + pool.getName() + "\"}", pool.getUsage().getUsed());
      }
    }
    header(out, "jvm_memory_pool_collection_used_bytes", "gauge",
        "Bytes used in a heap pool right after its last collection: a rising floor means memory kept.");
    for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
      MemoryUsage afterGc = pool.getType() == MemoryType.HEAP ? pool.getCollectionUsage() : null;
      if (afterGc != null) {
        sample(out, "jvm_memory_pool_collection_used_bytes{pool=\"" + pool.getName() + "\"}", afterGc.getUsed());
      }
    }

    header(out, "jvm_gc_collection_seconds", "summary", "Time spent in a given JVM garbage collector.");
    for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      sample(out, "jvm_gc_collection_seconds_count{gc=\"" + gc.getName() + "\"}", gc.getCollectionCount());
      sample(out, "jvm_gc_collection_seconds_sum{gc=\"" + gc.getName() + "\"}", gc.getCollectionTime() / 1000.0);
    }

    header(out, "jvm_threads_current", "gauge", "Current thread count of the JVM.");
    sample(out, "jvm_threads_current", ManagementFactory.getThreadMXBean().getThreadCount());

    OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
    if (os instanceof UnixOperatingSystemMXBean unix) {
      header(out, "process_open_fds", "gauge", "Number of open file descriptors.");
      sample(out, "process_open_fds", unix.getOpenFileDescriptorCount());
      header(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
      sample(out, "process_max_fds", unix.getMaxFileDescriptorCount());
    }
    if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
      header(out, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
      sample(out, "process_cpu_seconds_total", sun.getProcessCpuTime() / 1e9);
    }
    long rss = residentBytes();
    if (rss >= 0) {
      header(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
      sample(out, "process_resident_memory_bytes", rss);
    }
    return out.toString();
  }

  /** VmRSS from Linux's {@code /proc/self/status}; -1 elsewhere. */
  private static long residentBytes() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }
      }
    } catch (IOException | RuntimeException e) {
      // not Linux, or /proc not mounted
    }
    return -1;
  }

  private static void header(StringBuilder out, String name, String type, String help) {
    out.append("# HELP ").append(name).append(' ').append(help).append('\n')
        .append("# TYPE ").append(name).append(' ').append(type).append('\n');
  }

  private static void sample(StringBuilder out, String series, double value) {
    out.append(series).append(' ');
    if (value == Math.rint(value) && Math.abs(value) < 1e15) {
      out.append((long) value);
    } else {
      out.append(String.format(Locale.ROOT, "%.6f", value));
    }
    out.append('\n');
  }
}
