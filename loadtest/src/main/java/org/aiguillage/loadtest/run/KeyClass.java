package org.aiguillage.loadtest.run;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A class of users: the API key they send, how many of the users have it, and body fields added to their requests
 * (say {@code routing-mode: private-only}). Written {@code label=secret[,weight=N][,field=value...]}.
 */
public record KeyClass(String label, String key, int weight, Map<String, String> extraFields) {

  public static KeyClass parse(String spec) {
    String[] parts = spec.split(",");
    String label = "default";
    String key = parts[0];
    int eq = parts[0].indexOf('=');
    if (eq > 0) {
      label = parts[0].substring(0, eq);
      key = parts[0].substring(eq + 1);
    }
    int weight = 1;
    Map<String, String> extra = new LinkedHashMap<>();
    for (int i = 1; i < parts.length; i++) {
      String[] kv = parts[i].split("=", 2);
      if (kv.length != 2) {
        throw new IllegalArgumentException("--key expects label=secret[,weight=N][,field=value], got " + spec);
      }
      if (kv[0].equals("weight")) {
        weight = Integer.parseInt(kv[1]);
      } else {
        extra.put(kv[0], kv[1]);
      }
    }
    return new KeyClass(label, key, weight, extra);
  }
}
