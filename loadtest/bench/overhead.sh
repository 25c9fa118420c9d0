#!/usr/bin/env bash
# The overhead benchmark: the same load against a simulated vLLM server directly and through one Aiguillage node,
# in alternating rounds, each in its own process on loopback. Writes loadtest/reports/overhead-PROFILE/overhead.{md,json}
# (OUT= to change it).
#
#   [OUT=DIR] [WARMUP=240s] [THINK_TIME=0s] [NODE_JAVA_OPTS=...] [PROXY=nginx] [MAX_TOKENS=128] [OUTPUT_SPREAD=16] \
#     loadtest/bench/overhead.sh [users=50,200] [duration=20s] [rounds=3] [profile=steady]
#
# PROXY=nginx measures a third path in the same rounds: the server behind nginx as a plain reverse proxy (keepalive
# to the server, no buffering), Debian's package (apt-get install nginx-light). profile=steady:5 is the fast stream of
# issue 19: a token every 5 ms (with MAX_TOKENS=32 OUTPUT_SPREAD=0).
#
# profile=steady (the default) isolates the dispatcher: a server with a flat 20 ms step and no prefill cost, so its
# TTFT does not depend on which requests arrive together. With profile=h200, prefill contention and synchronised
# closed-loop users move TTFT by tens to hundreds of milliseconds between modes, which hides what is measured
# (throughput kept is still meaningful there). Output lengths spread by +-16 tokens so users do not move in step.
set -euo pipefail
cd "$(dirname "$0")/../.."
. loadtest/bench/lib.sh
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
PROXY=${PROXY:-}
PROXY_PORT=${PROXY_PORT:-18190}
MAX_TOKENS=${MAX_TOKENS:-128}
OUTPUT_SPREAD=${OUTPUT_SPREAD:-16}
INPUT_TOKENS=${INPUT_TOKENS:-100}
# The server's batch and the dispatcher's max_parallel_requests: room for every stream of the largest level.
MAX_PARALLEL=${MAX_PARALLEL:-512}
# Users join evenly over this (a thousand open streams: their arrival rate, not a burst).
RAMP_UP=${RAMP_UP:-2s}

[ -f cluster-node/target/aiguillage.jar ] && [ -f loadtest/target/loadtest.jar ] || mvn -q -B package -DskipTests

work=$(mktemp -d)
cleanup() {
  kill "${SIM_PID:-}" "${NODE_PID:-}" "${PROXY_PID:-}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"
}
trap cleanup EXIT

# The server with room for every stream (MAX_PARALLEL), so its own queue is not what is measured.
start_sim_and_node "$work" "$PROFILE" "$MAX_PARALLEL" "$MAX_WAITING" --call-timings

proxy_args=()
if [ "$PROXY" = nginx ]; then
  command -v nginx >/dev/null || { echo "PROXY=nginx needs nginx: apt-get install -y nginx-light" >&2; exit 1; }
  mkdir -p "$work/nginx"
  cat > "$work/nginx.conf" <<NGINX
$( [ "$(id -u)" = 0 ] && echo "user root root;" )
worker_processes auto;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 16384; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  upstream sim { server 127.0.0.1:$SIM_PORT; keepalive 1024; }
  server {
    listen 127.0.0.1:$PROXY_PORT;
    location / {
      proxy_pass http://sim;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_read_timeout 1h;
    }
  }
}
NGINX
  nginx -c "$work/nginx.conf" -p "$work" -g 'daemon off;' > "$work/nginx.log" 2>&1 &
  PROXY_PID=$!
  proxy_args=(--proxy "http://127.0.0.1:$PROXY_PORT")
fi

wait_healthy "http://127.0.0.1:$NODE_PORT" "http://127.0.0.1:$SIM_PORT"

java -jar loadtest/target/loadtest.jar overhead \
  --direct "http://127.0.0.1:$SIM_PORT" --direct-model bench/served \
  "${proxy_args[@]}" --via "http://127.0.0.1:$NODE_PORT" --model bench --key sk-bench --pid "$NODE_PID" \
  --server-timings "http://127.0.0.1:$SIM_PORT" --think-time "$THINK_TIME" --warmup "$WARMUP" --ramp-up "$RAMP_UP" \
  --users "$USERS" --duration "$DURATION" --rounds "$ROUNDS" --input-tokens "$INPUT_TOKENS" --max-tokens "$MAX_TOKENS" --output-spread "$OUTPUT_SPREAD" \
  --out "$OUT" --quiet --note "dispatcher JVM options: ${NODE_JAVA_OPTS:-(defaults)}"
