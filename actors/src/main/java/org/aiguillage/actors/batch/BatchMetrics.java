package org.aiguillage.actors.batch;

import kamon.Kamon;
import kamon.metric.Counter;
import kamon.metric.Gauge;
import kamon.tag.TagSet;
import org.aiguillage.protocol.batch.BatchObject;

/**
 * What operators see of one batch while it runs: its lines waiting, completed and failed, and its progress (0 to 1),
 * tagged with the batch and its organisation; gone once it finished. Its entity is the only one to write them, so
 * a cluster reports each batch once. Lines settled are also counted per organisation, for rates.
 */
final class BatchMetrics {

  private final Counter completed;
  private final Counter failed;
  private final Gauge waitingLines;
  private final Gauge completedLines;
  private final Gauge failedLines;
  private final Gauge progress;
  private boolean removed;

  BatchMetrics(String batchId, String organization) {
    TagSet tags = TagSet.builder().add("batch", batchId).add("organization", organization).build();
    TagSet byOrganization = TagSet.of("organization", organization);
    this.completed = Kamon.counter("aiguillage_batch_lines_settled", "batch lines with a result written")
        .withTags(byOrganization.withTag("outcome", "completed"));
    this.failed = Kamon.counter("aiguillage_batch_lines_settled", "batch lines with a result written")
        .withTags(byOrganization.withTag("outcome", "failed"));
    this.waitingLines = lines(tags, "waiting");
    this.completedLines = lines(tags, "completed");
    this.failedLines = lines(tags, "failed");
    this.progress = Kamon.gauge("aiguillage_batch_progress", "the share of a running batch's lines settled")
        .withTags(tags);
  }

  private static Gauge lines(TagSet tags, String state) {
    return Kamon.gauge("aiguillage_batch_lines", "a running batch's lines, by state")
        .withTags(tags.withTag("state", state));
  }

  void settled(boolean ok) {
    (ok ? completed : failed).increment();
  }

  /** The batch as it stands; a finished one's figures are removed, for good. */
  void show(BatchObject batch, boolean finished) {
    if (removed) {
      return;
    }
    if (finished) {
      removed = true;
      for (Gauge g : new Gauge[] {waitingLines, completedLines, failedLines, progress}) {
        g.remove();
      }
      return;
    }
    BatchObject.RequestCounts counts = batch.requestCounts();
    waitingLines.update(Math.max(0, counts.total() - counts.completed() - counts.failed()));
    completedLines.update(counts.completed());
    failedLines.update(counts.failed());
    progress.update(batch.progress());
  }
}
