package org.aiguillage.agents;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.aiguillage.protocol.dispatch.RequestCommand;
import org.junit.jupiter.api.Test;

class AnsweredLinesTest {

  private static RequestCommand.Whole answer(String id, int bytes) {
    return new RequestCommand.Whole(id, "s1", 200, "application/json", new byte[bytes]);
  }

  @Test
  void aKeptAnswerIsFoundByItsLinesTicketId() {
    AnsweredLines kept = new AnsweredLines(1_000, 60_000);
    kept.keep(answer("batch_1-3", 10), 0);

    assertEquals(10, kept.find("batch_1-3", 1_000).orElseThrow().body().length);
    assertTrue(kept.find("batch_1-4", 1_000).isEmpty());
  }

  @Test
  void theOldestAnswersGoWhenTheBytesAreSpentOrTheyAreTooOld() {
    AnsweredLines kept = new AnsweredLines(100, 60_000);
    kept.keep(answer("a", 60), 0);
    kept.keep(answer("b", 30), 1);
    kept.keep(answer("c", 30), 2);

    assertTrue(kept.find("a", 3).isEmpty(), "over 100 bytes: the oldest went");
    assertEquals(60, kept.bytes());
    assertTrue(kept.find("b", 60_002).isEmpty(), "older than a minute");
    assertTrue(kept.find("c", 60_002).isPresent());
  }
}
