#!/usr/bin/env bash
# Prefix affinity (docs/routing.md): four simulated H200 servers (vLLM's prefix caching on) and closed-loop users in
# multi-turn sessions, as a coding assistant holds them: 16 turns; 4 system prompts of 2,000 words shared by all;
# 800±100 words a turn (code pasted, tool results), answers of 40±8 tokens (the edit); a mean pause of 1 s between
# turns. One node serves three models over the same servers, one per strategy: least-busy with prefix affinity,
# least-busy without, round-robin.
#
# The load is set from the capacity measured in the same run: first round-robin at rising users (SWEEP), its most
# requests a second being the fleet's capacity for this workload as it is routed today; then the rounds alternate
# between the strategies at the users that give round-robin LOAD (0.8) of that capacity, the order turning each
# round; last, one round of each at OVER (1.3) times those users, beyond round-robin's capacity. Writes
# loadtest/reports/prefix/prefix.{md,json}, each round's load report and the servers' metrics around it.
#
#   loadtest/bench/prefix.sh [duration per round=40s] [rounds=3]
#   SWEEP="40 60 80 100 130" LOAD=0.8 OVER=1.3 USERS=N (skips the sweep)
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-40s}
ROUNDS=${2:-3}
SWEEP=${SWEEP:-40 60 80 100 130}
LOAD=${LOAD:-0.8}
OVER=${OVER:-1.3}
OUT=${OUT:-loadtest/reports/prefix}
# shellcheck source=prefix-fleet.sh
source loadtest/bench/prefix-fleet.sh
cpu() { awk '/^cpu /{print $2+$3+$4, $5}' /proc/stat; }
measure() { # model dir seed users
  servers_metrics "$2" before
  cpu > "$2/cpu.before"
  # A seed of its own per round and model: no model finds the conversations another one just held.
  load "chat-$1" "$2" "$3" --users "$4" --ramp-up 5s --duration "$DURATION" "${WORKLOAD[@]}"
  cpu > "$2/cpu.after"
  servers_metrics "$2" after
  sleep 3
}
warm_up
rate() { python3 -c 'import csv,sys; r=[x for x in csv.DictReader(open(sys.argv[1])) if x["status"]=="200"]
s=min(float(x["start_ms"]) for x in r); e=max(float(x["start_ms"])+float(x["e2e_ms"]) for x in r); print(len(r)/(e-s)*1000)' "$1/requests.csv"; }
if [ -z "${USERS:-}" ]; then
  for u in $SWEEP; do
    echo "capacity: round-robin at $u users" >&2
    measure round-robin "$OUT/capacity/$u" $((u + 1000)) "$u"
    echo "$u $(rate "$OUT/capacity/$u")" >> "$OUT/capacity/sweep.txt"
  done
  # The users at which round-robin's requests a second reach LOAD of its most, between the two levels around it.
  USERS=$(python3 - "$OUT/capacity/sweep.txt" "$LOAD" <<'PY'
import sys
pts = [tuple(map(float, l.split())) for l in open(sys.argv[1])]
target = float(sys.argv[2]) * max(r for _, r in pts)
prev = (0.0, 0.0)
for u, r in pts:
    if r >= target:
        print(round(prev[0] + (target - prev[1]) * (u - prev[0]) / (r - prev[1])))
        break
    prev = (u, r)
PY
)
fi
echo "$USERS" > "$OUT/users.txt"
for round in $(seq 1 "$ROUNDS"); do
  for k in 0 1 2; do
    m=${MODELS[$(( (round - 1 + k) % 3 ))]}
    echo "round $round: $m at $USERS users" >&2
    measure "$m" "$OUT/round-$round/$m" $((round * 10 + k)) "$USERS"
  done
done
OVER_USERS=$(python3 -c "print(round($USERS * $OVER))")
for k in 0 1 2; do
  m=${MODELS[$k]}
  echo "over capacity: $m at $OVER_USERS users" >&2
  measure "$m" "$OUT/over/$m" $((100 + k)) "$OVER_USERS"
done

python3 - "$OUT" "$ROUNDS" "$USERS" "$DURATION" "${SERVERS[*]}" "$OVER_USERS" "$LOAD" <<'PY'
import csv, json, math, os, sys
out, rounds, users, duration, ports, over_users, load = sys.argv[1:]
rounds, ports = int(rounds), ports.split()
models = ("affinity", "plain", "round-robin")
names = {"affinity": "least-busy, prefix affinity", "plain": "least-busy, no affinity", "round-robin": "round-robin"}

def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, max(0, math.ceil(p / 100 * len(v)) - 1))] if v else float("nan")

def counter(path, name):
    return sum(float(l.split()[-1]) for l in open(path) if l.startswith(name + "{") or l.startswith(name + " "))

def run(d):
    rows = list(csv.DictReader(open(f"{d}/requests.csv")))
    ok = [x for x in rows if x["status"] == "200"]
    start = min(float(x["start_ms"]) for x in ok)
    end = max(float(x["start_ms"]) + float(x["e2e_ms"]) for x in ok)
    hits = queries = 0.0
    for port in ports:
        hits += counter(f"{d}/servers/{port}.after", "vllm:prefix_cache_hits_total") \
            - counter(f"{d}/servers/{port}.before", "vllm:prefix_cache_hits_total")
        queries += counter(f"{d}/servers/{port}.after", "vllm:prefix_cache_queries_total") \
            - counter(f"{d}/servers/{port}.before", "vllm:prefix_cache_queries_total")
    (b0, i0), (b1, i1) = (map(float, open(f"{d}/cpu.{w}").read().split()) for w in ("before", "after"))
    return {"ttft": [float(x["ttft_ms"]) for x in ok], "errors": len(rows) - len(ok),
            "req_s": len(ok) / (end - start) * 1000,
            "tok_s": sum(int(x["output_tokens"]) for x in ok) / (end - start) * 1000,
            "hits": hits, "queries": queries, "cpu": (b1 - b0) / ((b1 - b0) + (i1 - i0))}

def f(v): return "-" if v != v else f"{v:.0f}"
result = {"users": int(users), "over_users": int(over_users), "strategies": {}}
lines = ["# Prefix affinity", "",
         "Four simulated H200 servers (profile h200, prefix caching on), closed-loop users in 16-turn sessions of a "
         "coding assistant: 4 system prompts of 2,000 words shared by all, 800±100 words a turn, answers of 40±8 "
         "tokens, a mean pause of 1 s between turns. One node serves the three strategies as three models over the "
         "same servers. TTFT in ms; the prefix hit rate is the servers' own (prompt tokens found in their cache / "
         "looked up); CPU is the whole 2-core machine's (servers, node and load generator), busy share.", ""]
sweep = f"{out}/capacity/sweep.txt"
if os.path.exists(sweep):
    pts = [l.split() for l in open(sweep)]
    cap = max(float(r) for _, r in pts)
    result["capacity_req_s"] = cap
    lines += ["## Capacity: round-robin at rising users", "",
              "| users | requests/s | TTFT p50 | TTFT p90 | CPU |", "|---:|---:|---:|---:|---:|"]
    for u, _ in pts:
        r = run(f"{out}/capacity/{u}")
        lines.append(f"| {u} | {r['req_s']:.1f} | {f(pct(r['ttft'], 50))} | {f(pct(r['ttft'], 90))} | "
                     f"{100 * r['cpu']:.0f} % |")
    lines += ["", f"Capacity: {cap:.1f} requests/s (round-robin's most). {float(load):.0%} of it: {users} users.", ""]
lines += [f"## At {users} users ({float(load):.0%} of round-robin's capacity), {rounds} rounds of {duration} each, "
          "alternating", "",
          "| strategy | TTFT p50 | TTFT p90 | TTFT p99 | prefix hit rate | requests/s | output tok/s | errors | CPU | "
          "TTFT p90 per round |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
for m in models:
    rs = [run(f"{out}/round-{r}/{m}") for r in range(1, rounds + 1)]
    ttft = [t for r in rs for t in r["ttft"]]
    agg = {"ttft_p50": pct(ttft, 50), "ttft_p90": pct(ttft, 90), "ttft_p99": pct(ttft, 99),
           "prefix_hit_rate": sum(r["hits"] for r in rs) / sum(r["queries"] for r in rs),
           "req_s": sum(r["req_s"] for r in rs) / rounds, "output_tok_s": sum(r["tok_s"] for r in rs) / rounds,
           "errors": sum(r["errors"] for r in rs), "requests": len(ttft), "cpu": sum(r["cpu"] for r in rs) / rounds,
           "ttft_p90_per_round": [pct(r["ttft"], 90) for r in rs]}
    result["strategies"][m] = agg
    lines.append(f"| {names[m]} | {f(agg['ttft_p50'])} | {f(agg['ttft_p90'])} | {f(agg['ttft_p99'])} | "
                 f"{100 * agg['prefix_hit_rate']:.0f} % | {agg['req_s']:.1f} | {f(agg['output_tok_s'])} | "
                 f"{agg['errors']} | {100 * agg['cpu']:.0f} % | " + " / ".join(f(x) for x in agg["ttft_p90_per_round"])
                 + " |")
st = result["strategies"]
a, p, rr = (st[m]["ttft_p90"] for m in models)
lines += ["", f"TTFT p90 with affinity: **{a / rr:.2f}** of round-robin's, **{a / p:.2f}** of least-busy without "
          "(the goal: at most 0.5 of each); output throughput "
          f"{st['affinity']['output_tok_s'] / max(st['plain']['output_tok_s'], st['round-robin']['output_tok_s']):.2f} "
          "of the better other.", "",
          f"## Beyond capacity: one round of each at {over_users} users", "",
          "| strategy | TTFT p50 | TTFT p90 | TTFT p99 | prefix hit rate | requests/s | errors | CPU |",
          "|---|---:|---:|---:|---:|---:|---:|---:|"]
result["over"] = {}
for m in models:
    r = run(f"{out}/over/{m}")
    result["over"][m] = {"ttft_p50": pct(r["ttft"], 50), "ttft_p90": pct(r["ttft"], 90),
                         "ttft_p99": pct(r["ttft"], 99), "prefix_hit_rate": r["hits"] / r["queries"],
                         "req_s": r["req_s"], "errors": r["errors"], "cpu": r["cpu"]}
    o = result["over"][m]
    lines.append(f"| {names[m]} | {f(o['ttft_p50'])} | {f(o['ttft_p90'])} | {f(o['ttft_p99'])} | "
                 f"{100 * o['prefix_hit_rate']:.0f} % | {o['req_s']:.1f} | {o['errors']} | {100 * o['cpu']:.0f} % |")
json.dump(result, open(f"{out}/prefix.json", "w"), indent=2)
open(f"{out}/prefix.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
