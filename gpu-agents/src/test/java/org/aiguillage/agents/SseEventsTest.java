package org.aiguillage.agents;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.aiguillage.agents.SseEvents.Usage;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.Test;

/** The usage and ids the agent reads from each API's answers, in the shapes vLLM writes them. */
class SseEventsTest {

  @Test
  void usageInEachApisWords() {
    assertEquals(new Usage(12, 7), SseEvents.parseUsage(
        "{\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":7,\"total_tokens\":19}}").get());
    assertEquals(new Usage(6, 0), SseEvents.parseUsage(
        "{\"object\":\"list\",\"data\":[],\"usage\":{\"prompt_tokens\":6,\"total_tokens\":6}}").get(), "embeddings");
    assertEquals(new Usage(31, 0), SseEvents.parseUsage(
        "{\"id\":\"rerank-1\",\"results\":[],\"usage\":{\"total_tokens\":31}}").get(), "rerank");
    assertEquals(new Usage(9, 4), SseEvents.parseUsage(
        "{\"id\":\"resp_1\",\"object\":\"response\",\"usage\":{\"input_tokens\":9,\"output_tokens\":4}}").get());
    assertEquals(new Usage(0, 0, 12), SseEvents.parseUsage(
        "{\"text\":\"hi\",\"usage\":{\"type\":\"duration\",\"seconds\":12}}").get(), "OpenAI's audio usage");
    assertEquals(new Usage(0, 0, 3.5), SseEvents.parseUsage(
        "{\"task\":\"transcribe\",\"duration\":3.5,\"text\":\"hi\"}").get(), "verbose_json");
    assertTrue(SseEvents.parseUsage("plain text, response_format=text").isEmpty());
  }

  @Test
  void theResponsesApisLastEventCarriesTheUsageUnderItsResponse() {
    ByteString completed = ByteString.fromString("event: response.completed\ndata: {\"type\":\"response.completed\","
        + "\"response\":{\"id\":\"resp_9\",\"usage\":{\"input_tokens\":5,\"output_tokens\":3}}}\n\n");
    assertEquals(new Usage(5, 3), SseEvents.usageOf(completed).get());
    assertFalse(SseEvents.isUsageOnly(completed), "it is the client's event, never dropped");

    ByteString created = ByteString.fromString("event: response.created\ndata: {\"type\":\"response.created\","
        + "\"response\":{\"id\":\"resp_9\",\"usage\":null}}\n\n");
    assertTrue(SseEvents.usageOf(created).isEmpty());
    assertEquals("resp_9", SseEvents.responseIdOf(created).get());
    assertEquals("resp_8", SseEvents.responseIdOf(ByteString.fromString("{\"id\":\"resp_8\",\"object\":\"response\"}"))
        .get());
  }

  @Test
  void aRouteUnknownToTheServerIsToldFromAnUnknownModel() {
    assertTrue(SseEvents.isUnknownRoute(ByteString.fromString("{\"detail\":\"Not Found\"}")));
    assertTrue(SseEvents.isUnknownRoute(ByteString.fromString("404 page not found")));
    assertFalse(SseEvents.isUnknownRoute(ByteString.fromString("{\"error\":{\"message\":\"The model `x` does not "
        + "exist.\",\"type\":\"NotFoundError\",\"code\":404}}")));
    assertFalse(SseEvents.isUnknownRoute(ByteString.fromString("{\"error\":{\"message\":\"Response with id 'r' not "
        + "found.\",\"type\":\"NotFoundError\"}}")));
  }
}
