#!/usr/bin/env python3
"""Writes soak.md, heap.svg and rss.svg for soak.sh from samples.csv (one sample a minute, each after a full GC)
and the load generator's report.json: the slope of each series by least squares, under load only."""
import csv, json, sys

out, label, minutes, users, leavers, java_opts = sys.argv[1:7]
journal = sys.argv[7] if len(sys.argv) > 7 else "h2"
rows = list(csv.DictReader(open(f"{out}/samples.csv")))
load = [r for r in rows if r["phase"] == "load"]


def slope(xs, ys):
    n = len(xs)
    if n < 2:
        return float("nan")
    mx, my = sum(xs) / n, sum(ys) / n
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else float("nan")


def series(name):
    return [float(r["minute"]) for r in load], [float(r[name]) for r in load]


def svg(name, title, unit):
    w, h, pad = 640, 300, 50
    xs = [float(r["minute"]) for r in rows]
    ys = [float(r[name]) for r in rows]
    x_max = max(xs) or 1
    y_max = max(ys) * 1.15 or 1
    px = lambda x: pad + (w - 2 * pad) * x / x_max
    py = lambda y: h - pad - (h - 2 * pad) * y / y_max
    points = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in zip(xs, ys))
    ticks = "".join(f'<line x1="{pad}" x2="{w - pad}" y1="{py(y_max * k / 4):.1f}" y2="{py(y_max * k / 4):.1f}" '
                    f'stroke="#ddd"/><text x="{pad - 6}" y="{py(y_max * k / 4) + 4:.1f}" text-anchor="end" '
                    f'font-size="11">{y_max * k / 4:.0f}</text>' for k in range(5))
    xticks = "".join(f'<text x="{px(x):.1f}" y="{h - pad + 16}" text-anchor="middle" font-size="11">{x:.0f}</text>'
                     for x in xs if x % 5 == 0)
    dots = "".join(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.5" fill="#1f77b4"/>' for x, y in zip(xs, ys))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif">'
            f'<rect width="{w}" height="{h}" fill="white"/>{ticks}{xticks}'
            f'<text x="{w / 2}" y="20" text-anchor="middle" font-size="14">{title}</text>'
            f'<text x="{w / 2}" y="{h - 8}" text-anchor="middle" font-size="11">minute (the last: clients gone)</text>'
            f'<text x="14" y="{h / 2}" font-size="11" transform="rotate(-90 14 {h / 2})" text-anchor="middle">{unit}'
            f'</text><polyline points="{points}" fill="none" stroke="#1f77b4" stroke-width="2"/>{dots}</svg>\n')


open(f"{out}/heap.svg", "w").write(svg("heap_after_gc_mb", "Heap used after a full GC", "MB"))
open(f"{out}/rss.svg", "w").write(svg("rss_mb", "Resident memory of the node", "MB"))

requests, errors, ttft = 0, {}, {}
try:
    report = json.load(open(f"{out}/load-report.json"))
    overall = [s for s in report["summaries"] if s["group"] in ("all", "overall")] or report["summaries"][:1]
    s = overall[0]
    requests, errors, ttft = s["requests"], s["errorsByStatus"], s["ttftMs"]
except (OSError, KeyError, IndexError, ValueError):
    pass

heap_slope = slope(*series("heap_after_gc_mb"))
late = [r for r in load if float(r["minute"]) >= 5]
heap_slope_late = slope([float(r["minute"]) for r in late], [float(r["heap_after_gc_mb"]) for r in late])
rss_slope = slope(*series("rss_mb"))
threads_slope = slope(*series("threads"))
fds_slope = slope(*series("fds"))
verdict = "flat (under 0.1 MB per minute)" if abs(heap_slope_late) < 0.1 else "GROWING"

lines = [
    f"# Soak: {minutes} minutes at {users} kept-alive streaming users ({label})",
    "",
    "`loadtest/bench/soak.sh` (issue 24): one node, one simulated vLLM server (`steady` profile: 20 ms per token), "
    "64 output tokens per answer, closed-loop users on kept-alive connections with keys of three organisations "
    "(no limits; a key with `requests_per_minute`; an organisation recorded with limits), and a client that "
    f"leaves mid-stream every 2 s ({leavers} left in the run). Each minute: a full GC, then the heap used "
    "after it, resident memory, threads and file descriptors of the node's process. Node JVM options: "
    f"`{java_opts}`. Journal and usage ledger: {'PostgreSQL' if journal == 'postgres' else 'H2 (a file)'}.",
    "",
    f"**Heap after full GC, slope from minute 5 on: {heap_slope_late:+.3f} MB/min: {verdict}.**",
    "",
    "| series | slope under load (per minute) |",
    "|---|---:|",
    f"| heap after full GC, minutes 1 to {minutes} | {heap_slope:+.3f} MB |",
    f"| heap after full GC, minutes 5 to {minutes} | {heap_slope_late:+.3f} MB |",
    f"| resident memory | {rss_slope:+.2f} MB |",
    f"| threads | {threads_slope:+.3f} |",
    f"| file descriptors | {fds_slope:+.3f} |",
    "",
    f"Load: {requests} streamed requests, errors by status {errors or 'none'}"
    + (f", TTFT p50 / p99 {ttft['p50']:.1f} / {ttft['p99']:.1f} ms" if ttft else "") + " (the load generator's "
    "report: `load-report.md`).",
    "",
    "![heap after full GC](heap.svg)",
    "",
    "![resident memory](rss.svg)",
    "",
    "| minute | heap after GC (MB) | RSS (MB) | threads | fds | phase |",
    "|---:|---:|---:|---:|---:|---|",
]
lines += [f"| {r['minute']} | {r['heap_after_gc_mb']} | {r['rss_mb']} | {r['threads']} | {r['fds']} | {r['phase']} |"
          for r in rows]
lines += ["", "Live-object histograms (after a full GC) at the middle and the end of the run: "
          "`histogram-middle.txt`, `histogram-end.txt` (their heads); the classes that grew most between them: "
          "`histogram-growth.txt`.", ""]
open(f"{out}/soak.md", "w").write("\n".join(lines))
