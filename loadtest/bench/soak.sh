#!/usr/bin/env bash
# The soak benchmark: one node in front of one simulated vLLM server for a long run at a steady rate, watching what
# a node that runs for weeks must not do: keep memory per request served. Writes loadtest/reports/soak/ (OUT= to
# change it): samples.csv (one line a minute), soak.md with the plots (heap.svg, rss.svg) and the slopes.
#
#   [OUT=DIR] [LABEL=text] [NODE_JAVA_OPTS=...] [JOURNAL=h2|postgres] loadtest/bench/soak.sh [minutes=30] [users=50]
#
# JOURNAL=postgres (as in production) journals to a database soak_journal made anew on the local PostgreSQL
# (127.0.0.1:5432, user postgres); h2 (the default, as in the demo) to an H2 file, whose page cache (bounded by H2)
# fills as the usage ledger grows, and shows in the heap.
#
# The workload (issue 24): closed-loop streaming users on kept-alive connections (the load generator's one
# HttpClient keeps its connections for the whole run), a server at 20 ms per token, 64 tokens an answer, keys
# of four organisations:
#   - univ-a: a key without any limit (3 users in 5);
#   - univ-b: a key with requests_per_minute (high enough never to refuse), so each call is admitted and settled;
#   - univ-c: a key without limits in an organisation recorded with limits (organisation admission);
#   - univ-d: a client that leaves mid-stream, one request every 2 s (curl, a new connection each time, cut after
#     400 ms, while the answer takes 1.3 s).
# Every minute: a full GC (jcmd GC.run), then the heap used after it, the resident memory, threads and open file
# descriptors of the node's process; class histograms of live objects at the middle and the end, and the classes
# that grew most between them; one more sample after the clients closed their connections.
set -euo pipefail
cd "$(dirname "$0")/../.."
MINUTES=${1:-30}
USERS=${2:-50}
OUT=${OUT:-loadtest/reports/soak}
LABEL=${LABEL:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
SIM_PORT=${SIM_PORT:-18201}
NODE_PORT=${NODE_PORT:-18280}
NODE_JAVA_OPTS=${NODE_JAVA_OPTS:-}
ADMIN=soak-admin-token
JOURNAL=${JOURNAL:-h2}

[ -f cluster-node/target/aiguillage.jar ] && [ -f loadtest/target/loadtest.jar ] || mvn -q -B package -DskipTests

work=$(mktemp -d)
cleanup() { kill "${LEAVER_PID:-}" "${LOAD_PID:-}" "${SIM_PID:-}" "${NODE_PID:-}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$OUT"

java -jar loadtest/target/loadtest.jar simulate --port "$SIM_PORT" --model soak/served --profile steady \
  --max-num-seqs 512 > "$work/sim.log" 2>&1 &
SIM_PID=$!

if [ "$JOURNAL" = postgres ]; then
  psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS soak_journal" -c "CREATE DATABASE soak_journal"
  PERSISTENCE='{ url: "jdbc:postgresql://127.0.0.1:5432/soak_journal", user: postgres }'
else
  PERSISTENCE="{ url: \"jdbc:h2:file:$work/data/aiguillage\" }"
fi
cat > "$work/aiguillage.yaml" <<YAML
http: { host: 127.0.0.1, port: $NODE_PORT }
admin: { token: $ADMIN }
persistence: $PERSISTENCE
tokens:
  - { token: sk-soak-a, name: soak-a, organization: univ-a, priority: 3 }
  - { token: sk-soak-b, name: soak-b, organization: univ-b, priority: 3, requests_per_minute: 100000 }
  - { token: sk-soak-c, name: soak-c, organization: univ-c, priority: 2 }
  - { token: sk-soak-d, name: soak-d, organization: univ-d, priority: 1, tokens_per_minute: 10000000 }
models:
  - name: soak
    model: soak/served
    routing_strategy: least-busy
    vllm_servers:
      - { url: http://127.0.0.1:$SIM_PORT, organization: univ-a, max_parallel_requests: 512, max_waiting: 0 }
YAML
java $NODE_JAVA_OPTS -jar cluster-node/target/aiguillage.jar --config "$work/aiguillage.yaml" > "$work/node.log" 2>&1 &
NODE_PID=$!

for i in $(seq 1 120); do
  curl -sf "http://127.0.0.1:$NODE_PORT/health" >/dev/null && curl -sf "http://127.0.0.1:$SIM_PORT/health" >/dev/null && break
  sleep 0.5
done
curl -sf -X POST "http://127.0.0.1:$NODE_PORT/admin/organizations" -H "Authorization: Bearer $ADMIN" \
  -H 'Content-Type: application/json' \
  -d '{"name":"univ-c","requests_per_minute":100000,"tokens_per_minute":100000000}' >/dev/null

sample() { # minute label
  jcmd "$NODE_PID" GC.run >/dev/null
  sleep 1
  local heap rss threads fds
  heap=$(jcmd "$NODE_PID" GC.heap_info | sed -n 's/.* used \([0-9]*\)K.*/\1/p' | head -1)
  rss=$(sed -n 's/^VmRSS:[^0-9]*\([0-9]*\) kB/\1/p' "/proc/$NODE_PID/status")
  threads=$(sed -n 's/^Threads:[^0-9]*\([0-9]*\)/\1/p' "/proc/$NODE_PID/status")
  fds=$(ls "/proc/$NODE_PID/fd" | wc -l)
  echo "$1,$(awk "BEGIN{printf \"%.1f\", $heap/1024}"),$(awk "BEGIN{printf \"%.1f\", $rss/1024}"),$threads,$fds,$2" \
    >> "$OUT/samples.csv"
}

echo "minute,heap_after_gc_mb,rss_mb,threads,fds,phase" > "$OUT/samples.csv"
sample 0 idle

java -jar loadtest/target/loadtest.jar run --url "http://127.0.0.1:$NODE_PORT" --model soak \
  --key a=sk-soak-a,weight=6 --key b=sk-soak-b,weight=2 --key c=sk-soak-c,weight=2 \
  --users "$USERS" --ramp-up 10s --duration "${MINUTES}m" --input-tokens 100 --max-tokens 64 --output-spread 0 \
  --quiet --out "$work/load" > "$work/load.log" 2>&1 &
LOAD_PID=$!

# The client that leaves mid-stream, bounded by the run's length.
(
  end=$(( $(date +%s) + MINUTES * 60 ))
  while [ "$(date +%s)" -lt "$end" ]; do
    curl -sN --max-time 0.4 "http://127.0.0.1:$NODE_PORT/v1/chat/completions" -H "Authorization: Bearer sk-soak-d" \
      -H 'Content-Type: application/json' \
      -d '{"model":"soak","stream":true,"max_tokens":64,"messages":[{"role":"user","content":"leave me"}]}' \
      >/dev/null 2>&1 || true
    echo left >> "$work/leavers"
    sleep 1.6
  done
) &
LEAVER_PID=$!

for m in $(seq 1 "$MINUTES"); do
  sleep 59
  kill -0 "$LOAD_PID" 2>/dev/null || break
  sample "$m" load
  if [ "$m" -eq $(( MINUTES / 2 )) ]; then
    jcmd "$NODE_PID" GC.class_histogram > "$work/histogram-middle.txt"
  fi
done
jcmd "$NODE_PID" GC.class_histogram > "$work/histogram-end.txt"
head -45 "$work/histogram-middle.txt" > "$OUT/histogram-middle.txt"
head -45 "$work/histogram-end.txt" > "$OUT/histogram-end.txt"
python3 - "$work/histogram-middle.txt" "$work/histogram-end.txt" > "$OUT/histogram-growth.txt" <<'PY'
import re, sys
def load(path):
    d = {}
    for line in open(path):
        m = re.match(r"\s*\d+:\s+(\d+)\s+(\d+)\s+(\S+)", line)
        if m:
            d[m.group(3)] = (int(m.group(1)), int(m.group(2)))
    return d
a, b = load(sys.argv[1]), load(sys.argv[2])
rows = sorted(((b.get(k, (0, 0))[1] - a.get(k, (0, 0))[1], b.get(k, (0, 0))[0] - a.get(k, (0, 0))[0], k)
               for k in set(a) | set(b)), reverse=True)
print("Live objects: the classes that grew most between the middle and the end of the run (bytes, instances)")
for grown, count, name in rows[:25]:
    print(f"{grown:>10} {count:>8}  {name}")
print(f"total: {sum(r[0] for r in rows):+d} bytes")
PY
wait "$LOAD_PID" || true
wait "$LEAVER_PID" || true
sleep 5
sample "$((MINUTES + 1))" closed

cp "$work/load/report.md" "$OUT/load-report.md" 2>/dev/null || true
cp "$work/load/report.json" "$OUT/load-report.json" 2>/dev/null || true
cp "$work/load.log" "$OUT/load.log" 2>/dev/null || true
python3 loadtest/bench/soak_report.py "$OUT" "$LABEL" "$MINUTES" "$USERS" "$(wc -l < "$work/leavers")" \
  "${NODE_JAVA_OPTS:-(defaults)}" "$JOURNAL"
echo "soak report: $OUT/soak.md"
