package org.aiguillage.protocol.audio;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * The duration of a WAV (RIFF) file from its first bytes: what a speech-to-text call is accounted by when its server
 * does not say how much audio it heard. Other formats (MP3, FLAC, Ogg, M4A) would need a decoder: their duration
 * comes from the server's answer or is left unknown.
 */
public final class WavHeader {

  /** How much of a file's start is enough to find its format and data chunks. */
  public static final int PREFIX_BYTES = 4096;

  private WavHeader() {}

  /**
   * @param prefix the file's first bytes (up to {@link #PREFIX_BYTES})
   * @param fileBytes the whole file's length, for a data chunk whose size the writer left open
   * @return the seconds of audio, or -1 when this is not a WAV file it can read
   */
  public static double seconds(byte[] prefix, long fileBytes) {
    ByteBuffer b = ByteBuffer.wrap(prefix).order(ByteOrder.LITTLE_ENDIAN);
    if (prefix.length < 12 || !tag(prefix, 0, "RIFF") || !tag(prefix, 8, "WAVE")) {
      return -1;
    }
    long byteRate = -1;
    int at = 12;
    while (at + 8 <= prefix.length) {
      long size = b.getInt(at + 4) & 0xFFFFFFFFL;
      if (tag(prefix, at, "fmt ") && at + 20 <= prefix.length) {
        byteRate = b.getInt(at + 8 + 8) & 0xFFFFFFFFL;
      } else if (tag(prefix, at, "data")) {
        if (byteRate <= 0) {
          return -1;
        }
        long available = fileBytes - (at + 8);
        long data = size == 0xFFFFFFFFL || size == 0 || size > available ? available : size;
        return Math.max(0, data) / (double) byteRate;
      }
      at += 8 + (int) Math.min(size + (size & 1), Integer.MAX_VALUE - at - 8);
    }
    return -1;
  }

  private static boolean tag(byte[] bytes, int at, String tag) {
    return at + 4 <= bytes.length && new String(bytes, at, 4, StandardCharsets.US_ASCII).equals(tag);
  }
}
