package org.aiguillage.agents;

import java.util.Locale;
import java.util.OptionalDouble;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a call to one server costs in energy and emissions.
 *
 * <p>With the server's power ({@code power_watts}, or its {@code gpu}'s), a call's energy is that power times its
 * share of the server's busy time (see {@link EnergyMeter}). Without it, EcoLogits' estimate (methodology 2024,
 * fitted on the ML.ENERGY leaderboard): a GPU spends {@code 8.91e-5 * P + 1.43e-3} Wh per generated token for a
 * model of P billion active parameters, read from the model's name ({@code Llama-3.1-8B}, {@code Qwen3-30B-A3B}:
 * 3 active). Either is then multiplied by the datacentre's PUE, and by its carbon intensity for the emissions.
 *
 * @param watts the server's power; NaN when not known
 * @param activeBillions the model's active parameters in billions; NaN when its name does not say
 * @param pue the datacentre's power usage effectiveness
 * @param gramsPerKwh its electricity's carbon intensity; NaN when not known
 */
public record CallEnergy(double watts, double activeBillions, double pue, double gramsPerKwh) {

  public static final CallEnergy UNKNOWN = new CallEnergy(Double.NaN, Double.NaN, 1.0, Double.NaN);

  static final double ECOLOGITS_ALPHA_WH = 8.91e-5;
  static final double ECOLOGITS_BETA_WH = 1.43e-3;

  public static CallEnergy of(OptionalDouble watts, String modelName, double pue, Double gramsPerKwh) {
    return new CallEnergy(watts.orElse(Double.NaN), activeBillions(modelName), pue,
        gramsPerKwh == null ? Double.NaN : gramsPerKwh);
  }

  /** The same with the server's power as it is now configured. */
  public CallEnergy withWatts(OptionalDouble newWatts) {
    return new CallEnergy(newWatts.orElse(Double.NaN), activeBillions, pue, gramsPerKwh);
  }

  /** A call's energy and emissions. */
  public record Impact(double joules, double co2eGrams, String method) {
    public static final Impact NONE = new Impact(0, 0, "none");

    public double wattHours() {
      return joules / 3600;
    }
  }

  /**
   * @param shareSeconds the call's share of the server's busy time
   * @param completionTokens the tokens it generated
   */
  public Impact of(double shareSeconds, long completionTokens) {
    double serverJoules;
    String method;
    if (!Double.isNaN(watts)) {
      serverJoules = watts * shareSeconds;
      method = "power";
    } else if (!Double.isNaN(activeBillions) && completionTokens > 0) {
      serverJoules = completionTokens * (ECOLOGITS_ALPHA_WH * activeBillions + ECOLOGITS_BETA_WH) * 3600;
      method = "ecologits";
    } else {
      return Impact.NONE;
    }
    double joules = serverJoules * pue;
    double grams = Double.isNaN(gramsPerKwh) ? 0 : joules / 3.6e6 * gramsPerKwh;
    return new Impact(joules, grams, method);
  }

  public boolean knowsEmissions() {
    return !Double.isNaN(gramsPerKwh);
  }

  private static final Pattern ACTIVE = Pattern.compile("(?<![a-z0-9.])a(\\d+(?:\\.\\d+)?)b(?![a-z0-9])");
  private static final Pattern EXPERTS = Pattern.compile("(?<![a-z0-9.])(\\d+)x(\\d+(?:\\.\\d+)?)b(?![a-z0-9])");
  private static final Pattern SIZE = Pattern.compile("(?<![a-z0-9.])(\\d+(?:\\.\\d+)?)b(?![a-z0-9])");

  /**
   * The active parameters a model's name gives, in billions: {@code A3B} (mixture of experts: the active ones),
   * else {@code 8x7B} (two of the eight experts run for each token, as in Mixtral: twice one expert), else
   * {@code 70B} (the last size named, so {@code Llama-3.2-11B} in {@code 3B-Llama-3.2-11B} reads 11);
   * NaN when it gives none.
   */
  static double activeBillions(String name) {
    if (name == null) {
      return Double.NaN;
    }
    String n = name.toLowerCase(Locale.ROOT).replace('_', '-');
    Matcher active = ACTIVE.matcher(n);
    if (active.find()) {
      return Double.parseDouble(active.group(1));
    }
    Matcher experts = EXPERTS.matcher(n);
    if (experts.find()) {
      return 2 * Double.parseDouble(experts.group(2));
    }
    Matcher size = SIZE.matcher(n);
    double found = Double.NaN;
    while (size.find()) {
      found = Double.parseDouble(size.group(1));
    }
    return found;
  }
}
