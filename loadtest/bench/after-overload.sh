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
limits() { curl -s -H "Authorization: Bearer adm" "http://127.0.0.1:$NODE_PORT/admin/models" | python3 -c '
import json,sys,time
d=json.load(sys.stdin)
def walk(o):
  if isinstance(o,dict):
    if o.get("name")=="chat-affinity" and "servers" in o: yield o
    for v in o.values(): yield from walk(v)
  elif isinstance(o,list):
    for v in o: yield from walk(v)
for m in walk(d):
  print(time.strftime("%H:%M:%S"), [ {k:v for k,v in s.items() if k in ("batch_limit","batchLimit","in_flight","inFlight","running","waiting","state")} for s in m["servers"]])
' 2>&1 | head -3; }
cpu() { i=0; for p in $SIM_PIDS; do i=$((i+1)); echo "sim$i $(awk '{print $14+$15}' /proc/$p/stat)"; done; echo "node $(awk '{print $14+$15}' /proc/$NODE_PID/stat)"; echo "all $(awk '/^cpu /{print $2+$3+$4+$7+$8}' /proc/stat)"; }
balance() { python3 - "$OUT" "$1" <<'PY'
import sys,re
def read(f):
    v={}
    for l in open(f):
        m=re.match(r'(vllm:prefix_cache_(hits|queries)_total)\{[^}]*\} ([0-9.e+]+)',l)
        if m: v[m.group(1)]=v.get(m.group(1),0)+float(m.group(3))
    return v
h=q=0; per=[]
for p in ["18701","18702","18703","18704"]:
    a=read(f"{sys.argv[1]}/{sys.argv[2]}.{p}.after"); b=read(f"{sys.argv[1]}/{sys.argv[2]}.{p}.before")
    dh=a["vllm:prefix_cache_hits_total"]-b["vllm:prefix_cache_hits_total"]; dq=a["vllm:prefix_cache_queries_total"]-b["vllm:prefix_cache_queries_total"]
    h+=dh;q+=dq; per.append("%.0fk"%(dq/1000))
print("hit %.1f%% per server %s"%(100*h/q, "/".join(per)))
PY
}
poll() { while sleep 2; do limits; done; }
warm_up
p90() { python3 -c 'import csv,sys; r=sorted(float(x["ttft_ms"]) for x in csv.DictReader(open(sys.argv[1])) if x["status"]=="200"); n=len(r); print("n=%d p50=%.0f p90=%.0f p99=%.0f"%(n,r[n//2],r[int(n*0.9)],r[int(n*0.99)]))' "$1/requests.csv"; }
affinity_phase() { # phase seed
  cpu > "$OUT/$1.cpu.before"
  for port in "${SERVERS[@]}"; do curl -sf "http://127.0.0.1:$port/metrics" > "$OUT/$1.$port.before"; done
  poll > "$OUT/$1.limits" &
  local poller=$!
  load chat-affinity "$OUT/$1" "$2" --users "$USERS" --ramp-up 5s --duration "$DURATION" "${WORKLOAD[@]}"
  kill $poller
  for port in "${SERVERS[@]}"; do curl -sf "http://127.0.0.1:$port/metrics" > "$OUT/$1.$port.after"; done
  cpu > "$OUT/$1.cpu.after"
  echo "$1: $(p90 "$OUT/$1") $(balance "$1") cpu $(cpu_used "$1")"
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
    echo "over: $(p90 "$OUT/over")"
  else
    affinity_phase "$phase" "$seed"
  fi
  echo "limits after $phase: $(limits)"
  sleep 3
done
