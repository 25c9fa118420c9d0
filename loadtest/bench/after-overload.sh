#!/usr/bin/env bash
# What an overload leaves behind (docs/benchmarks.md, "Prefix affinity"): prefix.sh's servers, node and workload;
# phases of 40 s one after the other: "fresh" and "after*" are least-busy with prefix affinity at USERS (67: 80 % of
# round-robin's capacity here), "over" is round-robin at OVERLOAD users (130: prefix.sh's capacity sweep's last
# level). Prints each phase's TTFT, the servers' prefix hit rate and prompt tokens each, the CPU each process took,
# and the node's view of its servers (learnt batch limits) every 2 s to OUT/PHASE.limits.
#
#   PHASES="fresh over after1" loadtest/bench/after-overload.sh
#   OUT=... DURATION=40s USERS=67 OVERLOAD=130 SIM_OPTS=... NODE_OPTS=... (see prefix-fleet.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-loadtest/reports/after-overload}; DURATION=${DURATION:-40s}; USERS=${USERS:-67}; OVERLOAD=${OVERLOAD:-130}
# shellcheck source=prefix-fleet.sh
source loadtest/bench/prefix-fleet.sh
limits() { # the node's view of chat-affinity's servers, a line
  curl -s -H "Authorization: Bearer adm" "http://127.0.0.1:$NODE_PORT/admin/models" | python3 -c '
import json, sys, time
for m in json.load(sys.stdin)["data"]:
    if m["name"] == "chat-affinity":
        print(time.strftime("%H:%M:%S"), [{k: v for k, v in s.items()
              if k in ("state", "in_flight", "running", "waiting", "batch_limit")} for s in m["servers"]])'
}
cpu() { i=0; for p in $SIM_PIDS; do i=$((i+1)); echo "sim$i $(awk '{print $14+$15}' /proc/$p/stat)"; done; echo "node $(awk '{print $14+$15}' /proc/$NODE_PID/stat)"; echo "all $(awk '/^cpu /{print $2+$3+$4+$7+$8}' /proc/stat)"; }
balance() { # dir: the servers' prefix hit rate over the phase, and the prompt tokens each looked up
  python3 - "$1/servers" "${SERVERS[@]}" <<'PY'
import sys
def counter(path, name):
    return sum(float(l.split()[-1]) for l in open(path) if l.startswith(name + "{") or l.startswith(name + " "))
def grown(port, name):
    return counter(f"{sys.argv[1]}/{port}.after", name) - counter(f"{sys.argv[1]}/{port}.before", name)
queries = [grown(p, "vllm:prefix_cache_queries_total") for p in sys.argv[2:]]
hits = sum(grown(p, "vllm:prefix_cache_hits_total") for p in sys.argv[2:])
print("hit %.1f%% per server %s" % (100 * hits / sum(queries), "/".join("%.0fk" % (q / 1000) for q in queries)))
PY
}
poll() { while sleep 2; do limits; done; }
warm_up
ttft_summary() { python3 -c 'import csv,sys; r=sorted(float(x["ttft_ms"]) for x in csv.DictReader(open(sys.argv[1])) if x["status"]=="200"); n=len(r); print("n=%d p50=%.0f p90=%.0f p99=%.0f"%(n,r[n//2],r[int(n*0.9)],r[int(n*0.99)]))' "$1/requests.csv"; }
affinity_phase() { # phase seed
  cpu > "$OUT/$1.cpu.before"
  servers_metrics "$OUT/$1" before
  poll > "$OUT/$1.limits" &
  local poller=$!
  load chat-affinity "$OUT/$1" "$2" --users "$USERS" --ramp-up 5s --duration "$DURATION" "${WORKLOAD[@]}"
  kill $poller
  servers_metrics "$OUT/$1" after
  cpu > "$OUT/$1.cpu.after"
  echo "$1: $(ttft_summary "$OUT/$1") $(balance "$OUT/$1") cpu $(cpu_used "$1")"
}
cpu_used() { python3 - "$OUT/$1.cpu.before" "$OUT/$1.cpu.after" <<'PY'
import sys
b = dict(l.split() for l in open(sys.argv[1])); a = dict(l.split() for l in open(sys.argv[2]))
print(' '.join('%s=%.1fs' % (k, (int(a[k]) - int(b[k])) / 100) for k in a))
PY
}
seed=10
for phase in ${PHASES:-fresh over after1 after2}; do
  seed=$((seed + 1))
  if [ "$phase" = over ]; then
    load chat-round-robin "$OUT/over" "$seed" --users "$OVERLOAD" --ramp-up 5s --duration "$DURATION" "${WORKLOAD[@]}"
    echo "over: $(ttft_summary "$OUT/over")"
  else
    affinity_phase "$phase" "$seed"
  fi
  echo "limits after $phase: $(limits)"
  sleep 3
done
