package org.aiguillage.loadtest.sim;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Properties;

/**
 * A profile's file: its {@link ProfileParameter}s as properties. A shipped profile is {@code profiles/NAME.properties}
 * on the class path, written by {@code loadtest.jar fit} (its command line, its deviations and what each parameter is
 * in the comments), so what the simulator runs is what the fit found.
 */
public final class ProfileFiles {

  private ProfileFiles() {}

  /** The profile shipped as {@code profiles/NAME.properties}. */
  static SimulatorProfile load(String name) {
    try (InputStream in = ProfileFiles.class.getResourceAsStream("/profiles/" + name + ".properties")) {
      if (in == null) {
        throw new IllegalStateException("no profiles/" + name + ".properties on the class path");
      }
      Properties p = new Properties();
      p.load(in);
      return parse("profiles/" + name + ".properties", p);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A profile a fit wrote. */
  public static SimulatorProfile read(Path file) throws IOException {
    Properties p = new Properties();
    try (Reader in = Files.newBufferedReader(file)) {
      p.load(in);
    }
    return parse(file.toString(), p);
  }

  static SimulatorProfile parse(String name, Properties p) {
    double[] v = new double[ProfileParameter.values().length];
    for (ProfileParameter f : ProfileParameter.values()) {
      String s = p.getProperty(f.key);
      if (s == null) {
        throw new IllegalArgumentException(name + " has no " + f.key);
      }
      v[f.ordinal()] = Double.parseDouble(s.strip());
    }
    return ProfileParameter.profile(v);
  }

  /** The properties text of a profile, {@code comment} (lines) above it. */
  public static String write(SimulatorProfile profile, String comment) {
    StringBuilder sb = new StringBuilder();
    comment.lines().forEach(l -> sb.append("# ").append(l).append('\n'));
    for (ProfileParameter f : ProfileParameter.values()) {
      double v = f.of(profile);
      sb.append("# ").append(f.meaning).append('\n');
      boolean whole = f == ProfileParameter.KV_CACHE_TOKENS || f == ProfileParameter.MAX_BATCHED_TOKENS;
      sb.append(f.key).append('=').append(whole ? Long.toString(Math.round(v))
          : String.format(Locale.ROOT, "%.6g", v)).append('\n');
    }
    return sb.toString();
  }
}
