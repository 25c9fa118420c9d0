#!/usr/bin/env bash
# "Routing quality": one fast server (64 slots, the H200 step curve) and two slow ones (16 slots, 20 -> 60 ms
# steps) under 77 closed-loop users, 80 % of the fleet's 96 slots, once per routing strategy with the same seeded
# load. Writes loadtest/reports/routing/{least-busy,round-robin,random}/ and a side-by-side routing.md.
#
#   loadtest/bench/routing.sh [duration=60s]
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-60s}
OUT=${OUT:-loadtest/reports/routing}
FAST=18501; SLOW1=18502; SLOW2=18503; NODE_PORT=18580
# Step times (ms at batch 1 and 128) of the fast and slow servers. On 2 shared cores, three simulators, the node
# and the load generator compete for CPU; slower steps (fewer events per second) keep the simulators' own HTTP
# handling from being what is measured.
FAST_ITL=${FAST_ITL:-8,46}
SLOW_ITL=${SLOW_ITL:-20,60}
# The dispatcher's ceilings: "tuned" (max_parallel_requests = each server's max-num-seqs, 64/16/16) or
# "uniform" (64 for every server, as an operator who pasted one value would have: the slow servers' ceilings
# overstate what they serve, and their own queues fill).
CEILINGS=${CEILINGS:-tuned}
if [ "$CEILINGS" = uniform ]; then SLOW_MAX=64; else SLOW_MAX=16; fi

[ -f cluster-node/target/aiguillage.jar ] && [ -f loadtest/target/loadtest.jar ] || mvn -q -B package -DskipTests
work=$(mktemp -d)
PIDS=""
cleanup() { kill $PIDS 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
java -jar loadtest/target/loadtest.jar simulate --port $FAST --model served --profile h200 --max-num-seqs 64 \
  --itl-ms "$FAST_ITL" > "$work/fast.log" 2>&1 &
PIDS="$PIDS $!"
for port in $SLOW1 $SLOW2; do
  java -jar loadtest/target/loadtest.jar simulate --port "$port" --model served --profile h200 --max-num-seqs 16 \
    --itl-ms "$SLOW_ITL" > "$work/slow-$port.log" 2>&1 &
  PIDS="$PIDS $!"
done

for strategy in least-busy round-robin random; do
  cat > "$work/$strategy.yaml" <<YAML
http: { host: 127.0.0.1, port: $NODE_PORT }
persistence: { url: "jdbc:h2:file:$work/data-$strategy" }
tokens: [ { token: sk-bench, name: bench, organization: univ-c, threshold: 10000 } ]
models:
  - name: chat
    model: served
    routing_strategy: $strategy
    vllm_servers:
      - { url: http://127.0.0.1:$FAST, organization: univ-a, max_parallel_requests: 64 }
      - { url: http://127.0.0.1:$SLOW1, organization: univ-b, max_parallel_requests: $SLOW_MAX }
      - { url: http://127.0.0.1:$SLOW2, organization: univ-b, max_parallel_requests: $SLOW_MAX }
YAML
  java -jar cluster-node/target/aiguillage.jar --config "$work/$strategy.yaml" > "$work/node-$strategy.log" 2>&1 &
  node=$!
  for i in $(seq 1 60); do curl -sf "http://127.0.0.1:$NODE_PORT/health" >/dev/null && break; sleep 0.5; done
  # Warm the fresh node first (JIT, connection pools): cold, least-busy sends its first burst to one server's pool
  # and pays more of the start-up than strategies that spread it, which is not what this report compares.
  java -jar loadtest/target/loadtest.jar run --url "http://127.0.0.1:$NODE_PORT" --model chat --key sk-bench \
    --users 32 --duration 10s --input-tokens 10 --max-tokens 4 --out "$work/warm-$strategy" --quiet > /dev/null
  java -jar loadtest/target/loadtest.jar run --url "http://127.0.0.1:$NODE_PORT" --model chat --key sk-bench \
    --users 77 --ramp-up 5s --duration "$DURATION" --input-tokens 300 --max-tokens 128 --output-spread 32 --seed 11 \
    --out "$OUT/$strategy" --quiet > /dev/null
  kill "$node"; wait "$node" 2>/dev/null || true
done

python3 - "$OUT" "$FAST_ITL" "$SLOW_ITL" "$CEILINGS" "$SLOW_MAX" <<'PY'
import json, sys
out = sys.argv[1]
def f(v): return "-" if v != v else f"{v:.0f}"
lines = ["# Routing quality", "",
         f"One fast server (64 slots, steps {sys.argv[2]} ms at batch 1 -> 128) and two slow ones (16 slots each, steps {sys.argv[3]} ms);",
         "77 closed-loop users (80 % of the 96 slots) joining over 5 s; 300 tokens in, 128±32 out; same seeded load",
         "for each strategy, each on a node warmed by 10 s of short requests.",
         f"Dispatcher ceilings ({sys.argv[4]}): max_parallel_requests 64 on the fast server, {sys.argv[5]} on each slow one.", "",
         "| strategy | TTFT p50 (ms) | TTFT p90 | TTFT p99 | ITL p50 (ms) | E2E p50 (ms) | E2E p99 | output tok/s | requests | errors |",
         "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
for strategy in ("least-busy", "round-robin", "random"):
    s = [x for x in json.load(open(f"{out}/{strategy}/report.json"))["summaries"] if x["group"] == "all"][0]
    lines.append(f"| {strategy} | {f(s['ttftMs']['p50'])} | {f(s['ttftMs']['p90'])} | {f(s['ttftMs']['p99'])} | "
                 f"{f(s['itlMs']['p50'])} | {f(s['e2eMs']['p50'])} | {f(s['e2eMs']['p99'])} | "
                 f"{f(s['outputTokensPerS'])} | {s['completed']} | {s['errorsByStatus'] or 0} |")
lines += ["", "Full reports: [least-busy](least-busy/report.md), [round-robin](round-robin/report.md), "
          "[random](random/report.md)."]
open(f"{out}/routing.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
