#!/usr/bin/env python3
"""PyTorch reference of the Dream forward and denoising step, timed the way
the Go benchmark (runtime/backend/cuda TestGPUReport) times the CUDA backend.

The model is Dream-v0-7B's architecture (Qwen2 layers, bidirectional
attention, shifted logits) written in plain PyTorch with the semantics of
the upstream Hugging Face code (modeling_dream.py): RMSNorm upcast to fp32
and cast back before the weight, RoPE with cos/sin cast to the activation
dtype, SDPA with is_causal=False, SiLU-gated MLP, logits in bf16.

Weights are random. With --go-report, they are rebuilt bit for bit from the
same counter-based hash the Go benchmark's fill_uniform_bf16 kernel uses
(seed, tensor order and scales below mirror NewRandomBF16Model), so the Go
logits and infill tokens can be compared with this implementation in bf16
and in float32 on the same weights.

Timing: CUDA events around each repetition after warm-up, median reported
(the same as the Go side); end-to-end infill in host wall time with a
synchronise at the end of every run. Output: one JSON document (--out).
Needs only torch (present on the GPU test machines); no transformers.
"""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

M64 = (1 << 64) - 1


def to_i64(u):
    """uint64 Python int -> the int64 with the same bits."""
    u &= M64
    return u - (1 << 64) if u >= (1 << 63) else u


def mix64_int(x):
    x &= M64
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & M64
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & M64
    x ^= x >> 31
    return x


def lsr(x, s):
    """Logical right shift of an int64 tensor."""
    return (x >> s) & ((1 << (64 - s)) - 1)


C1 = to_i64(0xBF58476D1CE4E5B9)
C2 = to_i64(0x94D049BB133111EB)


def mix64_t(x):
    x = x ^ lsr(x, 30)
    x = x * C1
    x = x ^ lsr(x, 27)
    x = x * C2
    x = x ^ lsr(x, 31)
    return x


def fill_uniform_bf16(shape, seed, scale, offset, device, chunk=1 << 26):
    """Mirror of native/kernels/embed.cu fill_uniform_bf16:
    offset + scale * u, u = (h >> 40) * 2^-23 - 1, h = mix64(mix64(seed ^ K) ^ i),
    computed as one fused multiply-add in fp32, rounded to bf16."""
    n = math.prod(shape)
    base = to_i64(mix64_int((seed ^ 0x5851F42D4C957F2D) & M64))
    out = torch.empty(n, dtype=torch.bfloat16, device=device)
    scale32 = float(torch.tensor(scale, dtype=torch.float32))
    offset32 = float(torch.tensor(offset, dtype=torch.float32))
    for s in range(0, n, chunk):
        e = min(n, s + chunk)
        i = torch.arange(s, e, dtype=torch.int64, device=device)
        h = mix64_t(i ^ base)
        u = lsr(h, 40).to(torch.float64) * (2.0 / 16777216.0) - 1.0
        out[s:e] = (offset32 + scale32 * u).to(torch.float32).to(torch.bfloat16)
        del i, h, u
    return out.view(*shape)


class Shape:
    def __init__(self, **kw):
        self.hidden = kw.get("Hidden", 3584)
        self.inter = kw.get("Intermediate", 18944)
        self.layers = kw.get("Layers", 28)
        self.heads = kw.get("Heads", 28)
        self.kv_heads = kw.get("KVHeads", 4)
        self.head_dim = kw.get("HeadDim", 128)
        self.vocab = kw.get("Vocab", 152064)
        self.theta = kw.get("Theta", 1e6)
        self.eps = kw.get("Eps", 1e-6)


def build_weights(sh, seed, device, go_hash):
    """Weights in the Go benchmark's order: embed, norm, lm_head, then per
    layer ln1, ln2, wqkv, bqkv, wo, wgu, wd (fill counter n = 1, 2, ...)."""
    a = 0.02 * math.sqrt(3)
    H, I, V = sh.hidden, sh.inter, sh.vocab
    qkv = (sh.heads + 2 * sh.kv_heads) * sh.head_dim
    counter = [0]

    def fill(shape, scale, offset):
        counter[0] += 1
        if go_hash:
            return fill_uniform_bf16(shape, seed * 1000003 + counter[0], scale, offset, device)
        g = torch.Generator(device=device).manual_seed(seed * 1000003 + counter[0])
        return (offset + scale * (2 * torch.rand(shape, generator=g, device=device, dtype=torch.float32) - 1)).to(torch.bfloat16)

    w = {"embed": fill((V, H), a, 0), "norm": fill((H,), 0.1, 1), "lm": fill((V, H), a, 0), "layers": []}
    for _ in range(sh.layers):
        w["layers"].append({
            "ln1": fill((H,), 0.1, 1), "ln2": fill((H,), 0.1, 1),
            "wqkv": fill((qkv, H), a, 0), "bqkv": fill((qkv,), a, 0),
            "wo": fill((H, H), a, 0), "wgu": fill((2 * I, H), a, 0), "wd": fill((H, I), a, 0),
        })
    return w


def cast_weights(w, dtype):
    out = {k: v.to(dtype) for k, v in w.items() if k != "layers"}
    out["layers"] = [{k: v.to(dtype) for k, v in l.items()} for l in w["layers"]]
    return out


def rms_norm(x, weight, eps):
    # Qwen2RMSNorm: upcast, normalise, cast back, times the weight.
    dt = x.dtype
    h = x.to(torch.float32)
    h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + eps)
    return weight * h.to(dt)


def rope_cos_sin(sh, positions, dtype):
    inv_freq = 1.0 / (sh.theta ** (torch.arange(0, sh.head_dim, 2, dtype=torch.int64, device=positions.device).float() / sh.head_dim))
    freqs = positions.float()[:, None] * inv_freq[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos().to(dtype), emb.sin().to(dtype)


def sdpa(q, k, v):
    """Non-causal attention (F.scaled_dot_product_attention, or its math on torch < 2.0)."""
    if hasattr(F, "scaled_dot_product_attention"):
        return F.scaled_dot_product_attention(q, k, v, is_causal=False)
    s = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    return torch.softmax(s.float(), dim=-1).to(q.dtype) @ v


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


class Dream:
    """One canvas (batch 1) Dream forward with an optional K/V cache."""

    def __init__(self, sh, w, ctx, dtype):
        self.sh, self.w, self.dtype = sh, w, dtype
        dev = w["embed"].device
        kvd = sh.kv_heads * sh.head_dim
        self.kc = [torch.zeros(1, sh.kv_heads, ctx, sh.head_dim, dtype=dtype, device=dev) for _ in range(sh.layers)]
        self.vc = [torch.zeros_like(k) for k in self.kc]
        # bias_after rounds x·Wqkv to the dtype before adding the bias, as
        # the Go bf16 path does (a numerics diagnostic; F.linear adds it
        # in the GEMM's fp32 epilogue).
        self.bias_after = False

    def hidden(self, ids, positions, slots=None, nk=None):
        """ids, positions: [T] int64 tensors. Writes K/V at slots (positions
        when None) and attends to cache rows [0, nk) (T when None)."""
        sh, w = self.sh, self.w
        T = ids.shape[0]
        nk = T if nk is None else nk
        slots = positions if slots is None else slots
        Hq, Hk, hd = sh.heads, sh.kv_heads, sh.head_dim
        cos, sin = rope_cos_sin(sh, positions, self.dtype)
        cos, sin = cos[None, None], sin[None, None]
        x = w["embed"][ids]
        for li, l in enumerate(w["layers"]):
            h = rms_norm(x, l["ln1"], sh.eps)
            qkv = F.linear(h, l["wqkv"]) + l["bqkv"] if self.bias_after else F.linear(h, l["wqkv"], l["bqkv"])
            q, k, v = qkv.split([Hq * hd, Hk * hd, Hk * hd], dim=-1)
            q = q.view(1, T, Hq, hd).transpose(1, 2)
            k = k.view(1, T, Hk, hd).transpose(1, 2)
            v = v.view(1, T, Hk, hd).transpose(1, 2)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            self.kc[li][:, :, slots] = k
            self.vc[li][:, :, slots] = v
            kk = self.kc[li][:, :, :nk].repeat_interleave(Hq // Hk, dim=1)
            vv = self.vc[li][:, :, :nk].repeat_interleave(Hq // Hk, dim=1)
            a = sdpa(q, kk, vv)
            a = a.transpose(1, 2).reshape(T, Hq * hd)
            x = x + F.linear(a, l["wo"])
            h = rms_norm(x, l["ln2"], sh.eps)
            g, u = F.linear(h, l["wgu"]).split([sh.inter, sh.inter], dim=-1)
            x = x + F.linear(F.silu(g) * u, l["wd"])
        return rms_norm(x, w["norm"], sh.eps)

    def logits(self, h, rows):
        """Shifted logits: the prediction for position p reads hidden row p-1 (row 0 for 0)."""
        src = torch.clamp(rows - 1, min=0)
        return F.linear(h[src], self.w["lm"])


def sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def time_events(fn, warmup, reps):
    if not torch.cuda.is_available():  # CPU smoke test: wall time
        return time_wall(fn, warmup, reps)
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    ms = []
    for _ in range(reps):
        s.record()
        fn()
        e.record()
        e.synchronize()
        ms.append(s.elapsed_time(e))
    return summarize(ms)


def time_wall(fn, warmup, reps):
    for _ in range(warmup):
        fn()
    sync()
    ms = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        sync()
        ms.append((time.perf_counter() - t0) * 1e3)
    return summarize(ms)


def summarize(ms):
    s = sorted(ms)
    n = len(s)
    med = s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2
    return {"ms": med, "min_ms": s[0], "max_ms": s[-1], "reps": n}


def graphed(fn):
    """Capture fn (which must read and write static tensors) in a CUDA graph
    (on a CPU smoke test: fn itself)."""
    if not torch.cuda.is_available():
        return fn
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for _ in range(2):
            fn()
    torch.cuda.current_stream().wait_stream(s)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        fn()
    return g.replay


def infill(model, prompt, mask_id, start, block, steps, cached, eps=1e-3):
    """Greedy maskgit_plus infill, identical schedule and tie order to the Go
    benchmark: commit the floor(n(1 - s/t)) most confident masked slots."""
    dev = prompt.device
    ids = prompt.clone()
    ids[start:start + block] = mask_id
    masked = [True] * block
    remaining = block
    L = ids.shape[0]
    pos = torch.arange(L, device=dev)
    rows = torch.arange(start, start + block, device=dev)
    if cached:
        model.hidden(ids, pos)
    bpos = torch.arange(start - 1, start + block, device=dev)
    for i in range(steps):
        if remaining == 0:
            break
        if cached:
            h = model.hidden(ids[start - 1:start + block], bpos, bpos, L)
            lg = model.logits(h, torch.arange(1, block + 1, device=dev))
        else:
            h = model.hidden(ids, pos)
            lg = model.logits(h, rows)
        p = torch.softmax(lg.float(), dim=-1)
        conf, tok = p.max(dim=-1)
        conf, tok = conf.tolist(), tok.tolist()
        t0 = 1 - i * (1 - eps) / steps
        t1 = 1 - (i + 1) * (1 - eps) / steps
        k = int(math.floor(remaining * (1 - t1 / t0)))
        if i == steps - 1:
            k = remaining
        order = [j for j in range(block) if masked[j]]
        order.sort(key=lambda j: -conf[j])  # stable, like Go's sort.SliceStable
        for j in order[:k]:
            ids[start + j] = tok[j]
            masked[j] = False
            remaining -= 1
    return ids[start:start + block].tolist()


def upstream_step(model, ids, pos):
    """Upstream Dream's step: a full forward, logits for every position."""
    h = model.hidden(ids, pos)
    return F.linear(h, model.w["lm"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="JSON output path")
    ap.add_argument("--go-report", help="the Go benchmark's JSON: same weights, canvas and comparisons")
    ap.add_argument("--layers", type=int, default=0, help="layers (default: the Go report's, else 28)")
    ap.add_argument("--skip-fp32", action="store_true", help="skip the float32 comparison (needs ~3x the weight memory)")
    ap.add_argument("--tiny", action="store_true", help="smoke test: a narrow model (hidden 256, 2 layers) that runs on a CPU")
    ap.add_argument("--reps", type=float, default=1.0, help="scale the repetition counts (smoke tests: 0.1)")
    args = ap.parse_args()

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    go = json.load(open(args.go_report)) if args.go_report else None
    sh = Shape(**(go["shape"] if go else {}))
    if args.tiny:
        sh = Shape(Hidden=256, Intermediate=512, Layers=2, Heads=2, KVHeads=1, Vocab=4096)
    if args.layers:
        sh.layers = args.layers
    R = lambda n: max(1, int(round(n * args.reps)))
    seed = go["seed"] if go else 1
    canvas, block, start = 1024, 64, 480
    mask_id = 151666 if sh.vocab > 151666 else sh.vocab - 1
    res = {"device": torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu", "torch": torch.__version__, "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "layers": sh.layers, "results": [], "checks": {}}

    def add(name, t, timer, **extra):
        e = {"name": name, "timer": timer, **t, **extra}
        res["results"].append(e)
        print(f"{name:44s} {t['ms']:9.3f} ms (min {t['min_ms']:.3f}, max {t['max_ms']:.3f}, {t['reps']} reps)", flush=True)

    t0 = time.time()
    w = build_weights(sh, seed, dev, go_hash=go is not None)
    sync()
    print(f"weights ready in {time.time() - t0:.1f} s ({sum(p.numel() for p in [w['embed'], w['lm']]) + sum(t.numel() for l in w['layers'] for t in l.values())} params)", flush=True)
    model = Dream(sh, w, canvas, torch.bfloat16)

    # GEMMs: x[M,K] @ w[N,K]^T in bf16, as in a forward.
    H, I, V = sh.hidden, sh.inter, sh.vocab
    qkvN = (sh.heads + 2 * sh.kv_heads) * sh.head_dim
    for name, N, K, Ms, wt in [("qkv", qkvN, H, [32, 64, 256, 1024], w["layers"][0]["wqkv"]), ("o", H, H, [32, 64, 256, 1024], w["layers"][0]["wo"]),
                               ("gateup", 2 * I, H, [32, 64, 256, 1024], w["layers"][0]["wgu"]), ("down", H, I, [32, 64, 256, 1024], w["layers"][0]["wd"]),
                               ("lmhead", V, H, [32, 64, 256], w["lm"])]:
        for M in Ms:
            x = torch.randn(M, K, device=dev, dtype=torch.bfloat16)
            t = time_events(lambda: F.linear(x, wt), R(5), R(25))
            add(f"gemm_{name}_M{M}", t, "events", tb_per_s=2 * N * K / (t["ms"] * 1e-3) / 1e12)

    ids = torch.tensor(go["canvas_ids"] if go else torch.randint(0, V - 1, (canvas,)).tolist(), device=dev)
    pos = torch.arange(canvas, device=dev)
    rows = torch.arange(start, start + block, device=dev)
    with torch.inference_mode():
        # Full forward: logits on the 64 rows (our shape) and on all rows (upstream).
        for graph in (False, True):
            fn = lambda: model.logits(model.hidden(ids, pos), rows)
            add(f"forward_full_L{canvas}_R{block}_{'graph' if graph else 'eager'}", time_events(graphed(fn) if graph else fn, R(2), R(10)), "events")
        add(f"forward_full_L{canvas}_allrows_eager", time_events(lambda: upstream_step(model, ids, pos), R(2), R(10)), "events",
            note="upstream Dream: full forward, logits for every position")
        model.hidden(ids, pos)  # fill the cache
        for blk in (64, 32):
            bids = ids[start - 1:start + blk].clone()
            bpos = torch.arange(start - 1, start + blk, device=dev)
            brow = torch.arange(1, blk + 1, device=dev)
            fn = lambda: model.logits(model.hidden(bids, bpos, bpos, canvas), brow)
            for graph in (False, True):
                add(f"step_cached_B{blk}_ctx{canvas}_{'graph' if graph else 'eager'}", time_events(graphed(fn) if graph else fn, R(3), R(20)), "events")
        # Four blocks in one step against one cache (batching proxy).
        b4 = ids[start - 1:start + block].repeat(4)
        p4 = torch.arange(start - 1, start + block, device=dev).repeat(4)
        r4 = torch.cat([torch.arange(1, block + 1, device=dev) + c * (block + 1) for c in range(4)])
        fn = lambda: model.logits(model.hidden(b4, p4, p4, canvas), r4)
        add("step_cached_4x_B64_ctx1024_graph", time_events(graphed(fn), R(3), R(20)), "events",
            note="proxy for four batched length candidates: four 64-token blocks against one 1024-token cache")

        infill_out = {}
        for steps in (16, 8):
            for cached in (True, False):
                name = f"e2e_infill_{block}_in_{canvas}_steps{steps}_{'cached' if cached else 'nocache'}"
                out = []
                t = time_wall(lambda: out.append(infill(model, ids, mask_id, start, block, steps, cached)), R(1), R(5 if cached else 3))
                add(name, t, "wall", tokens=block, note="eager PyTorch")
                infill_out[name] = out[-1]
            # Upstream-equivalent loop: full forward and all logits per step.
            def upstream():
                x = ids.clone()
                x[start:start + block] = mask_id
                for _ in range(steps):
                    lg = upstream_step(model, x, pos)
                    x[start:start + block] = lg[start - 1:start + block - 1].argmax(-1)
            add(f"e2e_upstream_{block}_in_{canvas}_steps{steps}", time_wall(upstream, R(1), R(3)), "wall", tokens=block,
                note="upstream Dream cost model: full forward with every logit per step")
        res["infill_tokens"] = infill_out

        # Correctness against the Go backend on the same weights.
        if go and go.get("logits_file") and os.path.exists(go["logits_file"]):
            with open(go["logits_file"], "rb") as f:
                raw = bytearray(f.read())
            go_lg = torch.frombuffer(raw, dtype=torch.float32).to(dev).view(len(go["logits_rows"]), V)
            grow = torch.tensor(go["logits_rows"], device=dev)
            ref_bf16 = model.logits(model.hidden(ids, pos), grow).float()
            rel = lambda a, b: ((a - b).norm() / b.norm()).item()
            res["checks"]["go_bf16_vs_torch_bf16_rel"] = rel(go_lg, ref_bf16)
            res["checks"]["go_bf16_vs_torch_bf16_argmax_agree"] = (go_lg.argmax(-1) == ref_bf16.argmax(-1)).float().mean().item()
            model.bias_after = True
            ref_bf16_ba = model.logits(model.hidden(ids, pos), grow).float()
            model.bias_after = False
            if not args.skip_fp32:
                del model
                if dev.type == "cuda":
                    torch.cuda.empty_cache()
                w32 = cast_weights(w, torch.float32)
                m32 = Dream(sh, w32, canvas, torch.float32)
                ref32 = m32.logits(m32.hidden(ids, pos), grow).float()
                res["checks"]["go_bf16_vs_torch_fp32_rel"] = rel(go_lg, ref32)
                res["checks"]["torch_bf16_vs_torch_fp32_rel"] = rel(ref_bf16, ref32)
                res["checks"]["go_bf16_vs_torch_fp32_argmax_agree"] = (go_lg.argmax(-1) == ref32.argmax(-1)).float().mean().item()
                res["checks"]["torch_bf16_vs_torch_fp32_argmax_agree"] = (ref_bf16.argmax(-1) == ref32.argmax(-1)).float().mean().item()
                res["checks"]["torch_bf16_bias_after_vs_torch_fp32_rel"] = rel(ref_bf16_ba, ref32)
                res["checks"]["go_bf16_vs_torch_bf16_bias_after_rel"] = rel(go_lg, ref_bf16_ba)
                # The other attention mode's logits (the fused kernel), when written.
                ff = go.get("logits_file_fused")
                if ff and os.path.exists(ff):
                    with open(ff, "rb") as f:
                        raw_f = bytearray(f.read())
                    go_f = torch.frombuffer(raw_f, dtype=torch.float32).to(dev).view(len(go["logits_rows"]), V)
                    res["checks"]["go_bf16_fused_vs_torch_fp32_rel"] = rel(go_f, ref32)
                    res["checks"]["go_bf16_fused_vs_torch_fp32_argmax_agree"] = (go_f.argmax(-1) == ref32.argmax(-1)).float().mean().item()
                # Greedy infill traces in float32 (no cache) vs the Go backend's.
                for steps in (16, 8):
                    name = f"e2e_infill_{block}_in_{canvas}_steps{steps}_nocache"
                    tok32 = infill(m32, ids, mask_id, start, block, steps, False)
                    gtok = go.get("infill_tokens", {}).get(name)
                    if gtok:
                        res["checks"][f"{name}_go_vs_torch_fp32_token_agree"] = sum(int(a == b) for a, b in zip(gtok, tok32)) / len(tok32)
                    res["checks"][f"{name}_torch_bf16_vs_fp32_token_agree"] = sum(int(a == b) for a, b in zip(infill_out[name], tok32)) / len(tok32)
                del m32, w32
        for k, v in res["checks"].items():
            print(f"check {k:60s} {v:.4g}", flush=True)
    if dev.type == "cuda":
        res["peak_mem_gb"] = torch.cuda.max_memory_allocated() / 1e9
    json.dump(res, open(args.out, "w"), indent=1)


if __name__ == "__main__":
    sys.exit(main())
