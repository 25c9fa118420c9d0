package org.aiguillage.protocol.config;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * What a datacentre adds to its servers' energy, and what that energy emits ({@code datacenters:} in the YAML, by
 * name; {@code default} for the ones not named).
 *
 * @param pue power usage effectiveness: the facility's energy over its IT equipment's (1.0: not counted)
 * @param carbonIntensityGPerKwh grams of CO2 equivalent per kWh of the electricity it draws; null: not known, no
 *     emissions are reported
 */
public record DatacenterConfig(Double pue,
    @JsonProperty("carbon_intensity_g_per_kwh") Double carbonIntensityGPerKwh) {

  public static final DatacenterConfig UNKNOWN = new DatacenterConfig(null, null);

  public DatacenterConfig {
    pue = pue == null ? 1.0 : pue;
  }
}
