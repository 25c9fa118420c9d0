#!/usr/bin/env bash
# What one node's CPU costs per request and per event (issue 19): the node alone in front of a simulated server that
# streams a token every 5 ms (profile steady:5), closed-loop streaming users, once per answer length. The node's CPU
# (/proc/PID/stat) and the requests it answered are counted in a window after the warm-up; two answer lengths give
# the cost of a request apart from its events: CPU per request = per request + tokens x per event.
# Writes OUT/cost.md.
#
#   [OUT=/tmp/node-cost] [NODE_JAVA_OPTS=...] loadtest/bench/node-cost.sh [users=200] [tokens=2,96] [seconds=180] \
#     [window=120-175]
set -euo pipefail
cd "$(dirname "$0")/../.."
. loadtest/bench/lib.sh
USERS=${1:-200}; TOKENS=${2:-2,96}; SECS=${3:-180}; WINDOW=${4:-120-175}
OUT=${OUT:-/tmp/node-cost}
mkdir -p "$OUT"
runs=$(mktemp -d)
trap 'rm -rf "$runs"' EXIT
[ -f cluster-node/target/aiguillage.jar ] && [ -f loadtest/target/loadtest.jar ] || mvn -q -B package -DskipTests
SIM_PORT=18101 NODE_PORT=18180
for tokens in ${TOKENS//,/ }; do
  work=$(mktemp -d)
  start_sim_and_node "$work" steady:5 1024 -1
  wait_healthy "http://127.0.0.1:$NODE_PORT" "http://127.0.0.1:$SIM_PORT"
  # The node's CPU in clock ticks, every 5 s from the load's start (its first sample is the load's time 0, to within
  # the load generator's start-up, under a second).
  ( while kill -0 "$NODE_PID" 2>/dev/null; do
      echo "$(date +%s.%N) $(awk '{print $14 + $15}' /proc/"$NODE_PID"/stat)"; sleep 5
    done ) > "$runs/cpu-$tokens.txt" 2>/dev/null &
  SAMPLER=$!
  closed_loop "$USERS" "${SECS}s" "$tokens" "$runs/$tokens"
  kill "$SIM_PID" "$NODE_PID" "$SAMPLER" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"
done
python3 - "$runs" "$TOKENS" "$WINDOW" "$USERS" "$(getconf CLK_TCK)" <<'PY' | tee "$OUT/cost.md"
import csv, sys
runs, tokens, window, users = sys.argv[1], sys.argv[2].split(','), sys.argv[3].split('-'), sys.argv[4]
hz = int(sys.argv[5])
w1, w2 = float(window[0]), float(window[1])
rows = []
for t in tokens:
    samples = [tuple(map(float, l.split())) for l in open(f'{runs}/cpu-{t}.txt') if len(l.split()) == 2]
    t0 = samples[0][0]
    def ticks(at):  # interpolated between samples
        for (a, ca), (b, cb) in zip(samples, samples[1:]):
            if a - t0 <= at <= b - t0:
                return ca + (cb - ca) * (at - (a - t0)) / max(1e-9, b - a)
        raise SystemExit(f'no CPU sample around {at} s for {t} tokens')
    done = [r for r in csv.DictReader(open(f'{runs}/{t}/requests.csv'))
            if r['status'] == '200' and w1 <= (float(r['start_ms']) + float(r['e2e_ms'])) / 1000 < w2]
    cpu_ms = (ticks(w2) - ticks(w1)) * 1000 / hz
    events = sum(int(r['output_tokens']) for r in done)
    rows.append((int(t), len(done), cpu_ms, events))
print(f'# What a request and an event cost the node\n\n{users} closed-loop streaming users, a token every 5 ms '
      f'(steady:5); the node alone; its CPU and the requests answered between {w1:.0f} and {w2:.0f} s of load.\n')
print('| tokens per answer | requests/s | node CPU (cores) | CPU per request (ms) | per token (µs) |')
print('|---:|---:|---:|---:|---:|')
for t, n, cpu, ev in rows:
    print(f'| {t} | {n / (w2 - w1):.0f} | {cpu / (w2 - w1) / 1000:.2f} | {cpu / n:.3f} | {1000 * cpu / ev:.1f} |')
if len(rows) >= 2:
    (ta, na, ca, _), (tb, nb, cb, _) = rows[0], rows[-1]
    per_event = (cb / nb - ca / na) / (tb - ta)
    print(f'\nFrom {ta} and {tb} tokens: **{1000 * per_event:.1f} µs per token** (an SSE event each) and '
          f'**{ca / na - ta * per_event:.3f} ms per request** apart from its events.')
PY
