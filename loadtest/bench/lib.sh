# Sourced by the bench scripts: one simulated vLLM server and one Aiguillage node in front of it, on loopback.
# SIM_PORT, NODE_PORT (default 18101, 18180) and NODE_JAVA_OPTS come from the caller's environment.

# start_sim_and_node WORK PROFILE MAX_PARALLEL MAX_WAITING [simulator options...]: starts both in the background
# (SIM_PID, NODE_PID), the node serving model "bench" (the server's bench/served) to the key sk-bench, least-busy,
# its journal in WORK; the server's batch and the node's max_parallel_requests are both MAX_PARALLEL.
start_sim_and_node() {
  local work=$1 profile=$2 parallel=$3 waiting=$4
  shift 4
  SIM_PORT=${SIM_PORT:-18101}
  NODE_PORT=${NODE_PORT:-18180}
  java -jar loadtest/target/loadtest.jar simulate --port "$SIM_PORT" --model bench/served --profile "$profile" \
    --max-num-seqs "$parallel" "$@" > "$work/sim.log" 2>&1 &
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
      - { url: http://127.0.0.1:$SIM_PORT, organization: bench, max_parallel_requests: $parallel, max_waiting: $waiting }
YAML
  java ${NODE_JAVA_OPTS:-} -jar cluster-node/target/aiguillage.jar --config "$work/aiguillage.yaml" > "$work/node.log" 2>&1 &
  NODE_PID=$!
}

# wait_healthy URL...: until every URL's /health answers (30 s at most).
wait_healthy() {
  for i in $(seq 1 60); do
    local all=1
    for url in "$@"; do curl -sf "$url/health" >/dev/null || all=0; done
    [ "$all" = 1 ] && return 0
    sleep 0.5
  done
}

# closed_loop USERS DURATION TOKENS OUT: closed-loop streaming users against the node of start_sim_and_node, prompts of
# 100 tokens, answers of exactly TOKENS; the load's report in OUT, nothing printed.
closed_loop() {
  java -jar loadtest/target/loadtest.jar run --url "http://127.0.0.1:$NODE_PORT" --model bench --key sk-bench \
    --users "$1" --duration "$2" --input-tokens 100 --max-tokens "$3" --output-spread 0 --out "$4" > /dev/null 2>&1
}
