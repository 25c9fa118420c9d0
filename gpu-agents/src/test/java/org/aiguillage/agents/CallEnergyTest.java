package org.aiguillage.agents;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.OptionalDouble;
import java.util.concurrent.atomic.AtomicLong;
import org.aiguillage.protocol.Json;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.Test;

class CallEnergyTest {

  private static final long SECOND = 1_000_000_000L;

  @Test
  void twoCallsSideBySideOnA700WattServerShareItsEnergyHalfAndHalf() {
    AtomicLong now = new AtomicLong();
    EnergyMeter meter = new EnergyMeter(now::get);
    CallEnergy energy = new CallEnergy(700, Double.NaN, 1.0, Double.NaN);

    double first = meter.start();
    double second = meter.start();
    now.addAndGet(10 * SECOND);
    CallEnergy.Impact a = energy.of(meter.end(first), 100);
    CallEnergy.Impact b = energy.of(meter.end(second), 100);

    assertEquals(3500, a.joules(), 1e-9, "10 s of 700 W shared by two calls: 3,500 J each");
    assertEquals(3500, b.joules(), 1e-9);
    assertEquals(7000.0 / 3600 / 2, a.wattHours(), 1e-12);
    assertEquals("power", a.method());
  }

  @Test
  void aCallPaysForTheTimeItRanAloneInFullAndSharesTheRest() {
    AtomicLong now = new AtomicLong();
    EnergyMeter meter = new EnergyMeter(now::get);
    double longCall = meter.start();
    now.addAndGet(4 * SECOND); // alone: 4 s
    double shortCall = meter.start();
    now.addAndGet(2 * SECOND); // two: 1 s each
    double shortShare = meter.end(shortCall);
    now.addAndGet(3 * SECOND); // alone again: 3 s
    double longShare = meter.end(longCall);

    assertEquals(1.0, shortShare, 1e-9);
    assertEquals(8.0, longShare, 1e-9);
    assertEquals(9.0, shortShare + longShare, 1e-9, "the server's 9 busy seconds, all accounted for, once");
    now.addAndGet(5 * SECOND);
    assertEquals(0, meter.running(), "an idle server's time is nobody's");
  }

  @Test
  void theDatacentreOverheadAndItsCarbonIntensityApplyToTheServersEnergy() {
    CallEnergy energy = new CallEnergy(1000, Double.NaN, 1.5, 50);
    CallEnergy.Impact impact = energy.of(3.6, 10); // 1 kW for 3.6 s: 1 Wh at the server, 1.5 Wh with the PUE

    assertEquals(1.5, impact.wattHours(), 1e-12);
    assertEquals(1.5 / 1000 * 50, impact.co2eGrams(), 1e-12);
  }

  @Test
  void withoutAPowerFigureTheEstimateFollowsEcoLogitsFromTheModelsSizeAndTheTokens() {
    CallEnergy energy = CallEnergy.of(OptionalDouble.empty(), "meta-llama/Llama-3.1-8B-Instruct", 1.2, null);
    CallEnergy.Impact impact = energy.of(99, 1000);

    assertEquals(1000 * (8.91e-5 * 8 + 1.43e-3) * 1.2, impact.wattHours(), 1e-9);
    assertEquals("ecologits", impact.method());
    assertEquals(0, impact.co2eGrams(), "no carbon intensity given: no emissions said");
    assertFalse(energy.knowsEmissions());
    assertEquals("none", CallEnergy.of(OptionalDouble.empty(), "demo-model", 1, null).of(5, 100).method());
  }

  @Test
  void aModelsActiveParametersAreReadFromItsName() {
    assertEquals(8, CallEnergy.activeBillions("meta-llama/Llama-3.1-8B-Instruct"));
    assertEquals(70, CallEnergy.activeBillions("Llama-3.3-70B-Instruct-AWQ"));
    assertEquals(3, CallEnergy.activeBillions("Qwen/Qwen3-30B-A3B"), "a mixture of experts: its active ones");
    assertEquals(14, CallEnergy.activeBillions("mistralai/Mixtral-8x7B-Instruct-v0.1"), "two experts of eight");
    assertEquals(0.5, CallEnergy.activeBillions("Qwen2.5-0.5B-Instruct"));
    assertTrue(Double.isNaN(CallEnergy.activeBillions("bge-m3")));
    assertTrue(Double.isNaN(CallEnergy.activeBillions("gpt-oss")));
  }

  @Test
  void theUsageChunkCarriesTheEnergyAsExtraFields() throws Exception {
    ByteString chunk = ByteString.fromString("data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,"
        + "\"completion_tokens\":20,\"total_tokens\":25}}\n\n");
    ByteString told = SseEvents.withImpact(chunk, new CallEnergy.Impact(360, 0.25, "power"), true);

    String text = told.utf8String();
    assertTrue(text.startsWith("data: {") && text.endsWith("}\n\n"), text);
    JsonNode usage = Json.MAPPER.readTree(text.substring(6)).path("usage");
    assertEquals(0.1, usage.path("energy_wh").asDouble(), 1e-12);
    assertEquals(0.25, usage.path("co2e_g").asDouble(), 1e-12);
    assertEquals("power", usage.path("energy_method").asText());
    assertEquals(25, usage.path("total_tokens").asLong(), "the server's own fields stay");
  }

  @Test
  void aResponsesApiEventCarriesItUnderItsResponse() throws Exception {
    ByteString event = ByteString.fromString("event: response.completed\ndata: {\"type\":\"response.completed\","
        + "\"response\":{\"id\":\"resp_1\",\"usage\":{\"input_tokens\":3,\"output_tokens\":4}}}\n\n");
    String text = SseEvents.withImpact(event, new CallEnergy.Impact(36, 0, "power"), false).utf8String();

    assertTrue(text.startsWith("event: response.completed\ndata: "), text);
    JsonNode usage = Json.MAPPER.readTree(text.substring(text.indexOf("data:") + 5)).path("response").path("usage");
    assertEquals(0.01, usage.path("energy_wh").asDouble(), 1e-12);
    assertTrue(usage.path("co2e_g").isMissingNode(), "no carbon intensity: no co2e_g");
  }
}
