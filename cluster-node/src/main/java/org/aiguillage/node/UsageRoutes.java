package org.aiguillage.node;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvSchema;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import org.aiguillage.actors.accounts.UsageLedger;
import org.aiguillage.protocol.Json;
import org.aiguillage.protocol.config.FederationConfigParser;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.stream.Materializer;

/**
 * Usage reports from the ledger.
 *
 * <pre>
 *   GET /admin/usage?from=&amp;to=&amp;group_by=&amp;key=&amp;format=json|csv
 * </pre>
 */
final class UsageRoutes extends AdminDirectives {

  private static final CsvMapper CSV = new CsvMapper();

  private final ActorSystem<?> system;
  private final UsageLedger ledger;
  private final java.util.function.DoubleSupplier batchPriceFactor;

  /** @param batchPriceFactor what a batch line's token counts for in {@code billed_tokens} ({@code batch.price_factor}) */
  UsageRoutes(Materializer materializer, ActorSystem<?> system, UsageLedger ledger,
      java.util.function.DoubleSupplier batchPriceFactor) {
    super(materializer);
    this.system = system;
    this.ledger = ledger;
    this.batchPriceFactor = batchPriceFactor;
  }

  /** @param who an organisation's admin reads its organisation's usage only */
  Route route(AdminPrincipal who) {
    return path("usage", () -> get(() -> parameterMap(query -> later(() -> usage(who, query)))));
  }

  private CompletionStage<HttpResponse> usage(AdminPrincipal who, Map<String, String> q) {
    String groupBy = q.getOrDefault("group_by", "organization");
    if (!UsageLedger.GROUPS.containsKey(groupBy)) {
      return done(badRequest("'group_by' must be one of " + String.join(", ", new TreeMap<>(UsageLedger.GROUPS)
          .keySet()) + "."));
    }
    String format = q.getOrDefault("format", "json");
    if (!format.equals("json") && !format.equals("csv")) {
      return done(badRequest("'format' must be json or csv."));
    }
    long from;
    long to;
    try {
      from = q.containsKey("from") ? instant(q.get("from")) : 0;
      to = q.containsKey("to") ? instant(q.get("to")) : System.currentTimeMillis() + 1;
    } catch (RuntimeException e) {
      return done(badRequest("'from' and 'to' are ISO-8601 dates (2026-11-01) or instants "
          + "(2026-11-01T08:00:00Z), or epoch seconds."));
    }
    Optional<String> key = Optional.ofNullable(q.get("key"));
    return CompletableFuture.supplyAsync(() -> {
      try {
        return ledger.report(from, to, groupBy, key, Optional.ofNullable(who.organization()),
            batchPriceFactor.getAsDouble());
      } catch (java.sql.SQLException e) {
        throw new CompletionException(e);
      }
    }, system.dispatchers().lookup(DispatcherSelector.blocking()))
        .thenApply(rows -> format.equals("csv") ? csv(groupBy, rows) : usageJson(groupBy, from, to, rows));
  }

  private static long instant(String text) {
    if (text.matches("\\d{9,}")) {
      return Long.parseLong(text) * 1000;
    }
    return FederationConfigParser.parseInstant(text).toEpochMilli();
  }

  private static HttpResponse usageJson(String groupBy, long from, long to, List<UsageLedger.Row> rows) {
    ObjectNode report = Json.MAPPER.createObjectNode().put("object", "usage").put("group_by", groupBy)
        .put("from", Instant.ofEpochMilli(from).toString()).put("to", Instant.ofEpochMilli(to).toString());
    ArrayNode data = report.putArray("data");
    for (UsageLedger.Row r : rows) {
      ObjectNode row = data.addObject();
      if (groupBy.equals("batch")) {
        row.put("batch", Boolean.parseBoolean(r.group()));
      } else {
        row.put(groupBy, r.group());
      }
      row.put("requests", r.requests()).put("errors", r.errors())
          .put("prompt_tokens", r.promptTokens()).put("completion_tokens", r.completionTokens())
          .put("total_tokens", r.totalTokens())
          .put("billed_tokens", Math.round(r.billedTokens()))
          .put("avg_queue_wait_ms", Math.round(r.avgQueueWaitMillis()))
          .put("avg_ttft_ms", Math.round(r.avgTtftMillis()))
          .put("energy_wh", micro(r.energyWattHours()))
          .put("co2e_g", micro(r.co2eGrams()))
          .put("audio_seconds", Math.round(r.audioSeconds() * 10) / 10.0);
    }
    return json(200, report);
  }

  /** Energy and emissions to the millionth (a short answer on a small server is a few mWh). */
  private static double micro(double value) {
    return Math.round(value * 1e6) / 1e6;
  }

  /** The same figures as the JSON report, one row a group, with a header; quoted where CSV needs it. */
  private static HttpResponse csv(String groupBy, List<UsageLedger.Row> rows) {
    CsvSchema schema = CsvSchema.builder().setUseHeader(true).addColumn(groupBy)
        .addColumns(List.of("requests", "errors", "prompt_tokens", "completion_tokens", "total_tokens", "billed_tokens",
            "avg_queue_wait_ms", "avg_ttft_ms", "energy_wh", "co2e_g", "audio_seconds"),
            CsvSchema.ColumnType.NUMBER)
        .build();
    List<Object[]> lines = rows.stream().map(r -> new Object[] {r.group(), r.requests(), r.errors(),
        r.promptTokens(), r.completionTokens(), r.totalTokens(), Math.round(r.billedTokens()),
        Math.round(r.avgQueueWaitMillis()),
        Math.round(r.avgTtftMillis()), micro(r.energyWattHours()), micro(r.co2eGrams()),
        Math.round(r.audioSeconds() * 10) / 10.0}).toList();
    try {
      // Jackson writes the header with the first row: a report without rows gets it here.
      String text = lines.isEmpty() ? String.join(",", schema.getColumnNames()) + "\n"
          : CSV.writer(schema).writeValueAsString(lines);
      return HttpResponse.create().withEntity(ContentTypes.TEXT_CSV_UTF8, text);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write the usage report as CSV", e);
    }
  }


}
