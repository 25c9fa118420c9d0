#!/usr/bin/env bash
# Three dispatcher processes on loopback under load: node 1 is killed with kill -9, then node 2 is stopped
# gracefully (SIGTERM). Writes loadtest/reports/cluster-chaos/chaos.md: requests sent, served, failed and why,
# TTFT and queue wait before, during and after.
#
#   loadtest/bench/cluster-chaos.sh [users=30] [kill_at=30] [stop_at=60] [duration=90]
#
# Needs PostgreSQL at 127.0.0.1:5432 (database test, user postgres): the three processes share their journal and
# usage ledger there, as in production. All nodes are edge + queue + agent; the agents are singletons, so they
# live on the oldest node: node 1, the one killed (the worst case: every stream in flight dies with it).
# The load generator spreads requests over the three edges and skips one that refuses connections, as a load
# balancer does; a failure counts only when a request was accepted and then not served.
set -euo pipefail
cd "$(dirname "$0")/../.."
USERS=${1:-30}
KILL_AT=${2:-30}
STOP_AT=${3:-60}
DURATION=${4:-90}
OUT=${OUT:-loadtest/reports/cluster-chaos}
DB_URL=${DB_URL:-jdbc:postgresql://127.0.0.1:5432/test}

[ -f cluster-node/target/aiguillage.jar ] && [ -f loadtest/target/loadtest.jar ] || mvn -q -B package -DskipTests
pg_isready -h 127.0.0.1 -p 5432 -q || { echo "PostgreSQL is not running on 127.0.0.1:5432" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

for s in 1 2; do
  java -jar loadtest/target/loadtest.jar simulate --port $((18400 + s)) --model chaos/served --profile steady \
    --max-num-seqs 256 > "$work/sim$s.log" 2>&1 &
  pids+=($!)
done

for n in 1 2 3; do
  cat > "$work/node$n.yaml" <<YAML
node: { roles: [edge, queue, agent], drain_timeout: 60s }
cluster: { host: 127.0.0.1, port: $((25530 + n)), seed_nodes: ["127.0.0.1:25531"] }
http: { host: 127.0.0.1, port: $((18480 + n)) }
persistence: { url: "$DB_URL", user: postgres }
tokens: [ { token: sk-chaos, name: chaos, organization: univ-a, threshold: 10000 } ]
models:
  - name: chaos
    model: chaos/served
    vllm_servers:
      - { url: "http://127.0.0.1:18401", organization: univ-a, max_parallel_requests: 64 }
      - { url: "http://127.0.0.1:18402", organization: univ-b, max_parallel_requests: 64 }
YAML
done

# Failure detection and downing in seconds rather than the production default (20 s stable-after).
NODE_OPTS="-Dpekko.cluster.split-brain-resolver.stable-after=5s"
start_node() {
  java $NODE_OPTS -jar cluster-node/target/aiguillage.jar --config "$work/node$1.yaml" > "$work/node$1.log" 2>&1 &
  echo $!
}
await_health() { # node number, pid
  until curl -sf "http://127.0.0.1:$((18480 + $1))/health" > /dev/null; do
    kill -0 "$2" 2>/dev/null || { echo "node $1 did not start:" >&2; tail -5 "$work/node$1.log" >&2; exit 1; }
    sleep 0.5
  done
}
NODE1=$(start_node 1); pids+=("$NODE1")
await_health 1 "$NODE1"
NODE2=$(start_node 2); pids+=("$NODE2")
NODE3=$(start_node 3); pids+=("$NODE3")
await_health 2 "$NODE2"
await_health 3 "$NODE3"
echo "three nodes up; load for ${DURATION}s, kill -9 node 1 at ${KILL_AT}s, SIGTERM node 2 at ${STOP_AT}s" >&2

mkdir -p "$OUT"
run_start=$(date +%s%3N)
java -jar loadtest/target/loadtest.jar run --url http://127.0.0.1:18481,http://127.0.0.1:18482,http://127.0.0.1:18483 \
  --model chaos --key sk-chaos --users "$USERS" --ramp-up 5s --duration "${DURATION}s" --input-tokens 100 \
  --max-tokens 100 --output-spread 20 --timeout 3m --out "$OUT" --quiet > "$work/load.log" 2>&1 &
LOAD=$!
pids+=("$LOAD")

sleep "$KILL_AT"
kill_ms=$(( $(date +%s%3N) - run_start ))
kill -9 "$NODE1"
echo "node 1 killed at ${kill_ms} ms" >&2
sleep $(( STOP_AT - KILL_AT ))
stop_ms=$(( $(date +%s%3N) - run_start ))
kill -TERM "$NODE2"
echo "node 2 asked to stop at ${stop_ms} ms" >&2
while kill -0 "$NODE2" 2>/dev/null; do sleep 0.1; done
stopped_ms=$(( $(date +%s%3N) - run_start ))
echo "node 2 exited at ${stopped_ms} ms" >&2
wait "$LOAD"

python3 loadtest/bench/chaos_report.py "$OUT" "$kill_ms" "$stop_ms" "$run_start" "$DB_URL" "$USERS" "$DURATION" \
  "$stopped_ms"
cp "$work/node2.log" "$OUT/node2-graceful-stop.log"
grep -h -E "WARN|ERROR" "$work"/node*.log | head -50 > "$OUT/node-warnings.log" || true
cat "$OUT/chaos.md"
