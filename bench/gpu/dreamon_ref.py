#!/usr/bin/env python3
"""PyTorch reference of DreamOn's variable-length infilling loop, and the
tiny DreamOn-shaped model and golden traces the Go runtime is checked
against (runtime/denoise/dreamon_test.go).

Upstream is DreamLM/DreamOn@8a0a549 `eval/generator.py`
(MDMGenerator.batch_generate_with_expand_as_token) and the loop of the
Hugging Face model card Dream-org/DreamOn-v0-7B `generation_utils.py`
(DreamOnGenerationMixin.diffusion_generate / _sample). The two run the same
step; they differ only in defaults, noted where they occur. This file was
written by reading those functions line by line; the comments marked
"upstream:" name the line of theirs each block reproduces. Nothing here is
copied from them.

The model is Dream's architecture (Qwen2 layers, bidirectional attention,
shifted logits; modeling_dream.py semantics as in dream_ref.py) evaluated
in float64 from the bf16 weights, so the traces do not depend on the
device. Only greedy decoding (temperature 0) is used for the golden file:
sampled runs depend on torch's RNG, which the Go side does not reproduce.

Subcommands:
  model DIR           write the tiny model (config.json, model.safetensors,
                      added_tokens.json, generation_config.json) to DIR
  golden DIR OUT      run the golden cases on DIR's model, write OUT (JSON)
  run DIR --ids ...   one case, trace on stdout (for debugging)

Needs only torch and numpy (Debian's python3-torch).
"""
import argparse
import json
import math
import os
import random
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "train"))
import st  # noqa: E402  (the project's dependency-free safetensors reader/writer)

BOS, EOS, MASK, EXPAND = 151665, 151643, 151666, 151667
VOCAB = 151668  # covers the expand id, nothing more (keeps the file small)


# ---------------------------------------------------------------- the model

class Tiny:
    """Dream forward in float64 (modeling_dream.py: RMSNorm, NeoX RoPE,
    q/k/v biases, GQA, SiLU-gated MLP, untied lm_head)."""

    def __init__(self, d):
        cfg = json.load(open(os.path.join(d, "config.json")))
        self.cfg = cfg
        w = st.load(os.path.join(d, "model.safetensors"))
        self.w = {k: v.to(torch.float64) for k, v in w.items()}
        self.H = cfg["hidden_size"]
        self.heads = cfg["num_attention_heads"]
        self.kv = cfg["num_key_value_heads"]
        self.hd = self.H // self.heads
        self.L = cfg["num_hidden_layers"]
        self.eps = cfg["rms_norm_eps"]
        self.theta = cfg["rope_theta"]

    def norm(self, x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * w

    def rope(self, x, pos):
        inv = 1.0 / (self.theta ** (torch.arange(0, self.hd, 2, dtype=torch.float64) / self.hd))
        f = pos.to(torch.float64)[:, None] * inv[None, :]
        emb = torch.cat((f, f), -1)
        cos, sin = emb.cos()[None], emb.sin()[None]
        h = self.hd // 2
        rot = torch.cat((-x[..., h:], x[..., :h]), -1)
        return x * cos + rot * sin

    def raw_logits(self, ids, valid, pos, rows):
        """Unshifted logits of the given rows of one sequence (the others
        are not needed by the loop; computing only these is faster). valid[i] False: row i neither
        attends nor is attended to (upstream's 2-D attention mask built as
        the outer AND of the 1-D window mask); pos: position ids."""
        w = self.w
        x = w["model.embed_tokens.weight"][ids]
        allow = valid[:, None] & valid[None, :]
        for l in range(self.L):
            p = f"model.layers.{l}."
            h = self.norm(x, w[p + "input_layernorm.weight"])
            q = h @ w[p + "self_attn.q_proj.weight"].T + w[p + "self_attn.q_proj.bias"]
            k = h @ w[p + "self_attn.k_proj.weight"].T + w[p + "self_attn.k_proj.bias"]
            v = h @ w[p + "self_attn.v_proj.weight"].T + w[p + "self_attn.v_proj.bias"]
            T = ids.shape[0]
            q = q.view(T, self.heads, self.hd).transpose(0, 1)
            k = k.view(T, self.kv, self.hd).transpose(0, 1)
            v = v.view(T, self.kv, self.hd).transpose(0, 1)
            q, k = self.rope(q, pos), self.rope(k, pos)
            rep = self.heads // self.kv
            k, v = k.repeat_interleave(rep, 0), v.repeat_interleave(rep, 0)
            s = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd)
            s = s.masked_fill(~allow[None], float("-inf"))
            a = torch.softmax(s, -1).nan_to_num(0.0)  # fully masked (padding) rows: 0, never read
            o = (a @ v).transpose(0, 1).reshape(T, self.H)
            x = x + o @ w[p + "self_attn.o_proj.weight"].T
            h = self.norm(x, w[p + "post_attention_layernorm.weight"])
            g = h @ w[p + "mlp.gate_proj.weight"].T
            u = h @ w[p + "mlp.up_proj.weight"].T
            x = x + (torch.nn.functional.silu(g) * u) @ w[p + "mlp.down_proj.weight"].T
        x = self.norm(x[rows], w["model.norm.weight"])
        return x @ w["lm_head.weight"].T


# ------------------------------------------------------------ the sampler

def top_p_filter(logits, top_p):
    # upstream: generator.py top_p_logits (same in generation_utils.py):
    # sort descending, cumulative softmax, drop a token once the tokens
    # before it exceed top_p (the first is always kept), dropped logits
    # become the dtype's minimum.
    sl, si = torch.sort(logits, descending=True)
    cum = torch.cumsum(torch.softmax(sl, -1), -1)
    drop = cum > top_p
    drop[..., 1:] = drop[..., :-1].clone()
    drop[..., 0] = False
    m = torch.zeros_like(logits, dtype=torch.bool).scatter(-1, si, drop)
    return logits.masked_fill(m, torch.finfo(logits.dtype).min)


def top_k_filter(logits, top_k):
    # upstream: top_k_logits: below the k-th largest -> dtype minimum.
    k = min(top_k, logits.shape[-1])
    kth = torch.topk(logits, k)[0][..., -1, None]
    return logits.masked_fill(logits < kth, torch.finfo(logits.dtype).min)


def sample(logits, alg, temperature, top_p, top_k):
    """upstream: sample_tokens. Greedy only (temperature 0): the token is
    the argmax of the filtered softmax; confidence by algorithm."""
    assert temperature == 0, "the reference runs greedy only"
    # upstream: `if temperature > 0: logits = logits / temperature` (skipped at 0)
    if top_p is not None and top_p < 1:
        logits = top_p_filter(logits, top_p)
    if top_k is not None:
        logits = top_k_filter(logits, top_k)
    probs = torch.softmax(logits, -1)
    conf, x0 = probs.max(-1)
    if alg == "topk_margin":
        sp = torch.sort(probs, -1, descending=True)[0]
        conf = sp[:, 0] - sp[:, 1]
    elif alg == "entropy":
        conf = torch.sum(probs * torch.log(probs + 1e-10), -1)
    elif alg != "maskgit_plus":
        raise ValueError(alg)  # upstream raises for origin too (NotImplementedError)
    return conf, x0, probs.max(-1)[0]


# ------------------------------------------------------------ the loop

def dreamon(model, input_ids, max_new_tokens, alg="entropy", temperature=0.0, top_p=None, top_k=None,
            expand_budget=None, max_iters=None, pad_delete_to_right=False, transfer=1):
    """DreamOn's loop on one canvas (batch size 1, as upstream requires).

    input_ids holds prefix + masks + suffix (+ EOS). Returns the final
    window, the middle's [start, length), and a per-step trace.
    """
    n_in = len(input_ids)
    masks = [j for j, t in enumerate(input_ids) if t == MASK]
    if not masks:
        raise ValueError("no mask")  # upstream: diffusion_generate raises ValueError
    # upstream (model card): prefix_len = index of the first mask,
    # start_gen_len = number of masks, max_length = max_new_tokens +
    # input length - number of masks (_prepare_generated_length). The eval
    # generator's max_tokens = min(2048, len(input) + max_gen_len -
    # min_gen_len) is the same with max_gen_len = max_new_tokens.
    prefix_len = masks[0]
    start_gen_len = len(masks)
    max_length = max_new_tokens + n_in - start_gen_len
    if n_in > max_length:
        raise ValueError("input longer than max_length")  # upstream: _validate_generated_length
    # upstream (model card _sample): max_gen_len = max_length - prefix_len;
    # expand_budget defaults to 2 * max_gen_len; the loop runs at most
    # 2 * max_gen_len + 2 * expand_budget iterations. (The eval generator
    # uses expand_budget = max_gen_len and `steps` iterations instead; both
    # are parameters here.)
    max_gen_len = max_length - prefix_len
    budget = 2 * max_gen_len if expand_budget is None else expand_budget
    iters = 2 * max_gen_len + 2 * budget if max_iters is None else max_iters
    # upstream: x = input right-padded to max_length (with EOS in the model
    # card, with masks in the eval generator; the padding never enters the
    # window, so either gives the same result).
    x = list(input_ids) + [EOS] * (max_length - n_in)
    n_gen = start_gen_len
    trace = []
    min_margin = float("inf")
    for i in range(iters):
        # upstream: current_window_length = len(input) - start_gen_len + n_gen;
        # attention mask = 1 on the window, 0 after; mask_index = masked AND
        # in the window; stop when the window holds no mask.
        W = n_in - start_gen_len + n_gen
        Wc = min(W, max_length)  # F.pad with a negative width crops (only reachable with transfer > 1)
        valid = torch.zeros(max_length, dtype=torch.bool)
        valid[:Wc] = True
        mask_pos = [j for j in range(Wc) if x[j] == MASK]
        if not mask_pos:
            break
        # upstream: tok_idx = cumsum(attention_mask) - 1, padding set to 1.
        pos = torch.cumsum(valid.long(), 0) - 1
        pos = pos.masked_fill(~valid, 1)
        # upstream: logits shifted right by one, then the masked slots':
        # slot p reads row p-1 (row 0 for p = 0).
        logits = model.raw_logits(torch.tensor(x), valid, pos, [max(p - 1, 0) for p in mask_pos])
        # upstream: block expansion when the window is at max_length or the
        # budget is spent: logits[:, expand] -= 1e9.
        blocked = W == max_length or budget == 0
        if blocked:
            logits[:, EXPAND] -= 1e9
        conf, x0, prob = sample(logits, alg, temperature, top_p, top_k)
        # upstream: transfer_index = topk(confidence, number_transfer_tokens)
        # (alg_temp 0); every other masked slot stays a mask.
        order = torch.argsort(conf, descending=True, stable=True).tolist()
        if len(order) > transfer:
            # relative gap between the last committed confidence and the next
            a, b = conf[order[transfer - 1]].item(), conf[order[transfer]].item()
            min_margin = min(min_margin, abs(a - b) / max(abs(a), abs(b), 1e-300))
        chosen = torch.topk(conf, min(transfer, len(mask_pos)))[1].tolist()
        committed = []
        for c in sorted(chosen):
            p = mask_pos[c]
            x[p] = int(x0[c])
            committed.append({"pos": p, "token": int(x0[c]), "prob": float(prob[c])})
        event = {"step": i, "window": W, "blocked": blocked, "commit": committed}
        # upstream: pad_delete_to_right: from the first delete (EOS) token
        # anywhere in x, every slot that was masked before this step turns
        # into a delete token.
        if pad_delete_to_right:
            first = next((j for j, t in enumerate(x) if t == EOS), None)
            if first is not None:
                for j in mask_pos:
                    if j >= first:
                        x[j] = EOS
        # upstream (model card order: delete, then expand): every slot that
        # was masked before this step and now holds EOS is removed, right to
        # left, a mask is appended at the end (outside the window) and
        # n_gen shrinks by one.
        deleted = [j for j in mask_pos if x[j] == EOS]
        for j in sorted(deleted, reverse=True):
            x = x[:j] + x[j + 1:] + [MASK]
            n_gen -= 1
        # upstream: every expand token anywhere in x, right to left, becomes
        # two masks; n_gen and the budget move by one; x is cut back to
        # max_length. (The eval generator expands before deleting; with one
        # commit per step a step never does both, so the order is moot.)
        expanded = [j for j, t in enumerate(x) if t == EXPAND]
        for j in sorted(expanded, reverse=True):
            x = x[:j] + [MASK, MASK] + x[j + 1:]
            n_gen += 1
            budget -= 1
            x = x[:max_length]
        event["deleted"] = sorted(deleted)
        event["expanded"] = sorted(expanded)
        W2 = min(n_in - start_gen_len + n_gen, max_length)
        event["canvas"] = x[:W2]
        trace.append(event)
    W = min(n_in - start_gen_len + n_gen, max_length)
    return {
        "output": x[:W],
        "middle_start": prefix_len,
        "middle_len": n_gen,
        "middle": x[prefix_len:prefix_len + n_gen],
        "iterations": len(trace),
        "max_length": max_length,
        "expand_budget_left": budget,
        "min_margin": None if math.isinf(min_margin) else min_margin,  # None: never more than one masked slot
        "trace": trace,
    }


# ------------------------------------------------------------ tiny model

# Tokens the tiny model writes: readable code bytes.
WRITE = [ord(c) for c in "abcdefghijklmnopqrstuvwxyz(){}=+-*,.:_ \n0123456789"]


def make_model(d, seed=7, hidden=8, expand_scale=2.0, eos_scale=2.0, scale=1.5):
    """A 2-layer Dream model of hidden size 8 whose vocabulary covers the
    expand id. Embedding rows exist for the 256 bytes and the special
    tokens; residual dimension 0 is a constant 3 (its embedding column is
    3 and no layer writes to it), so lm_head rows (-8, 0, ...) push every
    token the model should not write about 15 below the others. Rows for
    WRITE come in +/- pairs (some written token always scores above 0) and
    the EOS and expand rows are scaled so that both expansions and
    deletions happen. Logits stay soft enough that top-p keeps several
    tokens, so entropy confidences rarely tie."""
    os.makedirs(d, exist_ok=True)
    g = torch.Generator().manual_seed(seed)
    H, I, heads, kv, L = hidden, 2 * hidden, 2, 1, 2
    hd = H // heads

    def rnd(*shape, scale=0.5):
        return (torch.randn(*shape, generator=g, dtype=torch.float64) * scale)

    emb = torch.zeros(VOCAB, H, dtype=torch.float64)
    emb[:256] = rnd(256, H, scale=1.0)
    for t in (EOS, BOS, MASK, EXPAND):
        emb[t] = rnd(H, scale=1.0)
    emb[:, 0] = 3.0
    lm = torch.zeros(VOCAB, H, dtype=torch.float64)
    lm[:, 0] = -8.0
    half = len(WRITE) // 2
    base = rnd(half, H, scale=scale)
    base[:, 0] = 0
    for j in range(half):
        lm[WRITE[2 * j]] = base[j]
        lm[WRITE[2 * j + 1]] = -base[j]
    for t, sc in ((EOS, eos_scale), (EXPAND, expand_scale)):
        lm[t] = rnd(H, scale=scale) * sc
        lm[t, 0] = 0
    t = {"model.embed_tokens.weight": emb, "lm_head.weight": lm, "model.norm.weight": 1 + rnd(H, scale=0.1)}
    for l in range(L):
        p = f"model.layers.{l}."
        t[p + "input_layernorm.weight"] = 1 + rnd(H, scale=0.1)
        t[p + "post_attention_layernorm.weight"] = 1 + rnd(H, scale=0.1)
        t[p + "self_attn.q_proj.weight"] = rnd(heads * hd, H)
        t[p + "self_attn.q_proj.bias"] = rnd(heads * hd, scale=0.1)
        t[p + "self_attn.k_proj.weight"] = rnd(kv * hd, H)
        t[p + "self_attn.k_proj.bias"] = rnd(kv * hd, scale=0.1)
        t[p + "self_attn.v_proj.weight"] = rnd(kv * hd, H)
        t[p + "self_attn.v_proj.bias"] = rnd(kv * hd, scale=0.1)
        t[p + "self_attn.o_proj.weight"] = rnd(H, heads * hd)
        t[p + "self_attn.o_proj.weight"][0] = 0  # keep residual dimension 0 constant
        t[p + "mlp.gate_proj.weight"] = rnd(I, H)
        t[p + "mlp.up_proj.weight"] = rnd(I, H)
        t[p + "mlp.down_proj.weight"] = rnd(H, I)
        t[p + "mlp.down_proj.weight"][0] = 0
    st.save({k: v.to(torch.bfloat16) for k, v in t.items()}, os.path.join(d, "model.safetensors"), {"format": "pt"})
    cfg = {
        "architectures": ["DreamModel"], "model_type": "Dream", "hidden_act": "silu",
        "hidden_size": H, "intermediate_size": I, "num_hidden_layers": L,
        "num_attention_heads": heads, "num_key_value_heads": kv, "vocab_size": VOCAB,
        "rope_theta": 10000.0, "rope_scaling": None, "rms_norm_eps": 1e-6,
        "max_position_embeddings": 512, "mask_token_id": MASK, "pad_token_id": EOS,
        "bos_token_id": BOS, "eos_token_id": EOS, "tie_word_embeddings": False,
        "attention_dropout": 0.0, "use_cache": False, "torch_dtype": "bfloat16",
        "_name_or_path": "dream-lsp/tiny-dreamon (random, biased; see bench/gpu/dreamon_ref.py)",
    }
    json.dump(cfg, open(os.path.join(d, "config.json"), "w"), indent=1)
    gen = {"alg": "entropy", "temperature": 0.2, "top_p": 0.9, "steps": 64, "eps": 1e-3,
           "mask_token_id": MASK, "bos_token_id": BOS, "eos_token_id": EOS, "pad_token_id": EOS}
    json.dump(gen, open(os.path.join(d, "generation_config.json"), "w"), indent=1)
    # Tokenizer: Dream's own vocab.json + merges.txt (too large to keep
    # beside the weights; tests link them from ../shared, see
    # internal/dreamontest) with Dream's added tokens and DreamOn's expand.
    added = {"<|endoftext|>": EOS, "<|beginoftext|>": BOS, "<|mask|>": MASK, "<|expand|>": EXPAND}
    for i, name in enumerate(["<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
                              "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>",
                              "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>",
                              "<|video_pad|>", "<tool_call>", "</tool_call>", "<|fim_prefix|>",
                              "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>"]):
        added[name] = 151644 + i
    json.dump(dict(sorted(added.items(), key=lambda kv: kv[1])), open(os.path.join(d, "added_tokens.json"), "w"), indent=1)


# ------------------------------------------------------------ golden cases

def random_case(rng):
    alpha = "abcdefghijklmnopqrstuvwxyz(){}= \n"
    pre = [ord(c) for c in "".join(rng.choice(alpha) for _ in range(rng.randint(2, 10)))]
    suf = [ord(c) for c in "".join(rng.choice(alpha) for _ in range(rng.randint(1, 8)))]
    k = rng.choice([1, 2, 3, 4, 6, 8])
    ids = [BOS] + pre + [MASK] * k + suf + [EOS]
    opts = {"max_new_tokens": rng.choice([k, k + 2, k + 5, 12, 16, 24]), "alg": "entropy", "top_p": 0.9}
    r = rng.random()
    if r < 0.15:
        opts["alg"] = "maskgit_plus"
        opts["top_p"] = None
    elif r < 0.25:
        opts["alg"] = "topk_margin"
        opts["top_p"] = None
    if rng.random() < 0.3:
        opts["pad_delete_to_right"] = True
    if rng.random() < 0.15:
        opts["expand_budget"] = rng.choice([0, 1, 2])
    if rng.random() < 0.1:
        opts["max_iters"] = rng.choice([2, 4])
    return ids, opts


def run_case(model, ids, opts):
    return dreamon(model, ids, opts["max_new_tokens"], alg=opts["alg"], top_p=opts.get("top_p"),
                   expand_budget=opts.get("expand_budget"), max_iters=opts.get("max_iters"),
                   pad_delete_to_right=opts.get("pad_delete_to_right", False))


def golden(d, out, n=24, seed=1, pool=200, margin=1e-3):
    model = Tiny(d)
    rng = random.Random(seed)
    cands = []
    for _ in range(pool):
        ids, opts = random_case(rng)
        r = run_case(model, ids, opts)
        if r["min_margin"] is not None and r["min_margin"] < margin:
            continue  # a near tie: float32 vs float64 could pick differently
        ev = {
            "expand": sum(len(e["expanded"]) for e in r["trace"]),
            "delete": sum(len(e["deleted"]) for e in r["trace"]),
            "cap": any(e["blocked"] and e["window"] == r["max_length"] for e in r["trace"]),
            "budget0": any(e["blocked"] and e["window"] != r["max_length"] for e in r["trace"]),
            "iters_cap": opts.get("max_iters") is not None and r["iterations"] == opts["max_iters"],
        }
        cands.append((ids, opts, r, ev))
    # Keep a spread: each kind of event, then the rest in order.
    picked, seen = [], set()
    kinds = [
        lambda e, o: e["expand"] > 0 and e["delete"] > 0,
        lambda e, o: e["expand"] > 0 and e["delete"] == 0,
        lambda e, o: e["delete"] > 0 and e["expand"] == 0,
        lambda e, o: e["expand"] == 0 and e["delete"] == 0,
        lambda e, o: e["cap"],
        lambda e, o: not e["cap"] and e["expand"] > 0,
        lambda e, o: e["budget0"],
        lambda e, o: e["iters_cap"],
        lambda e, o: o.get("pad_delete_to_right") and e["delete"] > 1,
        lambda e, o: o["alg"] == "maskgit_plus",
        lambda e, o: o["alg"] == "topk_margin",
    ]
    for rep in range(3):
        for kind in kinds:
            for i, (ids, opts, r, ev) in enumerate(cands):
                if i not in seen and kind(ev, opts):
                    picked.append(i)
                    seen.add(i)
                    break
    for i in range(len(cands)):
        if len(picked) >= n:
            break
        if i not in seen:
            picked.append(i)
            seen.add(i)
    cases = []
    for i in picked[:n]:
        ids, opts, r, ev = cands[i]
        cases.append({"input_ids": ids, "options": opts, "events": ev, **r})
    doc = {
        "description": "Greedy DreamOn traces (bench/gpu/dreamon_ref.py, float64) on the tiny model in this "
                       "directory. Per case: input_ids, options (max_new_tokens, alg, top_p, pad_delete_to_right, "
                       "expand_budget, max_iters), the final window `output`, the middle [middle_start, "
                       "middle_start+middle_len), and `trace` (per step: window before the step, whether expand "
                       "was blocked, the commit, deleted and expanded slots, the canvas after the step). "
                       "min_margin: smallest gap between the committed slot's confidence and the next one.",
        "ids": {"bos": BOS, "eos_delete": EOS, "mask": MASK, "expand": EXPAND},
        "cases": cases,
    }
    with open(out, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    tot = {k: sum(1 for c in cases if c["events"][k]) for k in ("expand", "delete", "cap", "budget0", "iters_cap")}
    print(f"{len(cases)} cases from {len(cands)} candidates; cases with: {tot}", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("model")
    m.add_argument("dir")
    m.add_argument("--seed", type=int, default=7)
    m.add_argument("--expand-scale", type=float, default=2.0)
    m.add_argument("--eos-scale", type=float, default=2.0)
    m.add_argument("--scale", type=float, default=1.5)
    g = sub.add_parser("golden")
    g.add_argument("dir")
    g.add_argument("out")
    g.add_argument("--n", type=int, default=24)
    g.add_argument("--seed", type=int, default=1)
    r = sub.add_parser("run")
    r.add_argument("dir")
    r.add_argument("--ids", required=True, help="comma-separated ids; 'm' for the mask")
    r.add_argument("--max-new-tokens", type=int, default=64)
    r.add_argument("--alg", default="entropy")
    r.add_argument("--top-p", type=float, default=None)
    r.add_argument("--pad-delete-to-right", action="store_true")
    a = ap.parse_args()
    torch.set_grad_enabled(False)
    if a.cmd == "model":
        make_model(a.dir, seed=a.seed, expand_scale=a.expand_scale, eos_scale=a.eos_scale, scale=a.scale)
    elif a.cmd == "golden":
        golden(a.dir, a.out, n=a.n, seed=a.seed)
    else:
        ids = [MASK if f == "m" else int(f) for f in a.ids.split(",")]
        res = dreamon(Tiny(a.dir), ids, a.max_new_tokens, alg=a.alg, top_p=a.top_p,
                      pad_delete_to_right=a.pad_delete_to_right)
        json.dump(res, sys.stdout)
        print()


if __name__ == "__main__":
    main()
