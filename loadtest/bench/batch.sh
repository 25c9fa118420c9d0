#!/usr/bin/env bash
# A batch in the capacity chat users leave (docs/batches.md): two simulated H200 servers, 50 closed-loop chat users
# (500±50 tokens in, 200±40 out, a mean pause of 2 s between answers), rounds alternating "chat alone" and "chat with
# a 5,000-line batch running on the same servers" (300-word prompts, 100 tokens out, each round a batch of its own,
# cancelled at the round's end), then one round of the batch alone. Writes loadtest/reports/batch/batch.{md,json}.
#
#   loadtest/bench/batch.sh [duration per round=60s] [rounds=2]      SLOT_SHARE=1 by default (the model's
#                                                                    batch_slot_share)
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
rm -rf "$OUT"; mkdir -p "$OUT"
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
echo "batch alone" >&2
dir="$OUT/batch-alone"; mkdir -p "$dir"
before=$(server_tokens)
batch=$(start_batch)
seconds=${DURATION%s}
sleep "$seconds"
batch_state "$batch" > "$dir/batch.json"
echo "{\"server_tokens\": $(( $(server_tokens) - before )), \"seconds\": $seconds}" > "$dir/servers.json"
api -X POST "$URL/v1/batches/$batch/cancel" > /dev/null

python3 - "$OUT" "$ROUNDS" "$USERS" "$DURATION" "$SLOT_SHARE" "$LINES" <<'PY'
import csv, json, math, sys
out, rounds, users, duration, share, lines_n = sys.argv[1:]
rounds = int(rounds)

def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, max(0, math.ceil(p / 100 * len(v)) - 1))] if v else float("nan")

result = {}
for mode in ("alone", "with-batch"):
    ttft, errors, per_round, chat_tok, server_tok, secs, done = [], 0, [], 0, 0, 0.0, 0
    for r in range(1, rounds + 1):
        d = f"{out}/round-{r}/{mode}"
        rows = list(csv.DictReader(open(f"{d}/requests.csv")))
        ok = [x for x in rows if x["status"] == "200"]
        errors += len(rows) - len(ok)
        t = [float(x["ttft_ms"]) for x in ok]
        ttft += t
        per_round.append((pct(t, 50), pct(t, 99)))
        chat_tok += sum(int(x["output_tokens"]) for x in ok)
        s = json.load(open(f"{d}/servers.json"))
        server_tok += s["server_tokens"]; secs += s["seconds"]
        if mode == "with-batch":
            done += json.load(open(f"{d}/batch.json"))["request_counts"]["completed"]
    result[mode] = {"requests": len(ttft), "errors": errors, "ttft_p50": pct(ttft, 50), "ttft_p99": pct(ttft, 99),
                    "per_round": per_round, "chat_tok_s": chat_tok / secs, "server_tok_s": server_tok / secs,
                    "batch_lines_per_s": done / secs}
alone = json.load(open(f"{out}/batch-alone/batch.json"))
s = json.load(open(f"{out}/batch-alone/servers.json"))
result["batch-alone"] = {"batch_lines_per_s": alone["request_counts"]["completed"] / s["seconds"],
                         "server_tok_s": s["server_tokens"] / s["seconds"]}
json.dump(result, open(f"{out}/batch.json", "w"), indent=2)
a, w, b = result["alone"], result["with-batch"], result["batch-alone"]
def f(v): return "-" if v != v else f"{v:.0f}"
md = ["# Chat beside a running batch", "",
      f"Two simulated H200 servers (profile h200, max_parallel_requests 64 each), {users} closed-loop chat users "
      "(500±50 tokens in, 200±40 out, a mean pause of 2 s), rounds of " + duration + " alternating chat alone and "
      f"chat with a {lines_n}-line batch on the same model and servers (300-word prompts, 100 tokens out; "
      f"batch_slot_share {share}), {rounds} rounds each, on one node; then the batch alone for one round. TTFT in ms, "
      "pooled over the rounds.", "",
      "| | chat TTFT p50 | chat TTFT p99 | per round (p50 / p99) | chat requests | errors | chat tok/s | "
      "servers' tok/s | batch lines/s |", "|---|---:|---:|---|---:|---:|---:|---:|---:|"]
for name, r in (("chat alone", a), ("chat with the batch", w)):
    md.append(f"| {name} | {f(r['ttft_p50'])} | {f(r['ttft_p99'])} | "
              + ", ".join(f"{f(x)} / {f(y)}" for x, y in r["per_round"])
              + f" | {r['requests']} | {r['errors']} | {f(r['chat_tok_s'])} | {f(r['server_tok_s'])} | "
              f"{r['batch_lines_per_s']:.1f} |")
md.append(f"| the batch alone | | | | | | | {f(b['server_tok_s'])} | {b['batch_lines_per_s']:.1f} |")
md += ["", f"Chat TTFT p99 with the batch: {w['ttft_p99'] / a['ttft_p99']:.2f} of without (the goal: at most 1.10); "
       f"p50 {w['ttft_p50'] / a['ttft_p50']:.2f}. The batch ran at {w['batch_lines_per_s']:.1f} lines/s beside the "
       f"chat users, {b['batch_lines_per_s']:.1f} alone; the servers generated {w['server_tok_s'] / a['server_tok_s']:.1f}x "
       "the tokens per second with the batch as without it."]
open(f"{out}/batch.md", "w").write("\n".join(md) + "\n")
print("\n".join(md))
PY
