#!/usr/bin/env bash
# The overhead benchmark: the same load against a simulated vLLM server directly and through one Aiguillage node,
# in alternating rounds, each in its own process on loopback. Writes loadtest/reports/overhead-PROFILE/overhead.{md,json}
# (OUT= to change it).
#
#   [OUT=DIR] [WARMUP=240s] [THINK_TIME=0s] [NODE_JAVA_OPTS=...] \
#     loadtest/bench/overhead.sh [users=50,200] [duration=20s] [rounds=3] [profile=steady]
#
# profile=steady (the default) isolates the dispatcher: a server with a flat 20 ms step and no prefill cost, so its
# TTFT does not depend on which requests arrive together. With profile=h200, prefill contention and synchronised
# closed-loop users move TTFT by tens to hundreds of milliseconds between modes, which hides what is measured
# (throughput kept is still meaningful there). Output lengths spread by +-16 tokens so users do not move in step.
set -euo pipefail
cd "$(dirname "$0")/../.."
USERS=${1:-50,200}
DURATION=${2:-20s}
ROUNDS=${3:-3}
PROFILE=${4:-steady}
OUT=${OUT:-loadtest/reports/overhead-$PROFILE}
SIM_PORT=${SIM_PORT:-18101}
# JVM options of the dispatcher's process (docs/benchmarks.md says which were used for the published figures).
NODE_JAVA_OPTS=${NODE_JAVA_OPTS:-}
NODE_PORT=${NODE_PORT:-18180}
# Users' mean pause between an answer and their next request (0: none, the closed loop of the issue); a pause takes
# their arrivals off the server's step grid (docs/benchmarks.md).
THINK_TIME=${THINK_TIME:-0s}
# How long both paths are warmed before the rounds (the JIT compiles the per-request code only after thousands of
# requests: docs/benchmarks.md).
WARMUP=${WARMUP:-240s}
# The agent's max_waiting (docs/configuration.md); -1 ignores the server's own queue.
MAX_WAITING=${MAX_WAITING:-0}

[ -f cluster-node/target/aiguillage.jar ] && [ -f loadtest/target/loadtest.jar ] || mvn -q -B package -DskipTests

work=$(mktemp -d)
cleanup() { kill "${SIM_PID:-}" "${NODE_PID:-}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# The H200 profile with room for every stream, so the server's own queue is not what is measured.
java -jar loadtest/target/loadtest.jar simulate --port "$SIM_PORT" --model bench/served --profile "$PROFILE" \
  --max-num-seqs 512 --call-timings > "$work/sim.log" 2>&1 &
SIM_PID=$!

cat > "$work/aiguillage.yaml" <<YAML
http: { host: 127.0.0.1, port: $NODE_PORT }
persistence: { url: "jdbc:h2:file:$work/data/aiguillage" }
tokens:
  - { token: sk-bench, name: bench, organization: bench, priority: 3, threshold: 100000 }
models:
  - name: bench
    model: bench/served
    routing_strategy: least-busy
    vllm_servers:
      - { url: http://127.0.0.1:$SIM_PORT, organization: bench, max_parallel_requests: 512, max_waiting: $MAX_WAITING }
YAML
java $NODE_JAVA_OPTS -jar cluster-node/target/aiguillage.jar --config "$work/aiguillage.yaml" > "$work/node.log" 2>&1 &
NODE_PID=$!

for i in $(seq 1 60); do
  curl -sf "http://127.0.0.1:$NODE_PORT/health" >/dev/null && curl -sf "http://127.0.0.1:$SIM_PORT/health" >/dev/null && break
  sleep 0.5
done

java -jar loadtest/target/loadtest.jar overhead \
  --direct "http://127.0.0.1:$SIM_PORT" --direct-model bench/served \
  --via "http://127.0.0.1:$NODE_PORT" --model bench --key sk-bench --pid "$NODE_PID" \
  --server-timings "http://127.0.0.1:$SIM_PORT" --think-time "$THINK_TIME" --warmup "$WARMUP" \
  --users "$USERS" --duration "$DURATION" --rounds "$ROUNDS" --input-tokens 100 --max-tokens 128 --output-spread 16 \
  --out "$OUT" --quiet --note "dispatcher JVM options: ${NODE_JAVA_OPTS:-(defaults)}"
