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

  private static final String LINES = "aiguillage_batch_lines";
  private static final String PROGRESS = "aiguillage_batch_progress";

  private final TagSet tags;
  private final Counter completed;
  private final Counter failed;

  BatchMetrics(String batchId, String organization) {
    this.tags = TagSet.builder().add("batch", batchId).add("organization", organization).build();
    TagSet byOrganization = TagSet.of("organization", organization);
    this.completed = Kamon.counter("aiguillage_batch_lines_settled", "batch lines with a result written")
        .withTags(byOrganization.withTag("outcome", "completed"));
    this.failed = Kamon.counter("aiguillage_batch_lines_settled", "batch lines with a result written")
        .withTags(byOrganization.withTag("outcome", "failed"));
  }

  void settled(boolean ok) {
    (ok ? completed : failed).increment();
  }

  /** The batch as it stands; a finished one's figures are removed. */
  void show(BatchObject batch, boolean finished) {
    if (finished) {
      for (String state : new String[] {"waiting", "completed", "failed"}) {
        Kamon.gauge(LINES).remove(tags.withTag("state", state));
      }
      Kamon.gauge(PROGRESS).remove(tags);
      return;
    }
    BatchObject.RequestCounts counts = batch.requestCounts();
    lines("waiting").update(Math.max(0, counts.total() - counts.completed() - counts.failed()));
    lines("completed").update(counts.completed());
    lines("failed").update(counts.failed());
    Kamon.gauge(PROGRESS, "the share of a running batch's lines settled").withTags(tags).update(batch.progress());
  }

  private Gauge lines(String state) {
    return Kamon.gauge(LINES, "a running batch's lines, by state").withTags(tags.withTag("state", state));
  }
}
