package org.aiguillage.protocol.batch;

import org.aiguillage.protocol.CborSerializable;

/**
 * A stored file as OpenAI's Files API gives it ({@code POST /v1/files}, {@code GET /v1/files/{id}}): an upload of an
 * organisation, or a batch's output or error file.
 *
 * @param createdAt seconds since the epoch
 * @param status always {@code processed}: a file is listed once its last byte is stored
 */
public record FileObject(String id, String object, long bytes, long createdAt, String filename, String purpose,
    String status) implements CborSerializable {

  public static FileObject of(String id, long bytes, long createdAt, String filename, String purpose) {
    return new FileObject(id, "file", bytes, createdAt, filename, purpose, "processed");
  }
}
