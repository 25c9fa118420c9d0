#!/usr/bin/env bash
# What a node holds per open stream (issue 19): USERS closed-loop streaming users through one node in front of one
# simulated server that streams a token every MS (profile steady:MS), TOKENS tokens per answer. Every 10 s the node's
# resident memory, CPU time and open files; at SAMPLE_AT seconds its native memory (NMT), its live heap (a class
# histogram, which collects first) and the heap before and after. Writes OUT/{rss.txt,nmt.txt,heap.txt,histo-top.txt,
# gc.log,node.log} and the load's report in OUT/load.
#
#   [OUT=DIR] [NODE_JAVA_OPTS=...] [TOKENS=30] [RAMP=60s] [SAMPLE_AT=110] \
#     loadtest/bench/open-streams.sh [users=5000] [duration=130s] [profile=steady:1000]
#
# Each stream holds two files (its client's connection and its call's to the server): 10,000 streams need a
# `ulimit -n` above 20,000. The load generator, the server and the node share the machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
. loadtest/bench/lib.sh
USERS=${1:-5000}
DURATION=${2:-130s}
PROFILE=${3:-steady:1000}
OUT=${OUT:-loadtest/reports/open-streams-$USERS}
TOKENS=${TOKENS:-30}
RAMP=${RAMP:-60s}
SAMPLE_AT=${SAMPLE_AT:-110}
mkdir -p "$OUT"
[ -f cluster-node/target/aiguillage.jar ] && [ -f loadtest/target/loadtest.jar ] || mvn -q -B package -DskipTests
work=$(mktemp -d)
# The node's log is kept whatever happens: it says why a run went wrong.
cleanup() {
  kill "${load:-}" "${SIM_PID:-}" "${NODE_PID:-}" 2>/dev/null || true; wait 2>/dev/null || true
  cp "$work/node.log" "$OUT/node.log" 2>/dev/null || true; rm -rf "$work"
}
trap cleanup EXIT
NODE_JAVA_OPTS="-XX:NativeMemoryTracking=summary -Xlog:gc:file=$OUT/gc.log ${NODE_JAVA_OPTS:-}"
# Room for every stream on the server and in the node's file (max_parallel_requests), so no queue is measured.
start_sim_and_node "$work" "$PROFILE" $(( USERS * 11 / 10 + 64 )) -1
wait_healthy "http://127.0.0.1:$NODE_PORT" "http://127.0.0.1:$SIM_PORT"
kill -0 "$NODE_PID" 2>/dev/null || { echo "the node did not start: $OUT/node.log" >&2; exit 1; }
java -jar loadtest/target/loadtest.jar run --url "http://127.0.0.1:$NODE_PORT" --model bench --key sk-bench \
  --users "$USERS" --ramp-up "$RAMP" --duration "$DURATION" --input-tokens 100 --max-tokens "$TOKENS" \
  --output-spread 0 --quiet --out "$OUT/load" > "$work/load.log" 2>&1 &
load=$!
: > "$OUT/rss.txt"
for i in $(seq 1 $(( SAMPLE_AT / 10 ))); do
  sleep 10
  echo "$(( i * 10 )) s: resident $(( $(ps -o rss= -p "$NODE_PID") / 1024 )) MiB, cpu $(ps -o cputime= -p "$NODE_PID"), open files $(ls /proc/"$NODE_PID"/fd | wc -l)" >> "$OUT/rss.txt"
done
jcmd "$NODE_PID" VM.native_memory summary > "$OUT/nmt.txt"
jcmd "$NODE_PID" GC.heap_info > "$OUT/heap.txt"
jcmd "$NODE_PID" GC.class_histogram > "$work/histo.txt"
{ head -43 "$work/histo.txt"; tail -1 "$work/histo.txt"; } > "$OUT/histo-top.txt"
jcmd "$NODE_PID" GC.heap_info >> "$OUT/heap.txt"
wait "$load" || true
rm -f "$OUT/load/requests.csv"
# The collections' pauses over the run: how many, their sum and the longest; the class histogram's own full
# collection is not the load's.
awk '/Pause/ && !/Heap Inspection/ { gsub("ms", "", $NF); t = $NF + 0; if (t > m) m = t; s += t; n++ }
  END { printf "%d pauses, %.1f s in all, the longest %.0f ms\n", n, s / 1000, m }' "$OUT/gc.log" > "$OUT/gc-pauses.txt"
cat "$OUT/rss.txt" "$OUT/gc-pauses.txt"; tail -1 "$OUT/histo-top.txt"
grep -E "Requests completed|Errors|TTFT p|ITL p" "$OUT/load/report.md"
