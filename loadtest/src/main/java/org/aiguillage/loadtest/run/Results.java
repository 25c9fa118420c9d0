package org.aiguillage.loadtest.run;

import java.util.List;
import java.util.Map;

/**
 * Everything a run measured, saved as {@code results.json}; every report is rendered from it alone, so the same
 * results always give the same report ({@code loadtest.jar report --from results.json}).
 */
public record Results(Map<String, String> scenario, double ttftSloMs, double itlSloMs, List<RequestRecord> records) {}
