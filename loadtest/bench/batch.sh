#!/usr/bin/env bash
# A batch in the capacity chat users leave (docs/batches.md): two simulated H200 servers, 50 closed-loop chat users
# (500±50 tokens in, 200±40 out, a mean pause of 2 s between answers), rounds alternating "chat alone" and "chat with
# a 5,000-line batch running on the same servers" (300-word prompts, 100 tokens out, each round a batch of its own,
# cancelled at the round's end), then one round of the batch alone. Writes loadtest/reports/batch/batch.{md,json}.
#
#   loadtest/bench/batch.sh [duration per round=60s] [rounds=2]      SLOT_SHARE=1 by default (the model's
#                                                                    batch_slot_share)
#   TO_END=900s loadtest/bench/batch.sh ...   then also chat users for that long beside a batch run to its end
#                                             (when it completed, and the chat's TTFT all along); ONLY_TO_END=1
#                                             runs that alone, beside an earlier run's rounds in $OUT
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-60s}
ROUNDS=${2:-2}
USERS=${USERS:-50}
SLOT_SHARE=${SLOT_SHARE:-1}
LINES=${LINES:-5000}
OUT=${OUT:-loadtest/reports/batch}
SERVERS=(18801 18802); NODE_PORT=18880
URL="http://127.0.0.1:$NODE_PORT"

[ -f cluster-node/target/aiguillage.jar ] && [ -f loadtest/target/loadtest.jar ] || mvn -q -B package -DskipTests
work=$(mktemp -d)
PIDS=""
cleanup() { kill $PIDS 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
[ -n "${ONLY_TO_END:-}" ] || rm -rf "$OUT"
mkdir -p "$OUT"
for port in "${SERVERS[@]}"; do
  java -Xmx256m -jar loadtest/target/loadtest.jar simulate --port "$port" --model served --profile h200 \
    > "$work/sim-$port.log" 2>&1 &
  PIDS="$PIDS $!"
done
cat > "$work/aiguillage.yaml" <<EOF
http: { host: 127.0.0.1, port: $NODE_PORT }
admin: { token: bench-admin }
persistence: { url: "jdbc:h2:file:$work/data" }
tokens: [ { token: sk-bench, name: bench, organization: univ-c, threshold: 10000 } ]
models:
  - name: chat
    model: served
    batch_slot_share: $SLOT_SHARE
    vllm_servers:
      - { url: http://127.0.0.1:${SERVERS[0]}, organization: univ-a, max_parallel_requests: 64 }
      - { url: http://127.0.0.1:${SERVERS[1]}, organization: univ-a, max_parallel_requests: 64 }
EOF
java -jar cluster-node/target/aiguillage.jar --config "$work/aiguillage.yaml" > "$work/node.log" 2>&1 &
PIDS="$PIDS $!"
for _ in $(seq 1 60); do curl -sf "$URL/health" >/dev/null && break; sleep 0.5; done

python3 - "$work/lines.jsonl" "$LINES" <<'PY'
import json, random, sys
path, n = sys.argv[1], int(sys.argv[2])
words = "federation server queue token batch prompt answer model cache priority organisation datacentre".split()
rnd = random.Random(7)
with open(path, "w") as f:
    for i in range(n):
        text = f"document {i}: " + " ".join(rnd.choice(words) for _ in range(300))
        f.write(json.dumps({"custom_id": f"doc-{i}", "method": "POST", "url": "/v1/chat/completions",
                            "body": {"model": "chat", "max_tokens": 100,
                                     "messages": [{"role": "user", "content": "Summarise. " + text}]}}) + "\n")
PY
api() { curl -sf -H "Authorization: Bearer sk-bench" "$@"; }
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval('d' + sys.argv[1]))" "$1"; }
start_batch() {
  file=$(api -F purpose=batch -F "file=@$work/lines.jsonl" "$URL/v1/files" | field "['id']")
  api -H "Content-Type: application/json" -d "{\"input_file_id\":\"$file\",\"endpoint\":\"/v1/chat/completions\",\"completion_window\":\"24h\"}" \
    "$URL/v1/batches" | field "['id']"
}
batch_state() { api "$URL/v1/batches/$1"; }
idle_servers() { # until no call runs or waits on either server
  for _ in $(seq 1 600); do
    busy=0
    for port in "${SERVERS[@]}"; do
      n=$(curl -sf "http://127.0.0.1:$port/metrics" | awk '/^vllm:num_requests_(running|waiting)\{/ {s += $2} END {print s + 0}')
      busy=$(python3 -c "print(int($busy + $n))")
    done
    [ "$busy" = 0 ] && return
    sleep 0.5
  done
}
chat() { # out seed
  java -jar loadtest/target/loadtest.jar run --url "$URL" --model chat --key sk-bench --out "$1" --seed "$2" --quiet \
    --users "$USERS" --ramp-up 5s --duration "$DURATION" --input-tokens 500 --input-spread 50 --max-tokens 200 \
    --output-spread 40 --think-time 2s > /dev/null
}
server_tokens() { # sum of generation tokens over the servers
  for port in "${SERVERS[@]}"; do curl -sf "http://127.0.0.1:$port/metrics"; done \
    | awk '/^vllm:generation_tokens_total\{/ {s += $2} END {printf "%.0f\n", s}'
}
# Warm-up: the chat workload for 30 s, then a small batch to its end.
java -jar loadtest/target/loadtest.jar run --url "$URL" --model chat --key sk-bench --out "$work/warm" --seed 1 --quiet \
  --users "$USERS" --ramp-up 5s --duration 30s --input-tokens 500 --max-tokens 200 --think-time 2s > /dev/null
idle_servers

for round in $(seq 1 "$ROUNDS"); do
  [ -n "${ONLY_TO_END:-}" ] && break
  for mode in alone with-batch; do
    echo "round $round: chat $mode" >&2
    dir="$OUT/round-$round/$mode"; mkdir -p "$dir"
    before=$(server_tokens)
    batch=""
    [ "$mode" = with-batch ] && batch=$(start_batch)
    t0=$(date +%s.%N)
    chat "$dir" $((round * 10))
    t1=$(date +%s.%N)
    echo "{\"server_tokens\": $(( $(server_tokens) - before )), \"seconds\": $(python3 -c "print($t1 - $t0)")}" \
      > "$dir/servers.json"
    if [ -n "$batch" ]; then
      batch_state "$batch" > "$dir/batch.json"
      api -X POST "$URL/v1/batches/$batch/cancel" > /dev/null
      for _ in $(seq 1 600); do
        case "$(batch_state "$batch" | field "['status']")" in cancelled|completed|failed|expired) break ;; esac
        sleep 0.5
      done
    fi
    idle_servers
  done
done
if [ -z "${ONLY_TO_END:-}" ]; then
  echo "batch alone" >&2
  dir="$OUT/batch-alone"; mkdir -p "$dir"
  before=$(server_tokens)
  batch=$(start_batch)
  seconds=${DURATION%s}
  sleep "$seconds"
  batch_state "$batch" > "$dir/batch.json"
  echo "{\"server_tokens\": $(( $(server_tokens) - before )), \"seconds\": $seconds}" > "$dir/servers.json"
  api -X POST "$URL/v1/batches/$batch/cancel" > /dev/null
fi

if [ -n "${TO_END:-}" ]; then
  echo "chat beside a batch to its end" >&2
  dir="$OUT/to-end"; mkdir -p "$dir"
  idle_servers
  before=$(server_tokens)
  batch=$(start_batch)
  t0=$(date +%s.%N)
  java -jar loadtest/target/loadtest.jar run --url "$URL" --model chat --key sk-bench --out "$dir" --seed 99 --quiet \
    --users "$USERS" --ramp-up 5s --duration "$TO_END" --input-tokens 500 --input-spread 50 --max-tokens 200 \
    --output-spread 40 --think-time 2s > /dev/null &
  chat_pid=$!
  wait "$chat_pid"
  t1=$(date +%s.%N)
  batch_state "$batch" > "$dir/batch.json"   # its created_at and completed_at say how long it took
  echo "{\"server_tokens\": $(( $(server_tokens) - before )), \"seconds\": $(python3 -c "print($t1 - $t0)")}" \
    > "$dir/servers.json"
fi
python3 loadtest/bench/batch_report.py "$OUT" "$ROUNDS" "$USERS" "$DURATION" "$SLOT_SHARE" "$LINES"
