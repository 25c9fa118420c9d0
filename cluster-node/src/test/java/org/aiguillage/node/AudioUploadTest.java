package org.aiguillage.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** A speech-to-text form, written to disk as the server will get it. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AudioUploadTest {

  private final ActorTestKit testKit = ActorTestKit.create();
  private final Materializer materializer = Materializer.matFromSystem(testKit.system());

  @AfterAll
  void stop() {
    testKit.shutdownTestKit();
  }

  private static byte[] form(Map<String, String> fields, byte[] file) throws Exception {
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    for (Map.Entry<String, String> f : fields.entrySet()) {
      body.write(("--b\r\nContent-Disposition: form-data; name=\"" + f.getKey() + "\"\r\n\r\n" + f.getValue()
          + "\r\n").getBytes(StandardCharsets.UTF_8));
    }
    body.write(("--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\nContent-Type: audio/wav"
        + "\r\n\r\n").getBytes(StandardCharsets.UTF_8));
    body.write(file);
    body.write("\r\n--b--\r\n".getBytes(StandardCharsets.UTF_8));
    return body.toByteArray();
  }

  private AudioUpload.Read spool(HttpEntity entity, long limit) throws Exception {
    return AudioUpload.spool(entity, limit, Duration.ofSeconds(5), name -> name.equals("whisper") ? "org/whisper"
        : name, materializer).toCompletableFuture().get();
  }

  private static HttpEntity chunked(byte[] body) {
    // In small chunks, as a body arriving over the network.
    return HttpEntities.createChunked(ContentTypes.parse("multipart/form-data; boundary=b"),
        Source.range(0, (body.length - 1) / 1000).map(i -> ByteString.fromArray(body, i * 1000,
            Math.min(1000, body.length - i * 1000))));
  }

  @Test
  void theFormIsRewrittenForTheServer() throws Exception {
    byte[] wav = Files.readAllBytes(ModelTypesOverHttpTest.wav(1.5));
    AudioUpload.Spooled spooled = assertInstanceOf(AudioUpload.Spooled.class, spool(chunked(form(
        new java.util.LinkedHashMap<>(Map.of("model", "whisper", "stream", "true", "priority", "2",
            "language", "fr")), wav)), 1 << 20));
    try {
      String written = Files.readString(spooled.file(), StandardCharsets.ISO_8859_1);
      assertEquals(Map.of("model", "whisper", "stream", "true", "priority", "2", "language", "fr"), spooled.fields());
      assertTrue(spooled.hasFile());
      assertEquals(1.5, spooled.audioSeconds(), 1e-9);
      assertEquals(Files.size(spooled.file()), spooled.bytes());
      assertTrue(written.contains("name=\"model\"\r\n\r\norg/whisper\r\n"), "the served name");
      assertFalse(written.contains("name=\"priority\""), "the dispatcher's own field stays here");
      assertTrue(written.contains("name=\"language\"\r\n\r\nfr\r\n"));
      assertTrue(written.contains("name=\"stream_include_usage\"\r\n\r\ntrue\r\n"), "a stream ends with its usage");
      assertTrue(written.contains(new String(wav, StandardCharsets.ISO_8859_1)), "the file, byte for byte");
      String boundary = spooled.contentType().substring(spooled.contentType().indexOf("boundary=") + 9);
      assertTrue(written.endsWith("--" + boundary + "--\r\n"));
    } finally {
      AudioUpload.delete(spooled.file());
    }
  }

  @Test
  void aFileOverTheLimitIs413AndLeavesNoFileBehind() throws Exception {
    byte[] big = new byte[50_000];
    AudioUpload.Refused refused = assertInstanceOf(AudioUpload.Refused.class,
        spool(chunked(form(Map.of("model", "whisper"), big)), 20_000));
    assertEquals(413, refused.status());

    AudioUpload.Refused declared = assertInstanceOf(AudioUpload.Refused.class, spool(HttpEntities.create(
        ContentTypes.parse("multipart/form-data; boundary=b"), form(Map.of("model", "whisper"), new byte[200_000])),
        20_000));
    assertEquals(413, declared.status());
  }

  @Test
  void aBodyThatIsNotAFormIs400() throws Exception {
    AudioUpload.Refused refused = assertInstanceOf(AudioUpload.Refused.class, spool(HttpEntities.create(
        ContentTypes.APPLICATION_JSON, "{\"model\":\"whisper\"}"), 1 << 20));
    assertEquals(400, refused.status());
  }

  @Test
  void aFormWithoutFileSaysSo() throws Exception {
    ByteString body = ByteString.fromString("--b\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper\r\n"
        + "--b--\r\n");
    AudioUpload.Spooled spooled = assertInstanceOf(AudioUpload.Spooled.class, spool(HttpEntities.create(
        ContentTypes.parse("multipart/form-data; boundary=b"), body), 1 << 20));
    assertFalse(spooled.hasFile());
    AudioUpload.delete(spooled.file());
  }

  @Test
  void noTemporaryFileIsLeftByARefusal() throws Exception {
    long before = countTemporaryForms();
    spool(chunked(form(Map.of("model", "whisper"), new byte[50_000])), 20_000);
    assertEquals(before, countTemporaryForms());
  }

  private static long countTemporaryForms() throws Exception {
    try (var files = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
      return files.filter(p -> p.getFileName().toString().startsWith("aiguillage-audio-")).count();
    }
  }
}
