"""Held-out single-line exact match, measured with the Python model.

Protocol (docs/MODEL.md "Evaluation"):
  * files: the held-out Go files of the corpus (content-hash split, data.is_heldout), sorted by path;
  * holes: --n holes drawn with random.Random(--seed) (default 300, seed 0): a uniformly random file,
    then a uniformly random line of it that, after stripping, has >= 4 characters and does not start
    with "//" (comment-only lines are skipped);
  * the middle is the line after its indentation, without the newline; the prefix (text before the
    middle, indentation included) and the suffix (from the newline on) are encoded on their own;
  * canvas = [<|beginoftext|> if the prefix is the file start] + last prefix tokens + n masks
    + first suffix tokens, where n = the middle's token count (oracle length) and the canvas fits
    the model's max_position_embeddings with at most --suffix suffix tokens;
  * Dream's sampler, greedy: steps = n, alg maskgit_plus (or --alg), temperature 0, eps 1e-3,
    timesteps linspace(1, eps, steps+1), k = int(masks * (1 - s/t)) per step (all on the last);
  * exact match: the decoded middle (special tokens skipped) equals the line text byte for byte.

Usage: /usr/bin/python3 train/evalline.py --model runtime/builtin/model [--n 300]
       [--go bin/dream-lsp]   # denoise with the Go runtime (dream-lsp debug denoise) instead
"""

import argparse
import json
import os
import random
import subprocess
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
import export  # noqa: E402


def edit_similarity(a, b):
    """1 - Levenshtein(a, b) / max(len(a), len(b)) over characters (1 for two empty strings)."""
    if not a and not b:
        return 1.0
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
        prev = cur
    return 1.0 - prev[-1] / max(len(a), len(b))


def heldout_go_files(files_json):
    files = json.load(open(files_json))
    # A corpus carried to another machine (train/gpu/prepare.sh) has its texts packed beside files.json.
    packed = os.path.join(os.path.dirname(files_json), "texts.jsonl.gz")
    texts = data.read_packed_texts(packed) if os.path.exists(packed) else None
    out = []
    for f in sorted(files, key=lambda f: f["path"]):
        if f["split"] == "heldout" and f["path"].endswith(".go"):
            t = texts.get(f["path"]) if texts is not None else data._read(f["path"])
            if t:
                out.append((f["path"], t))
    return out


def holes(files, n, seed):
    rng = random.Random(seed)
    out = []
    tries = 0
    while len(out) < n and tries < 100 * n:
        tries += 1
        path, text = files[rng.randrange(len(files))]
        lines = text.split("\n")
        li = rng.randrange(len(lines))
        line = lines[li]
        s = line.strip()
        if len(s) < 4 or s.startswith("//"):
            continue
        start = sum(len(x) + 1 for x in lines[:li])
        indent = len(line) - len(line.lstrip(" \t"))
        a = start + indent
        b = start + len(line)
        out.append((path, text, a, b))
    return out


def canvas(tok, text, a, b, max_len, suffix_budget):
    pre = tok.encode(text[:a])
    mid = tok.encode(text[a:b])
    suf = tok.encode(text[b:])
    n = len(mid)
    sb = min(len(suf), suffix_budget)
    pb = max_len - n - sb
    p = ([tok.bot] + pre)[-pb:] if len(pre) + 1 <= pb else pre[-pb:]
    ids = p + [tok.mask] * n + suf[:sb]
    return ids, len(p), mid


@torch.no_grad()
def denoise(net, ids, steps, mask_id, alg="maskgit_plus", eps=1e-3, ban=None):
    """Dream's _sample loop, temperature 0, for one row (ban: a token id never sampled)."""
    dev = next(net.parameters()).device
    x = torch.tensor([ids], device=dev)
    ts = torch.linspace(1, eps, steps + 1)
    for i in range(steps):
        mi = x[0] == mask_id
        if not mi.any():
            break
        logits = net.shifted_logits(x)[0][mi].float()
        if ban is not None:
            logits[:, ban] = float("-inf")
        probs = torch.softmax(logits, -1)
        conf, x0 = probs.max(-1)
        if alg == "topk_margin":
            top2 = probs.topk(2, -1).values
            conf = top2[:, 0] - top2[:, 1]
        elif alg == "entropy":
            conf = (probs * torch.log(probs + 1e-10)).sum(-1)
        elif alg == "leftmost":
            # Left to right, one block of one slot at a time: what confidence_threshold does with
            # Fast-dLLM blocks of size 1 when the schedule commits one token per step.
            conf = -mi.nonzero()[:, 0].float()
        nm = int(mi.sum())
        t, s = ts[i].item(), ts[i + 1].item()
        k = int(nm * (1 - s / t)) if i < steps - 1 else nm
        if k <= 0:
            continue
        full = torch.full((x.shape[1],), float("-inf"), device=dev)
        full[mi] = conf
        _, idx = full.topk(k)
        cand = torch.full((x.shape[1],), mask_id, dtype=torch.long, device=dev)
        cand[mi] = x0
        x[0, idx] = cand[idx]
    return x[0].tolist()


def denoise_go(binary, model_dir, ids, steps, mask_id, alg, threads, no_eos=False):
    """The same denoise through the Go runtime: `dream-lsp debug denoise`."""
    arg = ",".join("mask" if i == mask_id else str(i) for i in ids)
    extra = ["--eos-penalty", "1e9"] if no_eos else []
    out = subprocess.run([binary, "debug", "denoise", "--model", model_dir, "--ids", arg, "--steps", str(steps),
                          "--alg", alg, "--temperature", "0", "--eps", "0.001", "--threads", str(threads)] + extra,
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)["output"]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--files", default=os.path.join(here, "work", "prep-go+gomod-v4096", "files.json"))
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--alg", default="maskgit_plus")
    ap.add_argument("--suffix", type=int, default=64)
    ap.add_argument("--no-eos", action="store_true",
                    help="never sample <|endoftext|> (the length is the oracle's, so a true middle holds none; "
                         "reported separately from the plain protocol)")
    ap.add_argument("--max-len", type=int, default=0,
                    help="canvas length cap (default: the model's max_position_embeddings)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu", help="cpu or cuda (float32 either way)")
    ap.add_argument("--show", type=int, default=5)
    ap.add_argument("--json", help="write per-hole results here")
    ap.add_argument("--go", help="run the denoising with this dream-lsp binary (debug denoise) instead of PyTorch")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    net, tok = export.load_dir(a.model)
    net.to(a.device)
    files = heldout_go_files(a.files)
    hs = holes(files, a.n, a.seed)
    hits = 0
    results = []
    t0 = time.time()
    for k, (path, text, s, e) in enumerate(hs):
        ids, p0, mid = canvas(tok, text, s, e, a.max_len or net.config.max_position_embeddings, a.suffix)
        if a.go:
            out = denoise_go(a.go, a.model, ids, len(mid), tok.mask, a.alg, a.threads, a.no_eos)
        else:
            out = denoise(net, ids, len(mid), tok.mask, a.alg, ban=tok.eot if a.no_eos else None)
        got = tok.decode(out[p0:p0 + len(mid)])
        want = text[s:e]
        ok = got == want
        hits += ok
        sim = edit_similarity(got, want)
        results.append({"path": path, "want": want, "got": got, "tokens": len(mid), "exact": ok, "similarity": sim})
        if k < a.show:
            print(f"{'OK ' if ok else 'BAD'} want {want!r}\n    got  {got!r}")
    print(f"exact match {hits}/{len(hs)} = {100 * hits / len(hs):.1f}% "
          f"(alg {a.alg}{', EOS banned' if a.no_eos else ''}, {'Go runtime' if a.go else 'PyTorch'}, "
          f"canvas <= {a.max_len or net.config.max_position_embeddings}, {len(files)} held-out files, "
          f"{time.time() - t0:.0f}s)")
    # A softer signal than exact match for small models: edit similarity (1 - Levenshtein / longer
    # length, in characters; dream-lsp eval reports the same) averaged over the holes.
    print(f"mean edit similarity {sum(r['similarity'] for r in results) / len(results):.3f}")
    # Degenerate fills: a lone closing brace (right only on "}" lines) or nothing at all.
    brace = sum(r["got"].strip() == "}" for r in results)
    empty = sum(r["got"].strip() == "" for r in results)
    distinct = len({r["got"] for r in results})
    print(f"degenerate fills: {brace} are '}}', {empty} empty or whitespace; {distinct} distinct fills; "
          f"{sum(r['want'].strip() == '}' for r in results)} holes are '}}' lines")
    if a.json:
        json.dump({"exact": hits, "n": len(hs), "alg": a.alg, "results": results}, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
