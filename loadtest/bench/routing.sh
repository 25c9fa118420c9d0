#!/usr/bin/env bash
# "Routing quality": one fast server (64 slots, the H200 step curve) and two slow ones (16 slots, 20 -> 60 ms
# steps) under 77 closed-loop users, 80 % of the fleet's 96 slots, per routing strategy with the same seeded load.
#
# One node serves three models, one per strategy, over the same three servers; rounds alternate between them
# (the order turns each round) so that what the shared cores do at a given moment falls on every strategy alike,
# and the percentiles pool every round's requests. Writes loadtest/reports/routing/routing.{md,json} and, per
# round and strategy, the load generator's full report.
#
#   loadtest/bench/routing.sh [duration per round=30s] [rounds=3]
#
# CEILINGS=tuned: max_parallel_requests is each server's max-num-seqs (64/16/16). CEILINGS=uniform: 64 on every
# server, as an operator who pasted one value would have: the slow servers' ceilings overstate their 16 sequences.
# SHARED_USERS=N: N closed-loop users of the slow servers' own university call each slow server directly, for the
# whole run (the load the dispatcher only sees in the servers' metrics).
# METRICS=basic: the simulators expose only gauges and counters (no TTFT or inter-token histogram), as servers behind
# a metrics filter or engines that do not measure their latencies; the agents cannot read a step curve there.
# WARMUP=30s: before the rounds, half the rounds' users through a fourth model (round-robin, agents of its own) over
# the same servers: the JVMs (node, simulators, load generator) are warm, and the strategies' agents have seen no
# server queue (half the users fill no slow server: with the rounds' users, round-robin would overfill them and
# every agent would learn their batch from the queue). The first round is so a cold start of the routing, not of
# the JIT. WARMUP=0s: none.
# NODE_JAR=PATH: the dispatcher to measure (default this checkout's).
# ALONE=1: each round also loads the fast server directly (no dispatcher, the same users), for its own TTFT at that
# load: the reference where one server alone has room for the whole load.
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-30s}
ROUNDS=${2:-3}
CEILINGS=${CEILINGS:-tuned}
SHARED_USERS=${SHARED_USERS:-0}
METRICS=${METRICS:-full}
ALONE=${ALONE:-0}
WARMUP=${WARMUP:-30s}
NODE_JAR=${NODE_JAR:-cluster-node/target/aiguillage.jar} # another build's node, for a before/after comparison
USERS=${USERS:-77}
OUT=${OUT:-loadtest/reports/routing}
FAST=18501; SLOW1=18502; SLOW2=18503; NODE_PORT=18580
# Step times (ms at batch 1 and 128) of the fast and slow servers. On 2 shared cores, three simulators, the node
# and the load generator compete for CPU; slower steps (fewer events per second) keep the simulators' own HTTP
# handling from being what is measured.
FAST_ITL=${FAST_ITL:-8,46}
SLOW_ITL=${SLOW_ITL:-20,60}
if [ "$CEILINGS" = uniform ]; then SLOW_MAX=64; else SLOW_MAX=16; fi
STRATEGIES=(least-busy round-robin random)
PATHS=("${STRATEGIES[@]}")
[ "$ALONE" = 1 ] && PATHS+=(fast-alone)

[ -f cluster-node/target/aiguillage.jar ] && [ -f loadtest/target/loadtest.jar ] || mvn -q -B package -DskipTests
work=$(mktemp -d)
PIDS=""
cleanup() { kill $PIDS 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
rm -rf "$OUT"; mkdir -p "$OUT"
java -jar loadtest/target/loadtest.jar simulate --port $FAST --model served --profile h200 --max-num-seqs 64 \
  --itl-ms "$FAST_ITL" --metrics "$METRICS" > "$work/fast.log" 2>&1 &
PIDS="$PIDS $!"
for port in $SLOW1 $SLOW2; do
  java -jar loadtest/target/loadtest.jar simulate --port "$port" --model served --profile h200 --max-num-seqs 16 \
    --itl-ms "$SLOW_ITL" --metrics "$METRICS" > "$work/slow-$port.log" 2>&1 &
  PIDS="$PIDS $!"
done

{
  echo "http: { host: 127.0.0.1, port: $NODE_PORT }"
  echo "persistence: { url: \"jdbc:h2:file:$work/data\" }"
  echo "tokens: [ { token: sk-bench, name: bench, organization: univ-c, threshold: 10000 } ]"
  echo "models:"
  for strategy in "${STRATEGIES[@]}" warmup; do
    [ "$strategy" = warmup ] && routing=round-robin || routing=$strategy
    cat <<YAML
  - name: chat-$strategy
    model: served
    routing_strategy: $routing
    vllm_servers:
      - { url: http://127.0.0.1:$FAST, organization: univ-a, max_parallel_requests: 64 }
      - { url: http://127.0.0.1:$SLOW1, organization: univ-b, max_parallel_requests: $SLOW_MAX }
      - { url: http://127.0.0.1:$SLOW2, organization: univ-b, max_parallel_requests: $SLOW_MAX }
YAML
  done
} > "$work/aiguillage.yaml"
java -jar "$NODE_JAR" --config "$work/aiguillage.yaml" > "$work/node.log" 2>&1 &
PIDS="$PIDS $!"
for i in $(seq 1 60); do curl -sf "http://127.0.0.1:$NODE_PORT/health" >/dev/null && break; sleep 0.5; done

load() { # model users duration out [extra options]
  if [ "$1" = chat-fast-alone ]; then
    java -jar loadtest/target/loadtest.jar run --url "http://127.0.0.1:$FAST" --model served \
      --users "$2" --duration "$3" --out "$4" --quiet "${@:5}" > /dev/null
  else
    java -jar loadtest/target/loadtest.jar run --url "http://127.0.0.1:$NODE_PORT" --model "$1" --key sk-bench \
      --users "$2" --duration "$3" --out "$4" --quiet "${@:5}" > /dev/null
  fi
}
# Warm the JVMs with the rounds' load through a model of its own, then each model's connections with a few calls.
if [ "$WARMUP" != 0s ] && [ "$WARMUP" != 0 ]; then
  load chat-warmup $(( USERS / 2 )) "$WARMUP" "$work/warm-up" --ramp-up 5s --input-tokens 300 --max-tokens 128 \
    --output-spread 32 --seed 0
  sleep 2
fi
for strategy in "${STRATEGIES[@]}"; do
  load "chat-$strategy" 32 5s "$work/warm-$strategy" --input-tokens 10 --max-tokens 4
done
if [ "$SHARED_USERS" -gt 0 ]; then
  for port in $SLOW1 $SLOW2; do
    java -jar loadtest/target/loadtest.jar run --url "http://127.0.0.1:$port" --model served --users "$SHARED_USERS" \
      --duration 24h --input-tokens 300 --max-tokens 128 --output-spread 32 --seed "$port" \
      --out "$work/shared-$port" --quiet > /dev/null 2>&1 &
    PIDS="$PIDS $!"
  done
  sleep 5
fi

for round in $(seq 1 "$ROUNDS"); do
  for k in $(seq 0 $(( ${#PATHS[@]} - 1 ))); do
    strategy=${PATHS[$(( (round - 1 + k) % ${#PATHS[@]} ))]}
    echo "round $round: $strategy" >&2
    servers="$OUT/round-$round/$strategy/servers"; mkdir -p "$servers"
    for port in $FAST $SLOW1 $SLOW2 $NODE_PORT; do curl -sf "http://127.0.0.1:$port/metrics" > "$servers/$port.before"; done
    load "chat-$strategy" "$USERS" "$DURATION" "$OUT/round-$round/$strategy" --ramp-up 5s --input-tokens 300 \
      --max-tokens 128 --output-spread 32 --seed "$round"
    for port in $FAST $SLOW1 $SLOW2 $NODE_PORT; do curl -sf "http://127.0.0.1:$port/metrics" > "$servers/$port.after"; done
    sleep 2 # the servers finish what the round left
  done
done

python3 - "$OUT" "$ROUNDS" "$FAST_ITL" "$SLOW_ITL" "$CEILINGS" "$SLOW_MAX" "$SHARED_USERS" "$USERS" "$DURATION" \
  "$FAST $SLOW1 $SLOW2" "$NODE_PORT" "$METRICS" "${PATHS[*]}" "$WARMUP" <<'PY'
import csv, json, math, sys
(out, rounds, fast_itl, slow_itl, ceilings, slow_max, shared, users, duration, ports, node, metrics, paths,
 warmup) = sys.argv[1:]
ports = ports.split()
rounds = int(rounds)
strategies = tuple(paths.split())

def pct(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, max(0, math.ceil(p / 100 * len(v)) - 1))]

def rows(strategy, r):
    with open(f"{out}/round-{r}/{strategy}/requests.csv") as f:
        return list(csv.DictReader(f))

pooled, per_round = {}, {}
for s in strategies:
    ttft, e2e, tokens, errors, seconds = [], [], 0, 0, 0.0
    per_round[s] = []
    for r in range(1, rounds + 1):
        rs = rows(s, r)
        ok = [x for x in rs if x["status"] == "200"]
        errors += len(rs) - len(ok)
        t = [float(x["ttft_ms"]) for x in ok]
        ttft += t
        e2e += [float(x["e2e_ms"]) for x in ok]
        tokens += sum(int(x["output_tokens"]) for x in ok)
        report = json.load(open(f"{out}/round-{r}/{s}/report.json"))
        summary = [x for x in report["summaries"] if x["group"] == "all"][0]
        per_round[s].append({"p50": pct(t, 50), "p99": pct(t, 99), "tok_s": summary["outputTokensPerS"]})
    pooled[s] = {"requests": len(ttft), "errors": errors, "ttft_p50": pct(ttft, 50), "ttft_p90": pct(ttft, 90),
                 "ttft_p99": pct(ttft, 99), "e2e_p50": pct(e2e, 50), "e2e_p99": pct(e2e, 99),
                 "output_tok_s": sum(x["tok_s"] for x in per_round[s]) / rounds}

def bucket(path, name, le):
    return sum(float(line.split()[-1]) for line in open(path)
               if line.startswith(f"{name}_bucket") and f'le="{le}"' in line)

def histogram(path, name, label=""):
    total = {"sum": 0.0, "count": 0.0}
    for line in open(path):
        for part in ("sum", "count"):
            if line.startswith(f"{name}_{part}") and label in line:
                total[part] += float(line.split()[-1])
    return total

def counter(path, name):
    return sum(float(line.split()[-1]) for line in open(path) if line.startswith(name + "{"))

def mean_ms(s, name):
    """The dispatcher's own mean of a histogram of the strategy's model over its rounds, in ms."""
    total = count = 0.0
    for r in range(1, rounds + 1):
        base = f"{out}/round-{r}/{s}/servers/{node}"
        a = histogram(base + ".after", name, f'model="chat-{s}"')
        b = histogram(base + ".before", name, f'model="chat-{s}"')
        total += a["sum"] - b["sum"]; count += a["count"] - b["count"]
    return 1000 * total / count if count else float("nan")

# What each server did during the rounds (the shared users' requests included): requests finished, mean TTFT
# and mean inter-token latency, from the differences of its own histograms.
servers = {}
for s in strategies:
    servers[s] = []
    for port in ports:
        done = ttft = ttft_n = itl = itl_n = fast = 0.0
        for r in range(1, rounds + 1):
            base = f"{out}/round-{r}/{s}/servers/{port}"
            fast += (bucket(base + ".after", "vllm:time_to_first_token_seconds", "0.1")
                     - bucket(base + ".before", "vllm:time_to_first_token_seconds", "0.1"))
            d = {}
            for name in ("vllm:e2e_request_latency_seconds", "vllm:time_to_first_token_seconds",
                         "vllm:inter_token_latency_seconds"):
                a, b = histogram(base + ".after", name), histogram(base + ".before", name)
                d[name] = (a["sum"] - b["sum"], a["count"] - b["count"])
            done += (d["vllm:e2e_request_latency_seconds"][1] if metrics == "full" else
                     counter(base + ".after", "vllm:request_success_total")
                     - counter(base + ".before", "vllm:request_success_total"))
            ttft += d["vllm:time_to_first_token_seconds"][0]; ttft_n += d["vllm:time_to_first_token_seconds"][1]
            itl += d["vllm:inter_token_latency_seconds"][0]; itl_n += d["vllm:inter_token_latency_seconds"][1]
        servers[s].append({"port": port, "requests": int(done), "ttft_over_100ms": int(ttft_n - fast), "ttft_mean_ms": 1000 * ttft / ttft_n if ttft_n else
                           float("nan"), "itl_mean_ms": 1000 * itl / itl_n if itl_n else float("nan")})

def f(v): return "-" if v != v else f"{v:.0f}"
lines = ["# Routing quality", "",
         f"One fast server (64 slots, steps {fast_itl} ms at batch 1 -> 128) and two slow ones (16 slots each, steps "
         f"{slow_itl} ms); {users} closed-loop users joining over 5 s; 300 tokens in, 128±32 out.",
         f"Dispatcher ceilings ({ceilings}): max_parallel_requests 64 on the fast server, {slow_max} on each slow one.",
         (f"{shared} users of the slow servers' own university call each slow server directly throughout."
          if shared != "0" else "No other load on the servers."),
         ("The servers expose only gauges and counters (`--metrics basic`): no TTFT or inter-token histogram, so no "
          "agent reads a step curve from them (they learn one from their own streams), and the per-server TTFT and ITL "
          "below are unknown."
          if metrics == "basic" else "The servers expose vLLM's full metrics."),
         ("`fast-alone`: the same users on the fast server alone, directly (no dispatcher), in the same alternation."
          if "fast-alone" in strategies else ""),
         (f"Before the rounds, {warmup} of half as many users through a fourth model (round-robin, agents of its own): "
          "the JVMs are warm, the strategies' agents have seen only a few short calls and no server queue."
          if warmup not in ("0", "0s") else "No warm-up but a few short calls through each model: each first round "
          "is also the JIT's first load."),
         f"{rounds} rounds of {duration} per strategy, alternating on one warmed node (one model per strategy over "
         "the same servers); each round's seed is the same for every strategy. TTFT in ms, pooled over the rounds.", "",
         "| strategy | TTFT p50 | TTFT p90 | TTFT p99 | E2E p50 | E2E p99 | output tok/s | requests | errors | "
         "TTFT p99 per round |",
         "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
for s in strategies:
    p = pooled[s]
    lines.append(f"| {s} | {f(p['ttft_p50'])} | {f(p['ttft_p90'])} | {f(p['ttft_p99'])} | {f(p['e2e_p50'])} | "
                 f"{f(p['e2e_p99'])} | {f(p['output_tok_s'])} | {p['requests']} | {p['errors']} | "
                 + " / ".join(f(x["p99"]) for x in per_round[s]) + " |")
routed = [s for s in strategies if s != "fast-alone"]
best = {r: min(routed, key=lambda s: per_round[s][r]["p99"]) for r in range(rounds)}
wins = sum(1 for r in range(rounds) if best[r] == "least-busy")
lines += ["", f"Least-busy had the lowest TTFT p99 in {wins} of {rounds} rounds.", "",
          "What each server did, from its own metrics over the same rounds (requests finished; mean TTFT and mean "
          "inter-token latency in ms; the fast server first):", "",
          "| strategy | requests per server | server TTFT mean | server ITL mean | dispatcher: queue wait mean | "
          "call to first event mean | arrival to first event mean | first tokens over 100 ms at the servers |",
          "|---|---|---|---|---:|---:|---:|---:|"]
for s in strategies:
    slow = sum(x["ttft_over_100ms"] for x in servers[s])
    total = sum(x["requests"] for x in servers[s])
    lines.append(f"| {s} | " + " / ".join(str(x["requests"]) for x in servers[s]) + " | "
                 + " / ".join(f"{x['ttft_mean_ms']:.1f}" for x in servers[s]) + " | "
                 + " / ".join(f"{x['itl_mean_ms']:.1f}" for x in servers[s]) + " | "
                 + f"{mean_ms(s, 'aiguillage_queue_wait_seconds'):.1f} | "
                 + f"{mean_ms(s, 'aiguillage_server_ttft_seconds'):.1f} | "
                 + f"{mean_ms(s, 'aiguillage_ttft_seconds'):.1f} | "
                 + (f"{slow} ({100 * slow / total if total else 0:.1f} %) |" if metrics == "full" else "- |"))
open(f"{out}/routing.md", "w").write("\n".join(lines) + "\n")
json.dump({"metrics": metrics, "pooled": pooled, "per_round": per_round, "servers": servers, "ceilings": ceilings, "shared_users": int(shared),
           "users": int(users), "rounds": rounds, "duration": duration}, open(f"{out}/routing.json", "w"), indent=2)
print("\n".join(lines))
PY
