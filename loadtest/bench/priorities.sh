#!/usr/bin/env bash
# "Priorities under overload": two simulated servers (univ-a and univ-b, 16 slots each, 32 in all) under 64
# closed-loop users, twice the fleet's capacity, in four classes: low (priority 1), mid (3), high (5), and univ-a
# users asking for private-first. The same load runs three times: with these priorities and ageing off ("on"),
# with every key at 3 ("off"), and with the priorities plus ageing every 15 s ("aged", which bounds the wait of
# the low class). Writes loadtest/reports/priorities/{on,off,aged}/ and a side-by-side priorities.md.
#
#   loadtest/bench/priorities.sh [duration=60s]
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-60s}
OUT=${OUT:-loadtest/reports/priorities}
A_PORT=18301; B_PORT=18302; NODE_PORT=18380

[ -f cluster-node/target/aiguillage.jar ] && [ -f loadtest/target/loadtest.jar ] || mvn -q -B package -DskipTests
work=$(mktemp -d)
cleanup() { kill ${PIDS:-} 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
PIDS=""
for port in $A_PORT $B_PORT; do
  java -jar loadtest/target/loadtest.jar simulate --port "$port" --model served --profile h200 --max-num-seqs 16 \
    > "$work/sim-$port.log" 2>&1 &
  PIDS="$PIDS $!"
done

run() { # $1 = on|off|aged
  local low=1 mid=3 high=5 aging=off
  if [ "$1" = off ]; then low=3; high=3; fi
  if [ "$1" = aged ]; then aging=15s; fi
  cat > "$work/$1.yaml" <<YAML
http: { host: 127.0.0.1, port: $NODE_PORT }
persistence: { url: "jdbc:h2:file:$work/data-$1" }
tokens:
  - { token: sk-low, name: low, organization: univ-c, priority: $low, threshold: 1000 }
  - { token: sk-mid, name: mid, organization: univ-c, priority: $mid, threshold: 1000 }
  - { token: sk-high, name: high, organization: univ-c, priority: $high, threshold: 1000 }
  - { token: sk-a, name: univ-a, organization: univ-a, priority: $mid, threshold: 1000, default_routing_mode: private-first }
models:
  - name: chat
    model: served
    queue_timeout: 60s
    priority_aging: $aging
    vllm_servers:
      - { url: http://127.0.0.1:$A_PORT, organization: univ-a, max_parallel_requests: 16 }
      - { url: http://127.0.0.1:$B_PORT, organization: univ-b, max_parallel_requests: 16 }
YAML
  java -jar cluster-node/target/aiguillage.jar --config "$work/$1.yaml" > "$work/node-$1.log" 2>&1 &
  local node=$!
  for i in $(seq 1 60); do curl -sf "http://127.0.0.1:$NODE_PORT/health" >/dev/null && break; sleep 0.5; done
  java -jar loadtest/target/loadtest.jar run --url "http://127.0.0.1:$NODE_PORT" --model chat \
    --key "low=sk-low,weight=1" --key "mid=sk-mid,weight=1" --key "high=sk-high,weight=1" \
    --key "private-first=sk-a,weight=1" \
    --users 64 --duration "$DURATION" --input-tokens 200 --max-tokens 64 --output-spread 16 --seed 7 \
    --out "$OUT/$1" --quiet > /dev/null
  kill "$node"; wait "$node" 2>/dev/null || true
}
run on
run off
run aged

python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
rows = {}
for mode in ("on", "off", "aged"):
    for s in json.load(open(f"{out}/{mode}/report.json"))["summaries"]:
        rows.setdefault(s["group"], {})[mode] = s
def f(v): return "-" if v is None or v != v else f"{v:.0f}"
lines = ["# Priorities under overload", "",
         "Two simulated H200 servers (univ-a, univ-b), 16 slots each; 64 closed-loop users (twice the capacity) in",
         "four equal classes; 200 tokens in, 64±16 out. 'on': priorities 1 / 3 / 5, univ-a users private-first.",
         "'off': the same load with every key at priority 3. Ageing off in both. 'aged': as 'on' with",
         "priority_aging 15s. Queue timeout 60 s.", "",
         "| class | TTFT p50 on | off | aged | TTFT p99 on | off | aged | completed on | off | aged | errors on / aged |",
         "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
for group in ("high", "mid", "private-first", "low", "all"):
    r = rows.get(group, {})
    on, off, aged = r.get("on"), r.get("off"), r.get("aged")
    if not on or not off or not aged: continue
    lines.append(f"| {group} | {f(on['ttftMs']['p50'])} | {f(off['ttftMs']['p50'])} | {f(aged['ttftMs']['p50'])} | "
                 f"{f(on['ttftMs']['p99'])} | {f(off['ttftMs']['p99'])} | {f(aged['ttftMs']['p99'])} | "
                 f"{on['completed']} | {off['completed']} | {aged['completed']} | "
                 f"{on['errorsByStatus'] or 0} / {aged['errorsByStatus'] or 0} |")
lines += ["", "TTFT in milliseconds. Full reports: [on](on/report.md), [off](off/report.md), [aged](aged/report.md)."]
open(f"{out}/priorities.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
