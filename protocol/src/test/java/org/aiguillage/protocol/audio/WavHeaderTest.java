package org.aiguillage.protocol.audio;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class WavHeaderTest {

  /** A WAV header of 16-bit mono at {@code rate}, with an extra chunk before the data when {@code list}. */
  private static byte[] header(int rate, int dataBytes, boolean list) {
    ByteBuffer b = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
    b.put(ascii("RIFF")).putInt(36 + dataBytes).put(ascii("WAVE"))
        .put(ascii("fmt ")).putInt(16).putShort((short) 1).putShort((short) 1).putInt(rate).putInt(rate * 2)
        .putShort((short) 2).putShort((short) 16);
    if (list) {
      b.put(ascii("LIST")).putInt(3).put(new byte[] {1, 2, 3, 0}); // odd size: padded to even
    }
    b.put(ascii("data")).putInt(dataBytes);
    return java.util.Arrays.copyOf(b.array(), b.position());
  }

  private static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }

  @Test
  void theDurationIsTheDataChunkOverTheByteRate() {
    assertEquals(2.5, WavHeader.seconds(header(16_000, 80_000, false), 44 + 80_000), 1e-9);
    assertEquals(1.0, WavHeader.seconds(header(8_000, 16_000, true), 56 + 16_000), 1e-9);
  }

  @Test
  void aDataSizeLeftOpenByAStreamingWriterIsTakenFromTheFile() {
    byte[] open = header(16_000, -1, false);
    assertEquals(1.0, WavHeader.seconds(open, 44 + 32_000), 1e-9);
  }

  @Test
  void anythingElseIsUnknown() {
    assertEquals(-1, WavHeader.seconds(ascii("ID3\u0004 an mp3 file"), 1000));
    assertEquals(-1, WavHeader.seconds(new byte[0], 0));
  }
}
