#!/usr/bin/env python3
"""Writes chaos.md for cluster-chaos.sh: requests by phase (before the kill, after it, after the graceful stop),
what failed and whether the failure is explained (the request was in flight on the killed node), TTFT from the
load generator and queue wait from the dispatcher's usage ledger (PostgreSQL)."""
import csv, hashlib, re, subprocess, sys
from collections import Counter

out, kill_ms, stop_ms, run_start, db_url, users, duration, stopped_ms = sys.argv[1:9]
kill_ms, stop_ms, run_start = float(kill_ms), float(stop_ms), int(run_start)
TOLERANCE_MS = 1000  # the load generator's clock starts a JVM start-up after the script's

rows = list(csv.DictReader(open(f"{out}/requests.csv")))
for r in rows:
    r["start"] = float(r["start_ms"])
    r["end"] = r["start"] + float(r["e2e_ms"])
    r["ok"] = r["status"] == "200" and r["error"] == ""

phases = [("before the kill", 0, kill_ms), ("after kill -9 of node 1", kill_ms, stop_ms),
          ("after SIGTERM of node 2", stop_ms, float("inf"))]

def pct(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    k = (len(v) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)

# Queue wait per call, from the ledger the nodes wrote.
key_id = "key-" + hashlib.sha256(b"sk-chaos").hexdigest()[:12]
m = re.match(r"jdbc:postgresql://([^:/]+):?(\d+)?/(\w+)", db_url)
host, port, db = m.group(1), m.group(2) or "5432", m.group(3)
ledger = subprocess.run(["psql", "-h", host, "-p", port, "-U", "postgres", "-d", db, "-At", "-F", ",", "-c",
    f"select ended_at - duration_ms, queue_wait_ms, status from aiguillage_usage where key_id = '{key_id}' "
    f"and ended_at >= {run_start}"], capture_output=True, text=True, check=True).stdout.split()
calls = [(int(s) - run_start, int(q), int(st)) for s, q, st in (l.split(",") for l in ledger)]

def in_flight(r, at):
    return r["start"] - TOLERANCE_MS <= at <= r["end"] + TOLERANCE_MS

lines = ["# Cluster under load: one node killed, one stopped gracefully", "",
         f"Three dispatcher processes on loopback (edge + queue + agent each, PostgreSQL journal), two simulated "
         f"vLLM servers, {users} closed-loop users for {duration} s spread over the three edges. Node 1 (the oldest: "
         f"it ran the agents) got `kill -9` at {kill_ms/1000:.1f} s; node 2 got SIGTERM at {stop_ms/1000:.1f} s and "
         f"exited at {float(stopped_ms)/1000:.1f} s, once its requests and streams had ended.", "",
         "| phase | sent | served | failed | TTFT p50 (ms) | TTFT p99 (ms) | queue wait p50 (ms) | queue wait p99 (ms) |",
         "|---|---:|---:|---:|---:|---:|---:|---:|"]
for name, lo, hi in phases:
    rs = [r for r in rows if lo <= r["start"] < hi]
    ok = [r for r in rs if r["ok"]]
    ttft = [float(r["ttft_ms"]) for r in ok]
    waits = [q for s, q, st in calls if lo <= s < hi]
    lines.append(f"| {name} | {len(rs)} | {len(ok)} | {len(rs) - len(ok)} | {pct(ttft, 50):.0f} | "
                 f"{pct(ttft, 99):.0f} | {pct(waits, 50):.0f} | {pct(waits, 99):.0f} |")

failed = [r for r in rows if not r["ok"]]
at_kill = [r for r in failed if in_flight(r, kill_ms)]
unexplained = [r for r in failed if not in_flight(r, kill_ms)]
lines += ["", f"Requests sent: {len(rows)}, served: {len(rows) - len(failed)}, failed: {len(failed)}.", "",
          f"- failed while in flight when node 1 was killed (its agents served every stream; expected): {len(at_kill)}",
          f"- failed otherwise (none expected; the graceful stop must cut nothing): {len(unexplained)}", ""]
if failed:
    lines += ["Why they failed:", "", "| error | requests |", "|---|---:|"]
    for error, n in Counter((r["status"] + " " + r["error"])[:120] for r in failed).most_common():
        lines.append(f"| {error.replace('|', '/')} | {n} |")
    lines.append("")
if unexplained:
    lines += ["Unexplained failures (start ms, end ms, error):", ""]
    lines += [f"- {r['start']:.0f}, {r['end']:.0f}, {r['status']} {r['error'][:120]}" for r in unexplained[:20]]
lines += ["", f"Queue wait is the dispatcher's own record (usage ledger, {len(calls)} calls), by the call's start; "
          "TTFT is the load generator's, by the request's start, queue wait included.",
          f"A failure is explained when the request was in flight at the kill (±{TOLERANCE_MS} ms for the two clocks).",
          "", "Reproduce: `loadtest/bench/cluster-chaos.sh " + f"{users} {kill_ms/1000:.0f} {stop_ms/1000:.0f} {duration}`"]
open(f"{out}/chaos.md", "w").write("\n".join(lines) + "\n")
