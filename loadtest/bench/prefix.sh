#!/usr/bin/env bash
# Prefix affinity (docs/routing.md): four simulated H200 servers (vLLM's prefix caching on) and closed-loop users in
# multi-turn chat sessions (8 turns; 4 system prompts of 2,000 words shared by all; 400±50 words a turn, as a coding
# assistant pastes code, answers of 100±20 tokens; a mean pause of 1 s between turns). One node serves three models over the same servers, one per
# strategy: least-busy with prefix affinity, least-busy without, round-robin; rounds alternate between them (the order
# turning each round). Writes loadtest/reports/prefix/prefix.{md,json} and each round's load report.
#
#   loadtest/bench/prefix.sh [duration per round=40s] [rounds=3]     USERS=120 by default
#
# 120 users load the servers' prefill at about 80 % of what round-robin can sustain here: each turn's new tokens
# (all but the shared system prompt, which every server soon holds) against the H200 profile's step budget.
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-40s}
ROUNDS=${2:-3}
USERS=${USERS:-120}
OUT=${OUT:-loadtest/reports/prefix}
SERVERS=(18701 18702 18703 18704); NODE_PORT=18780
MODELS=(affinity plain round-robin)

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
{
  echo "http: { host: 127.0.0.1, port: $NODE_PORT }"
  echo "persistence: { url: \"jdbc:h2:file:$work/data\" }"
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
      echo "      - { url: http://127.0.0.1:$port, organization: univ-a, max_parallel_requests: 64 }"
    done
  done
} > "$work/aiguillage.yaml"
java -jar cluster-node/target/aiguillage.jar --config "$work/aiguillage.yaml" > "$work/node.log" 2>&1 &
PIDS="$PIDS $!"
for _ in $(seq 1 60); do curl -sf "http://127.0.0.1:$NODE_PORT/health" >/dev/null && break; sleep 0.5; done

load() { # model out seed [extra options]
  java -jar loadtest/target/loadtest.jar run --url "http://127.0.0.1:$NODE_PORT" --model "$1" --key sk-bench \
    --out "$2" --seed "$3" --quiet "${@:4}" > /dev/null
}
# Warm the node through every model, short requests first, then the measured workload itself for 30 s: a first
# round measured on a node still compiling its hot paths came out three times slower whichever model it was.
WORKLOAD=(--turns 8 --system-prompts 4 --system-tokens 2000 --input-tokens 400 --input-spread 50 --max-tokens 100
  --output-spread 20 --think-time 1s)
for m in "${MODELS[@]}"; do
  load "chat-$m" "$work/warm-$m" 1 --users 32 --duration 5s --input-tokens 10 --max-tokens 4
  load "chat-$m" "$work/warm-turns-$m" 2 --users "$USERS" --ramp-up 5s --duration 30s "${WORKLOAD[@]}"
done
for round in $(seq 1 "$ROUNDS"); do
  for k in 0 1 2; do
    m=${MODELS[$(( (round - 1 + k) % 3 ))]}
    echo "round $round: $m" >&2
    dir="$OUT/round-$round/$m"; mkdir -p "$dir/servers"
    for port in "${SERVERS[@]}"; do curl -sf "http://127.0.0.1:$port/metrics" > "$dir/servers/$port.before"; done
    # A seed of its own per round and model: no model finds the conversations another one just held.
    load "chat-$m" "$dir" $((round * 10 + k)) --users "$USERS" --ramp-up 5s --duration "$DURATION" "${WORKLOAD[@]}"
    for port in "${SERVERS[@]}"; do curl -sf "http://127.0.0.1:$port/metrics" > "$dir/servers/$port.after"; done
    sleep 3
  done
done

python3 - "$OUT" "$ROUNDS" "$USERS" "$DURATION" "${SERVERS[*]}" <<'PY'
import csv, json, math, sys
out, rounds, users, duration, ports = sys.argv[1:]
rounds, ports = int(rounds), ports.split()
models = ("affinity", "plain", "round-robin")
names = {"affinity": "least-busy, prefix affinity", "plain": "least-busy, no affinity", "round-robin": "round-robin"}

def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, max(0, math.ceil(p / 100 * len(v)) - 1))] if v else float("nan")

def counter(path, name):
    return sum(float(l.split()[-1]) for l in open(path) if l.startswith(name + "{"))

result = {}
for m in models:
    ttft, tok_s, errors, hits, queries, p90s = [], [], 0, 0.0, 0.0, []
    for r in range(1, rounds + 1):
        d = f"{out}/round-{r}/{m}"
        rows = list(csv.DictReader(open(f"{d}/requests.csv")))
        ok = [x for x in rows if x["status"] == "200"]
        errors += len(rows) - len(ok)
        t = [float(x["ttft_ms"]) for x in ok]
        ttft += t
        p90s.append(pct(t, 90))
        summary = [s for s in json.load(open(f"{d}/report.json"))["summaries"] if s["group"] == "all"][0]
        tok_s.append(summary["outputTokensPerS"])
        for port in ports:
            for name, acc in (("vllm:prefix_cache_hits_total", "h"), ("vllm:prefix_cache_queries_total", "q")):
                delta = counter(f"{d}/servers/{port}.after", name) - counter(f"{d}/servers/{port}.before", name)
                if acc == "h": hits += delta
                else: queries += delta
    result[m] = {"requests": len(ttft), "errors": errors, "ttft_p50": pct(ttft, 50), "ttft_p90": pct(ttft, 90),
                 "ttft_p99": pct(ttft, 99), "output_tok_s": sum(tok_s) / rounds,
                 "prefix_hit_rate": hits / queries if queries else float("nan"), "ttft_p90_per_round": p90s}
json.dump(result, open(f"{out}/prefix.json", "w"), indent=2)
def f(v): return "-" if v != v else f"{v:.0f}"
lines = ["# Prefix affinity", "",
         f"Four simulated H200 servers (profile h200, prefix caching on), {users} closed-loop users in 8-turn chat "
         "sessions: 4 system prompts of 2,000 words shared by all, 400±50 words a turn, answers of 100±20 tokens, a "
         f"mean pause of 1 s between turns. {rounds} rounds of {duration} per strategy, alternating on one node (one "
         "model per strategy over the same servers). TTFT in ms, pooled over the rounds; the prefix hit rate is the "
         "servers' own (prompt tokens found in their cache / looked up).", "",
         "| strategy | TTFT p50 | TTFT p90 | TTFT p99 | prefix hit rate | output tok/s | requests | errors | "
         "TTFT p90 per round |", "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
for m in models:
    r = result[m]
    lines.append(f"| {names[m]} | {f(r['ttft_p50'])} | {f(r['ttft_p90'])} | {f(r['ttft_p99'])} | "
                 f"{100 * r['prefix_hit_rate']:.0f} % | {f(r['output_tok_s'])} | {r['requests']} | {r['errors']} | "
                 + " / ".join(f(x) for x in r["ttft_p90_per_round"]) + " |")
a, p, rr = (result[m]["ttft_p90"] for m in models)
lines += ["", f"TTFT p90 with affinity: {a / rr:.2f} of round-robin's, {a / p:.2f} of least-busy without "
          "(the goal: at most 0.5 of each), output throughput "
          f"{result['affinity']['output_tok_s'] / max(result['plain']['output_tok_s'], result['round-robin']['output_tok_s']):.2f} "
          "of the better other."]
open(f"{out}/prefix.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
