#!/usr/bin/env bash
# Where one node's CPU goes per stage of the request path (issue 19): a simulated server (profile steady:5, a token
# every 5 ms), one node, closed-loop streaming users; after a warm-up, async-profiler (from Maven Central's jar,
# attached with jcmd) samples the node's CPU, then its allocations. Writes OUT/cpu.collapsed, OUT/alloc.collapsed and
# OUT/stages.txt (the share of CPU each stage takes, by loadtest/bench/profile_stages.py).
#
#   [OUT=/tmp/profile] [NODE_JAVA_OPTS=...] [MAX_TOKENS=32] loadtest/bench/profile.sh [users=50] [warmup_s=120] \
#     [seconds=30]
set -euo pipefail
cd "$(dirname "$0")/../.."
. loadtest/bench/lib.sh
USERS=${1:-50}; WARM=${2:-120}; SECS=${3:-30}
MAX_TOKENS=${MAX_TOKENS:-32}
OUT=${OUT:-/tmp/profile}
mkdir -p "$OUT"
[ -f cluster-node/target/aiguillage.jar ] && [ -f loadtest/target/loadtest.jar ] || mvn -q -B package -DskipTests
AP=${AP:-$HOME/.m2/repository/tools/profiler/async-profiler/3.0/async-profiler-3.0.jar}
[ -f "$AP" ] || mvn -q dependency:get -Dartifact=tools.profiler:async-profiler:3.0
work=$(mktemp -d)
unzip -q -o "$AP" 'linux-x64/*' -d "$work"
LIB=$work/linux-x64/libasyncProfiler.so
cleanup() { kill "${SIM_PID:-}" "${NODE_PID:-}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
SIM_PORT=18101 NODE_PORT=18180
start_sim_and_node "$work" steady:5 1024 -1
wait_healthy "http://127.0.0.1:$NODE_PORT" "http://127.0.0.1:$SIM_PORT"
load() { closed_loop "$USERS" "$1" "$MAX_TOKENS" "$2"; }
# jcmd takes key=value words as its own arguments: the agent's options go quoted.
agent() { jcmd "$NODE_PID" JVMTI.agent_load "$LIB" "\"$1\"" > /dev/null; }
load "${WARM}s" "$work/warmup"
agent "start,event=cpu,interval=1000000,threads"
load "${SECS}s" "$OUT/load"
agent "stop,file=$OUT/cpu.collapsed,collapsed"
agent "start,event=alloc"
load 15s "$work/alloc-load"
agent "stop,file=$OUT/alloc.collapsed,collapsed"
python3 loadtest/bench/profile_stages.py "$OUT/cpu.collapsed" | tee "$OUT/stages.txt"
