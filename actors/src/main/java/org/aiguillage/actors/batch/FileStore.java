package org.aiguillage.actors.batch;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.aiguillage.protocol.batch.FileObject;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * Where the Batch API's files live: uploads, and batches' output and error files. Every node reads the same files.
 * Bytes go in and come out as streams, never whole in memory. The journal database holds them ({@link JdbcFileStore});
 * an object store (S3) would be another implementation of this.
 */
public interface FileStore {

  /**
   * Stores a file's bytes as they come; the file is listed once {@link #register} names it. The stage completes with
   * the number of bytes stored, or fails (a database error, or {@code maxBytes} passed: {@link TooLarge}) with
   * nothing left behind.
   */
  Sink<ByteString, CompletionStage<Long>> write(String fileId, long maxBytes);

  /** Lists a file whose bytes {@link #write} stored. */
  CompletionStage<FileObject> register(String fileId, String organization, String filename, String purpose,
      long bytes);

  /** The file, when it exists and belongs to {@code organization}. */
  CompletionStage<Optional<FileObject>> get(String fileId, String organization);

  /** The organisation's files, newest first, {@code purpose} only when given, after the file {@code after}. */
  CompletionStage<List<FileObject>> list(String organization, Optional<String> purpose, Optional<String> after,
      int limit);

  /** The file's bytes, in the order they were written. */
  Source<ByteString, NotUsed> content(String fileId);

  /** Removes the file and its bytes; false when it did not exist (or was another organisation's). */
  CompletionStage<Boolean> delete(String fileId, String organization);

  /** Removes a file, listed or not, whoever's it is (a batch writing its output file again after a restart). */
  CompletionStage<Void> purge(String fileId);

  /** A file longer than its store accepts. */
  final class TooLarge extends RuntimeException {
    public TooLarge(long maxBytes) {
      super("The file is larger than this dispatcher accepts (" + maxBytes + " bytes).");
    }
  }
}
