#!/usr/bin/env python3
"""Print sidebyside.sh's table from its results.tsv (rows: llama|llama-t1|
ours-nocache|ours-cache|ours-forward FORMAT CPU-S-PER-STEP RSS-MIB EXTRA, and
agree FORMAT TOKENS AGREEING identical|differ STEPS).

    python3 bench/llamacpp/table.py OUT/results.tsv
"""
import sys

rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
agree = {r[1]: r for r in rows if r[0] == "agree"}
t = {(r[0], r[1]): r for r in rows if r[0] != "agree"}
fmts = [f for f in ("f32", "bf16", "q8_0") if ("llama", f) in t]
if fmts:
    best_f = min(fmts, key=lambda f: float(t[("llama", f)][2]))
    best = float(t[("llama", best_f)][2])
    print(f"\nCPU-s per denoising step, and its ratio to llama.cpp's best format ({best_f}, {best:.2f} CPU-s);"
          " peak RSS MiB, and ours over llama.cpp's at the same format")
    print(f"{'format':6} {'llama.cpp':>16} {'ours, no cache':>18} {'ours, dual cache':>18} {'RSS llama':>10} {'RSS ours':>14}")
    for f in fmts:
        l = t[("llama", f)]
        cells = [f"{float(l[2]):6.2f} ({float(l[2]) / best:4.2f}x)"]
        for mode in ("ours-nocache", "ours-cache"):
            o = t.get((mode, f))
            cells.append(f"{float(o[2]):6.2f} ({float(o[2]) / best:4.2f}x)" if o else "-")
        o = t.get(("ours-nocache", f))
        rss = f"{o[3]} ({int(o[3]) / int(l[3]):4.2f}x)" if o else "-"
        print(f"{f:6} {cells[0]:>16} {cells[1]:>18} {cells[2]:>18} {l[3]:>10} {rss:>14}")
    print("llama.cpp's own wall ms per step (on the shared machine): "
          + ", ".join(f"{f} {float(t[('llama', f)][4]):.0f}" for f in fmts))
    fw = [f"{f} {float(t[('ours-forward', f)][2]):.2f} CPU-s ({t[('ours-forward', f)][4]} GFLOP/cpu-s)"
          for f in fmts if ("ours-forward", f) in t]
    if fw:
        print("ours, one full forward (lm_head on the 64 masked rows): " + ", ".join(fw))
    t1 = [f"{f} {float(t[('llama-t1', f)][2]):.2f}" for f in ("f32", "bf16", "q8_0") if ("llama-t1", f) in t]
    if t1:
        print("llama.cpp at 1 thread (no ggml barrier spinning), CPU-s per step: " + ", ".join(t1))
if agree:
    print("\ngreedy left-to-right agreement of the 64 generated tokens (no K/V cache on our side)")
    for f, r in agree.items():
        steps = f", {r[5]} steps" if len(r) > 5 else ""
        print(f"{f:6} {r[4]:>9}{steps}: our first {r[3]} of {r[2]} tokens reproduce llama.cpp's text")
