#!/usr/bin/env python3
"""Print sidebyside.sh's table from its results.tsv (rows: llama|llama-t1|
ours-nocache|ours-cache|ours-perblock|ours-forward FORMAT CPU-S-PER-STEP RSS-MIB
EXTRA [ROUND], and agree FORMAT TOKENS AGREEING identical|differ STEPS).

Each round's ratios are taken against that round's llama.cpp (its best format
in the round); with several rounds the medians of those ratios follow.

    python3 bench/llamacpp/table.py OUT/results.tsv
"""
import statistics
import sys

FORMATS = ("f32", "bf16", "q8_0")
OURS = (("ours-nocache", "ours, no cache"), ("ours-cache", "ours, dual cache"), ("ours-perblock", "ours, per-block"))

rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
# Other formats (q4km: llama-quantize's Q4_K_M) after the three, in the order run.
FORMATS += tuple(dict.fromkeys(r[1] for r in rows if r[0] != "agree" and r[1] not in FORMATS))
agree = {r[1]: r for r in rows if r[0] == "agree"}
rounds = {}
for r in rows:
    if r[0] != "agree":
        rounds.setdefault(r[5] if len(r) > 5 else "1", {})[(r[0], r[1])] = r
ratios = {}  # (kind, format) -> ratio per round


def table(t, title):
    fmts = [f for f in FORMATS if ("llama", f) in t]
    if not fmts:
        return
    best_f = min(fmts, key=lambda f: float(t[("llama", f)][2]))
    best = float(t[("llama", best_f)][2])
    kinds = [(k, name) for k, name in OURS if any((k, f) in t for f in fmts)]
    print(f"\n{title}CPU-s per denoising step, and its ratio to llama.cpp's best format ({best_f}, {best:.2f} CPU-s);"
          " peak RSS MiB, and ours over llama.cpp's at the same format")
    print(f"{'format':6} {'llama.cpp':>16} " + " ".join(f"{name:>18}" for _, name in kinds) + f" {'RSS llama':>10} {'RSS ours':>14}")
    for f in fmts:
        l = t[("llama", f)]
        cells = [f"{float(l[2]):6.2f} ({float(l[2]) / best:4.2f}x)"]
        for k, _ in kinds:
            o = t.get((k, f))
            if o:
                ratios.setdefault((k, f), []).append(float(o[2]) / best)
            cells.append(f"{float(o[2]):6.3f} ({float(o[2]) / best:5.3f}x)" if o else "-")
        o = t.get(("ours-nocache", f))
        rss = f"{o[3]} ({int(o[3]) / int(l[3]):4.2f}x)" if o else "-"
        if o:
            ratios.setdefault(("rss", f), []).append(int(o[3]) / int(l[3]))
        print(f"{f:6} " + " ".join(f"{c:>{16 if i == 0 else 18}}" for i, c in enumerate(cells)) + f" {l[3]:>10} {rss:>14}")
    print("llama.cpp's own wall ms per step (on the shared machine): "
          + ", ".join(f"{f} {float(t[('llama', f)][4]):.0f}" for f in fmts))
    fw = [f"{f} {float(t[('ours-forward', f)][2]):.2f} CPU-s ({t[('ours-forward', f)][4]} GFLOP/cpu-s)"
          for f in fmts if ("ours-forward", f) in t]
    if fw:
        print("ours, one full forward (lm_head on the 64 masked rows): " + ", ".join(fw))
    t1 = [f"{f} {float(t[('llama-t1', f)][2]):.2f}" for f in FORMATS if ("llama-t1", f) in t]
    if t1:
        print("llama.cpp at 1 thread (no ggml barrier spinning), CPU-s per step: " + ", ".join(t1))


order = sorted(rounds, key=int)
for rnd in order:
    table(rounds[rnd], f"round {rnd} of {len(order)}: " if len(order) > 1 else "")
if len(order) > 1 and ratios:
    print(f"\nmedians over {len(order)} rounds of the ratios to each round's llama.cpp best format:")
    for f in FORMATS:
        cells = [f"{name} {statistics.median(ratios[(k, f)]):.3f}x ({min(ratios[(k, f)]):.3f}-{max(ratios[(k, f)]):.3f})"
                 for k, name in OURS if (k, f) in ratios]
        if ("rss", f) in ratios:
            cells.append(f"RSS {statistics.median(ratios[('rss', f)]):.2f}x")
        if cells:
            print(f"{f:6} " + "; ".join(cells))
if agree:
    print("\ngreedy left-to-right agreement of the 64 generated tokens (no K/V cache on our side)")
    for f, r in agree.items():
        steps = f", {r[5]} steps" if len(r) > 5 else ""
        print(f"{f:6} {r[4]:>9}{steps}: our first {r[3]} of {r[2]} tokens reproduce llama.cpp's text")
