package org.aiguillage.loadtest;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.aiguillage.protocol.config.FederationConfigParser;
import picocli.CommandLine;

/**
 * The options a command was given, by name, as given (a name may repeat): what the commands read their values from,
 * and what a report's scenario table shows. picocli parses and documents them ({@link Main}).
 */
final class Options {

  private final Map<String, List<String>> values = new LinkedHashMap<>();

  /** {@code --name value} pairs; {@code flags} take no value. */
  Options(String[] args, int from, Set<String> flags) {
    for (int i = from; i < args.length; i++) {
      String a = args[i];
      if (!a.startsWith("--")) {
        throw new IllegalArgumentException("expected an option, got '" + a + "'");
      }
      String name = a.substring(2);
      if (flags.contains(name)) {
        values.computeIfAbsent(name, k -> new ArrayList<>()).add("true");
        continue;
      }
      if (i + 1 >= args.length) {
        throw new IllegalArgumentException("--" + name + " needs a value");
      }
      values.computeIfAbsent(name, k -> new ArrayList<>()).add(args[++i]);
    }
  }

  /** The options picocli matched, with their values as the user wrote them. */
  static Options matched(CommandLine.ParseResult parsed) {
    Options o = new Options(new String[0], 0, Set.of());
    // An option given several times is matched once per time, each with all its values.
    for (CommandLine.Model.OptionSpec option : new java.util.LinkedHashSet<>(parsed.matchedOptions())) {
      if (option.usageHelp() || option.versionHelp()) {
        continue;
      }
      List<String> given = option.originalStringValues();
      o.values.computeIfAbsent(option.longestName().substring(2), k -> new ArrayList<>())
          .addAll(given.isEmpty() ? List.of("true") : given);
    }
    return o;
  }

  boolean has(String name) {
    return values.containsKey(name);
  }

  String get(String name, String otherwise) {
    List<String> v = values.get(name);
    return v == null ? otherwise : v.get(v.size() - 1);
  }

  String require(String name) {
    String v = get(name, null);
    if (v == null) {
      throw new IllegalArgumentException("--" + name + " is required");
    }
    return v;
  }

  List<String> all(String name) {
    return values.getOrDefault(name, List.of());
  }

  int integer(String name, int otherwise) {
    return Integer.parseInt(get(name, Integer.toString(otherwise)));
  }

  double decimal(String name, double otherwise) {
    return Double.parseDouble(get(name, Double.toString(otherwise)));
  }

  Duration duration(String name, String otherwise) {
    return FederationConfigParser.parseDuration(get(name, otherwise));
  }

  List<Integer> integers(String name, String otherwise) {
    List<Integer> out = new ArrayList<>();
    for (String s : get(name, otherwise).split(",")) {
      out.add(Integer.parseInt(s.trim()));
    }
    return out;
  }

  /** The options as given, for the report's scenario table (key secrets left out). */
  Map<String, String> asScenario() {
    Map<String, String> out = new LinkedHashMap<>();
    values.forEach((k, v) -> {
      if (k.equals("key")) {
        out.put(k, String.join(" ", v.stream().map(s -> s.contains("=") ? s.substring(0, s.indexOf('=')) + "=***"
            : "***").toList()));
      } else if (!k.equals("quiet")) {
        out.put(k, String.join(" ", v));
      }
    });
    return out;
  }
}
