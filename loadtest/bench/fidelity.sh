#!/usr/bin/env bash
# Simulator fidelity (docs/benchmarks.md, "Simulator profiles"): each shipped profile against each published sweep
# in virtual time, the check on a shape the fit never saw, and the real-time simulator against its own model.
# Writes loadtest/reports/fidelity/.
#
#   loadtest/bench/fidelity.sh [fit]     # "fit": fit both profiles again first (minutes) and ship what it finds
#   loadtest/bench/fidelity.sh virtual   # parts 1 and 2 only (virtual time, minutes), not the real-time part
#
# predict and fit play the seed tables' client (BenchClient.SEED): 10 requests per user, each given up after 600 s
# without a byte (docs/benchmarks.md says why).
#
# Nothing else may run on the machine during the real-time part: it measures the simulator's own timing.
set -euo pipefail
cd "$(dirname "$0")/../.."
JAR=loadtest/target/loadtest.jar
SEED=loadtest/src/test/resources/seed-benchmarks
OUT=loadtest/reports/fidelity
PROFILES=loadtest/src/main/resources/profiles
mkdir -p "$OUT"

if [ "${1:-}" = fit ]; then
  for gpu in h200 rtx6000pro; do
    java -jar $JAR fit --reference $SEED/$gpu-scenario-A.csv --reference $SEED/$gpu-scenario-C.csv \
      --start $PROFILES/$gpu.properties --max-runs 300 --out $PROFILES/$gpu.properties --report-dir "$OUT/fit-$gpu" \
      > "$OUT/fit-$gpu.log"
  done
  echo "profiles refitted: rebuild the jar (mvn -o -q install -pl loadtest -DskipTests) before the reports"
  exit 0
fi

# 1. Each profile against each published shape, in virtual time (vLLM's benchmark protocol, the seed's client).
for gpu in h200 rtx6000pro; do
  for shape in A C; do
    java -jar $JAR predict --profile $gpu --shape $shape --reference $SEED/$gpu-scenario-$shape.csv \
      --out "$OUT/$gpu-$shape" > /dev/null
  done
done

# 2. A shape the fit never saw: the H200 profile stands for a GPU whose every shape we know; a profile fitted on
# its A and C alone, from the fit's own first guess, predicts its 2,000 in / 2,000 out (and B, 10,000 / 500).
HOLD=$(mktemp -d)
for shape in A C 2000/2000 B; do
  java -jar $JAR predict --profile h200 --shape $shape --csv "$HOLD/truth-${shape//\//-}.csv" > /dev/null
done
java -jar $JAR fit --reference "$HOLD/truth-A.csv" --shape A --reference "$HOLD/truth-C.csv" --shape C \
  --max-runs 300 --out "$HOLD/held-out.properties" > "$OUT/holdout-fit.log" 2>&1
cp "$HOLD/held-out.properties" "$OUT/holdout-profile.properties"
java -jar $JAR predict --profile "$HOLD/held-out.properties" --shape 2000/2000 \
  --reference "$HOLD/truth-2000-2000.csv" --out "$OUT/holdout-2000-2000" > /dev/null
java -jar $JAR predict --profile "$HOLD/held-out.properties" --shape B \
  --reference "$HOLD/truth-B.csv" --out "$OUT/holdout-B" > /dev/null
rm -rf "$HOLD"
if [ "${1:-}" = virtual ]; then
  echo "reports in $OUT (virtual time only)"
  exit 0
fi

# 3. The real-time simulator against its model: the same sweep over HTTP (shape A, 3 requests per user, every level
# up to 128 users), next to the virtual sweep's figures.
PORT=18611
for gpu in h200 rtx6000pro; do
  java -jar $JAR simulate --port $PORT --model fidelity --profile $gpu > /dev/null &
  SIM=$!
  trap 'kill $SIM 2>/dev/null || true' EXIT
  for _ in $(seq 50); do curl -sf http://127.0.0.1:$PORT/health > /dev/null && break; sleep 0.2; done
  java -jar $JAR predict --profile $gpu --shape A --prompts-per-user 3 --csv "$OUT/realtime-$gpu-A-model.csv" \
    > /dev/null
  java -jar $JAR run --url http://127.0.0.1:$PORT --model fidelity --shape A --sweep 1,2,4,8,16,32,64,128 \
    --requests-per-user 3 --quiet --reference "$OUT/realtime-$gpu-A-model.csv" --out "$OUT/realtime-$gpu-A" \
    > /dev/null
  kill $SIM; wait $SIM 2>/dev/null || true
done
echo "reports in $OUT"
