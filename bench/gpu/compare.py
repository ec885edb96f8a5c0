#!/usr/bin/env python3
"""Side-by-side table of the Go CUDA backend and the PyTorch reference
(bench/gpu/run.sh writes both JSON files), with issue #5's targets.

usage: compare.py GO_REPORT.json TORCH_REPORT.json
Prints Markdown. Missing files or entries show as "-" (a failed step)."""
import json
import sys

# Targets from issue #5 (H200 numbers; an H100 is reported against them too).
TARGETS = {
    "forward_full_L1024_R64": ("<=", 21.0, "full forward of 1,024 tokens"),
    "step_cached_B64_ctx1024": ("<=", 4.2, "cached denoising step over a 64-token block"),
    "e2e_infill_64_in_1024_steps16_cached": ("<=", 90.0, "64-token infill in a 1,024-token canvas, 16 steps"),
    "e2e_infill_64_in_1024_steps8_cached": ("<=", 55.0, "same, 8 steps"),
}


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        print(f"<!-- {path}: {e} -->")
        return {}


def fmt(v, spec=".3f"):
    return "-" if v is None else format(v, spec)


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    go, th = load(sys.argv[1]), load(sys.argv[2])
    g = {r["name"]: r for r in go.get("results", [])}
    t = {r["name"]: r for r in th.get("results", [])}
    dev = go.get("device", {}).get("name") or th.get("device", "?")
    print(f"# GPU report: {dev}\n")
    print(f"Go report {go.get('date', '-')}, PyTorch {th.get('torch', '-')} {th.get('date', '-')}; "
          f"model layers: Go {go.get('shape', {}).get('Layers', '-')}, PyTorch {th.get('layers', '-')}; "
          "times in ms (median; events = device time, wall = host time).\n")
    print("| measurement | timer | Go CUDA | PyTorch | PyTorch / Go |")
    print("|---|---|---:|---:|---:|")
    names = list(g) + [n for n in t if n not in g]
    for n in names:
        a, b = g.get(n, {}).get("ms"), t.get(n, {}).get("ms")
        ratio = b / a if a and b else None
        extra = ""
        tb = g.get(n, {}).get("tb_per_s")
        tb2 = t.get(n, {}).get("tb_per_s")
        if tb or tb2:
            extra = f" ({fmt(tb, '.2f')} / {fmt(tb2, '.2f')} TB/s)"
        timer = (g.get(n) or t.get(n) or {}).get("timer", "")
        print(f"| {n}{extra} | {timer} | {fmt(a)} | {fmt(b)} | {fmt(ratio, '.2f')} |")

    print("\n## Targets (issue #5)\n")
    print("| target | Go best | limit | met |")
    print("|---|---:|---:|---|")

    def best(prefix):
        vals = [r["ms"] for n, r in g.items() if n.startswith(prefix)]
        return min(vals) if vals else None

    for key, (op, lim, what) in TARGETS.items():
        v = best(key)
        ok = v is not None and v <= lim
        print(f"| {what} | {fmt(v)} | {lim} | {'yes' if ok else 'NO'} |")
    one, four = best("step_cached_B64_ctx1024_graph"), best("step_cached_4x_B64_ctx1024_graph")
    r = four / one if one and four else None
    print(f"| four batched blocks / one (proxy) | {fmt(r, '.2f')}x | 1.3x | {'yes' if r is not None and r <= 1.3 else 'NO'} |")

    tuned = go.get("tuned_gemms") or []
    if tuned:
        print("\n## cuBLASLt autotuning (Go)\n")
        print("| M x N x K (batch) | candidates | heuristic ms | best ms | gain |")
        print("|---|---:|---:|---:|---:|")
        for r in tuned:
            h, b = r.get("HeuristicMS") or 0, r.get("BestMS") or 0
            print(f"| {r['M']} x {r['N']} x {r['K']} ({r.get('Batch') or 1}) | {r['Candidates']} | {h:.4f} | {b:.4f} | {h / b if b else 0:.2f}x |")

    profiles = go.get("op_profiles") or {}
    if profiles:
        print("\n## Where the time goes (Go, one eager forward, an event after every operation)\n")
        names = sorted(profiles)
        print("| operation | " + " | ".join(f"{n} ms" for n in names) + " | " + " | ".join(f"{n} %" for n in names) + " |")
        print("|---|" + "---:|" * (2 * len(names)))
        ops = [o["op"] for o in profiles[names[0]]]
        tot = {n: sum(o["ms"] for o in profiles[n]) or 1 for n in names}
        val = {n: {o["op"]: o["ms"] for o in profiles[n]} for n in names}
        for op in ops + ["total"]:
            ms = [tot[n] if op == "total" else val[n].get(op, 0) for n in names]
            pct = [100 * m / tot[n] for m, n in zip(ms, names)]
            print(f"| {op} | " + " | ".join(f"{m:.3f}" for m in ms) + " | " + " | ".join(f"{q:.1f}" for q in pct) + " |")

    checks = th.get("checks", {})
    if checks:
        print("\n## Correctness (same weights, same canvas)\n")
        print("| check | value | limit |")
        print("|---|---:|---|")
        for k, v in checks.items():
            lim = ""
            if k.endswith("_rel"):
                lim = "<= 1e-2" if "fp32" in k else ""
            elif "agree" in k:
                lim = ">= 0.95"
            print(f"| {k} | {v:.4g} | {lim} |")
    errs = {**go.get("errors", {})}
    if errs:
        print("\n## Errors (Go)\n")
        for k, v in errs.items():
            print(f"- {k}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
