"""The report of loadtest/bench/batch.sh: chat alone against chat beside a batch, from the rounds' files."""
import csv, json, math, sys
out, rounds, users, duration, share, lines_n = sys.argv[1:]
rounds = int(rounds)

def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, max(0, math.ceil(p / 100 * len(v)) - 1))] if v else float("nan")

result = {}
for mode in ("alone", "with-batch"):
    ttft, tpot, errors, per_round, chat_tok, server_tok, secs, done = [], [], 0, [], 0, 0, 0.0, 0
    for r in range(1, rounds + 1):
        d = f"{out}/round-{r}/{mode}"
        rows = list(csv.DictReader(open(f"{d}/requests.csv")))
        ok = [x for x in rows if x["status"] == "200"]
        errors += len(rows) - len(ok)
        t = [float(x["ttft_ms"]) for x in ok]
        ttft += t
        tpot += [float(x["tpot_ms"]) for x in ok if x["tpot_ms"] not in ("", "NaN")]
        per_round.append((pct(t, 50), pct(t, 99)))
        chat_tok += sum(int(x["output_tokens"]) for x in ok)
        s = json.load(open(f"{d}/servers.json"))
        server_tok += s["server_tokens"]; secs += s["seconds"]
        if mode == "with-batch":
            done += json.load(open(f"{d}/batch.json"))["request_counts"]["completed"]
    result[mode] = {"requests": len(ttft), "errors": errors, "ttft_p50": pct(ttft, 50), "ttft_p99": pct(ttft, 99),
                    "tpot_p50": pct(tpot, 50), "tpot_p99": pct(tpot, 99),
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
      "| | chat TTFT p50 | chat TTFT p99 | per round (p50 / p99) | chat TPOT p50 / p99 | chat requests | errors | "
      "chat tok/s | servers' tok/s | batch lines/s |", "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|"]
for name, r in (("chat alone", a), ("chat with the batch", w)):
    md.append(f"| {name} | {f(r['ttft_p50'])} | {f(r['ttft_p99'])} | "
              + ", ".join(f"{f(x)} / {f(y)}" for x, y in r["per_round"])
              + f" | {r['tpot_p50']:.1f} / {r['tpot_p99']:.1f} | {r['requests']} | {r['errors']} | {f(r['chat_tok_s'])} | {f(r['server_tok_s'])} | "
              f"{r['batch_lines_per_s']:.1f} |")
md.append(f"| the batch alone | | | | | | | | {f(b['server_tok_s'])} | {b['batch_lines_per_s']:.1f} |")
md += ["", f"Chat TTFT p99 with the batch: {w['ttft_p99'] / a['ttft_p99']:.3f} of without (the goal: at most 1.10); "
       f"p50 {w['ttft_p50'] / a['ttft_p50']:.2f}. The batch ran at {w['batch_lines_per_s']:.1f} lines/s beside the "
       f"chat users, {b['batch_lines_per_s']:.1f} alone; the servers generated {w['server_tok_s'] / a['server_tok_s']:.1f}x "
       "the tokens per second with the batch as without it. Each chat token came "
       f"{w['tpot_p50'] / a['tpot_p50']:.2f}x as slowly (TPOT p50): the batch's lines share the servers' steps."]
import os
if os.path.isdir(f"{out}/to-end"):
    d = f"{out}/to-end"
    rows = list(csv.DictReader(open(f"{d}/requests.csv")))
    t = [float(x["ttft_ms"]) for x in rows if x["status"] == "200"]
    s = json.load(open(f"{d}/servers.json"))
    b = json.load(open(f"{d}/batch.json"))
    # From the batch's own times (seconds): created to completed.
    took = b["completed_at"] - b["created_at"] if b.get("completed_at") else None
    result["to-end"] = {"ttft_p50": pct(t, 50), "ttft_p99": pct(t, 99), "requests": len(t),
                        "errors": len(rows) - len(t), "batch_seconds": took, "seconds": s["seconds"],
                        "batch_status": b["status"], "server_tok_s": s["server_tokens"] / s["seconds"]}
    json.dump(result, open(f"{out}/batch.json", "w"), indent=2)
    r = result["to-end"]
    md += ["", f"Then {users} chat users for {r['seconds']:.0f} s beside a {lines_n}-line batch run to its end: "
           + (f"the batch completed in {took:.0f} s ({int(lines_n) / took:.1f} lines/s)" if took
              else f"the batch was still {r['batch_status']} at the end")
           + f"; chat TTFT p50 {f(r['ttft_p50'])} ms, p99 {f(r['ttft_p99'])} ms over the whole run "
           f"({r['ttft_p99'] / a['ttft_p99']:.2f} of chat alone's p99), {r['requests']} chat requests, {r['errors']} errors."]
open(f"{out}/batch.md", "w").write("\n".join(md) + "\n")
print("\n".join(md))
