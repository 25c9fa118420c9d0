# Sourced by prefix.sh and after-overload.sh: the fleet of the prefix-affinity benchmark, so that a replay runs on
# the very fleet the benchmark measures. Four simulated H200 servers (prefix caching on) and one node serving three
# models over them, one per strategy: chat-affinity (least-busy with prefix affinity), chat-plain (least-busy
# without), chat-round-robin; admin token "adm". Expects OUT; SIM_OPTS and NODE_OPTS are added to the servers' and
# the node's java command lines (say, -Xlog:gc:file=...). Defines load, servers_metrics, WORKLOAD and warm_up.
SERVERS=(18701 18702 18703 18704); NODE_PORT=18780
MODELS=(affinity plain round-robin)

[ -f cluster-node/target/aiguillage.jar ] && [ -f loadtest/target/loadtest.jar ] || mvn -q -B package -DskipTests
work=$(mktemp -d)
PIDS=""; SIM_PIDS=""
cleanup() { kill $PIDS 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
rm -rf "$OUT"; mkdir -p "$OUT"
for port in "${SERVERS[@]}"; do
  # shellcheck disable=SC2086
  java -Xmx256m ${SIM_OPTS:-} -jar loadtest/target/loadtest.jar simulate --port "$port" --model served --profile h200 \
    > "$work/sim-$port.log" 2>&1 &
  PIDS="$PIDS $!"; SIM_PIDS="$SIM_PIDS $!"
done
{
  echo "http: { host: 127.0.0.1, port: $NODE_PORT }"
  echo "persistence: { url: \"jdbc:h2:file:$work/data\" }"
  echo "admin: { token: adm }"
  echo "tokens: [ { token: sk-bench, name: bench, organization: univ-c, threshold: 10000 } ]"
  echo "models:"
  for m in "${MODELS[@]}"; do
    strategy=least-busy; affinity=true
    [ "$m" = plain ] && affinity=false
    [ "$m" = round-robin ] && strategy=round-robin && affinity=false
    echo "  - name: chat-$m"
    echo "    model: served"
    echo "    routing_strategy: $strategy"
    echo "    prefix_affinity: $affinity"
    echo "    vllm_servers:"
    for port in "${SERVERS[@]}"; do
      echo "      - { url: http://127.0.0.1:$port, organization: univ-a, max_parallel_requests: 256 }"
    done
  done
} > "$work/aiguillage.yaml"
# shellcheck disable=SC2086
java ${NODE_OPTS:-} -jar cluster-node/target/aiguillage.jar --config "$work/aiguillage.yaml" > "$work/node.log" 2>&1 &
PIDS="$PIDS $!"; NODE_PID=$!
for _ in $(seq 1 60); do curl -sf "http://127.0.0.1:$NODE_PORT/health" >/dev/null && break; sleep 0.5; done

load() { # model out seed [extra options]
  java -jar loadtest/target/loadtest.jar run --url "http://127.0.0.1:$NODE_PORT" --model "$1" --key sk-bench \
    --out "$2" --seed "$3" --quiet "${@:4}" > /dev/null
}
servers_metrics() { # dir before|after: every server's /metrics to DIR/servers/PORT.WHEN
  mkdir -p "$1/servers"
  for port in "${SERVERS[@]}"; do curl -sf "http://127.0.0.1:$port/metrics" > "$1/servers/$port.$2"; done
}
WORKLOAD=(--turns 16 --system-prompts 4 --system-tokens 2000 --input-tokens 800 --input-spread 100 --max-tokens 40
  --output-spread 8 --think-time 1s)
# Warm the node through every model, short requests first, then the measured workload itself for 30 s: a first
# round measured on a node still compiling its hot paths came out three times slower whichever model it was.
warm_up() {
  for m in "${MODELS[@]}"; do
    load "chat-$m" "$work/warm-$m" 1 --users 32 --duration 5s --input-tokens 10 --max-tokens 4
    load "chat-$m" "$work/warm-turns-$m" 2 --users 40 --ramp-up 5s --duration 30s "${WORKLOAD[@]}"
  done
}
