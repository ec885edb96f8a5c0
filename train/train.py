"""Train dream-lsp's built-in model: one command, deterministic given --seed.

  nice -n 19 /usr/bin/python3 train/train.py --seed 1 --out train/work/model

Steps: collect the corpus (data.py), split held-out files by content hash, learn a byte-level BPE
with the Qwen2 pre-tokenizer on the training files, pack the training files into a token stream,
train the Dream architecture with a masked-diffusion loss (t ~ U(eps, 1), only masked positions,
weight 1/t) mixed with infill-shaped rows (a contiguous middle: rest of a line, a line, or a few
lines, followed by 0..k EOS pads, masked at ratio t), checkpoint every few minutes, and export a
Hugging Face Dream directory (export.py).
"""

import argparse
import bisect
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe  # noqa: E402
import data  # noqa: E402
import export  # noqa: E402
import model as M  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def log(msg, f=None):
    line = time.strftime("%H:%M:%S ") + msg
    print(line, flush=True)


# ---- preparation -------------------------------------------------------------------------------

def prepare(a):
    """Corpus, split, tokenizer and packed stream; cached in --work keyed by the settings."""
    key = f"prep-{'+'.join(sorted(a.langs.split(',')))}-v{a.vocab}"
    d = os.path.join(a.work, key)
    tok_path = os.path.join(d, "tokenizer.json")
    if os.path.exists(os.path.join(d, "done")):
        tok = bpe.Tokenizer.load(tok_path)
        if os.path.exists(os.path.join(d, "stream.npz")):
            stream = np.load(os.path.join(d, "stream.npz"))["stream"]
        else:
            stream = np.load(os.path.join(d, "stream.npy"))
        files = json.load(open(os.path.join(d, "files.json")))
        packed = os.path.join(d, "texts.jsonl.gz")
        if os.path.exists(packed):
            # A corpus carried to another machine (train/gpu/prepare.sh): the texts travel with it.
            return tok, stream, files, data.read_packed_texts(packed)
        texts = {}
        for f in files:
            texts[f["path"]] = data._read(f["path"])
        return tok, stream, files, texts
    os.makedirs(d, exist_ok=True)
    t0 = time.time()
    corpus = data.collect(a.langs.split(","), log)
    files = []
    texts = {}
    for src, lic, path, text in corpus:
        split = "heldout" if data.is_heldout(text) else "train"
        files.append({"path": path, "source": src, "licence": lic, "split": split, "bytes": len(text.encode())})
        texts[path] = text
    ntrain = sum(f["split"] == "train" for f in files)
    log(f"corpus: {len(files)} files ({ntrain} train), {sum(f['bytes'] for f in files) / 1e6:.1f} MB, "
        f"{time.time() - t0:.0f}s")
    counts = {}
    for f in files:
        if f["split"] != "train":
            continue
        for w in bpe.pretokens(texts[f["path"]]):
            counts[w] = counts.get(w, 0) + 1
    log(f"pretokens: {len(counts)} distinct, {time.time() - t0:.0f}s")
    vocab, merges = bpe.train(counts, a.vocab - len(bpe.ADDED), lambda m: log(m))
    tok = bpe.Tokenizer(vocab, merges)
    tok.save(tok_path)
    log(f"bpe: vocab {tok.size} ({len(merges)} merges), {time.time() - t0:.0f}s")
    ids = []
    nbytes = 0
    for f in files:
        if f["split"] != "train":
            continue
        ids.extend(tok.encode(texts[f["path"]]))
        ids.append(tok.eot)
        nbytes += f["bytes"]
    stream = np.array(ids, dtype=np.uint16)
    np.save(os.path.join(d, "stream.npy"), stream)
    json.dump(files, open(os.path.join(d, "files.json"), "w"), indent=0)
    open(os.path.join(d, "done"), "w").write("ok\n")
    log(f"stream: {len(stream)} tokens, {nbytes / len(stream):.2f} bytes/token, {time.time() - t0:.0f}s")
    return tok, stream, files, texts


# ---- examples ----------------------------------------------------------------------------------

def reindent_spaces(text, width=4):
    """Leading tabs of every line replaced by width spaces each (the rest of the line untouched)."""
    out = []
    for line in text.split("\n"):
        n = len(line) - len(line.lstrip("\t"))
        out.append(" " * (width * n) + line[n:])
    return "\n".join(out)


class Sampler:
    """Builds training rows: (ids, is_masked, weight) for a row of length L."""

    def __init__(self, tok, stream, files, texts, L, infill_frac, eps, rng, split="train", multi_frac=0.0,
                 pad_prob=0.6, pad_max=32, multi_q_max=0.3, space_indent_prob=0.0):
        self.tok = tok
        self.space_indent_prob = space_indent_prob
        self.multi_q_max = multi_q_max
        self.multi_frac = multi_frac
        self.pad_prob = pad_prob
        self.pad_max = pad_max
        self.tq = []  # stratified masking ratios for the rows of the current batch
        self.stream = stream
        self.L = L
        self.infill_frac = infill_frac
        self.eps = eps
        self.rng = rng
        self.paths = [f["path"] for f in files if f["split"] == split and texts.get(f["path"])]
        self.texts = texts
        cum = 0
        self.cum = []
        for p in self.paths:
            cum += len(texts[p])
            self.cum.append(cum)

    def random_text(self):
        """A training file's text, files drawn in proportion to their size; with probability
        space_indent_prob its leading tabs become four spaces each (gofmt'd Go is tab-indented;
        code pasted from elsewhere, HumanEval-X's Go among it, is often indented with spaces)."""
        i = bisect.bisect_right(self.cum, self.rng.randrange(self.cum[-1]))
        text = self.texts[self.paths[i]]
        if self.space_indent_prob and self.rng.random() < self.space_indent_prob:
            text = reindent_spaces(text)
        return text

    def npad(self, n, cap):
        """How many EOS pads follow a middle of n tokens: none with probability 1 - pad_prob,
        else 1..min(cap, pad_max, n) (so the model can end a middle early without learning EOS as
        the default fill)."""
        if self.rng.random() >= self.pad_prob:
            return 0
        return self.rng.randint(1, max(1, min(cap, self.pad_max, n)))

    def _t(self):
        if self.tq:
            return self.tq.pop()
        return self.eps + (1 - self.eps) * self.rng.random()

    def diffusion_row(self):
        L = self.L
        ids = data.sample_stream_window(self.stream, L, self.rng)
        t = self._t()
        m = [False] + [self.rng.random() < t for _ in range(L - 1)]
        if not any(m):
            m[1 + self.rng.randrange(L - 1)] = True
        w = 1.0 / (t * (L - 1))
        return ids, m, w

    def infill_parts(self, text, a, b):
        """Token ids of prefix, middle, suffix (each encoded on its own, as an editor would)."""
        tok = self.tok
        ctx = 6 * self.L
        ps = max(0, a - ctx)
        pre = tok.encode(text[ps:a])
        if ps > 0:
            pre = pre[1:]  # the first token may be a fragment of a longer one
        mid = tok.encode(text[a:b])
        se = min(len(text), b + ctx)
        suf = tok.encode(text[b:se])
        if se < len(text):
            suf = suf[:-1]
        return pre, ps == 0, mid, suf, se == len(text)

    def infill_row(self):
        rng = self.rng
        L = self.L
        tok = self.tok
        for _ in range(20):
            text = self.random_text()
            cut = data.infill_cut(text, rng)
            if cut is None:
                continue
            pre, at_start, mid, suf, at_end = self.infill_parts(text, *cut)
            if not mid or len(mid) > L // 3:
                continue
            npad = self.npad(len(mid), 32)
            region = mid + [tok.eot] * npad
            room = L - len(region) - 1
            sb = min(len(suf) + (1 if at_end else 0), rng.randint(8, max(8, room // 2)))
            pb = room - sb
            if at_start and len(pre) < pb:
                p = [tok.bot if rng.random() < 0.5 else tok.eot] + pre
            else:
                p = pre[-pb:] if pb > 0 else []
            p = p[-(room + 1):]
            if not p:
                continue
            sfx = suf + ([tok.eot] if at_end else [])
            sfx = sfx[:L - len(p) - len(region)]
            ids = p + region + sfx
            ids += [tok.eot] * (L - len(ids))
            t = self._t()
            m = [False] * L
            r0 = len(p)
            for j in range(r0, r0 + len(region)):
                m[j] = rng.random() < t
            if not any(m):
                m[r0 + rng.randrange(len(region))] = True
            w = 1.0 / (t * len(region))
            return ids, m, w
        return self.diffusion_row()

    def multi_infill_row(self):
        """Several editor-shaped holes in one window (more loss tokens per forward pass).

        A window of text starting at a line start is cut into context and middles: each
        non-blank line starts a hole with probability q ~ U(0.05, --multi-q-max) (the rest of the line from
        a random column, the line after its indentation, or 2-4 whole lines). Segments are
        tokenized separately; each middle gets 0..k EOS pads; every middle/pad slot is masked
        with probability t ~ U(eps, 1).
        """
        rng = self.rng
        L = self.L
        tok = self.tok
        for _ in range(20):
            text = self.random_text()
            start = rng.randrange(len(text))
            start = text.rfind("\n", 0, start) + 1
            if rng.random() < 0.1:
                start = 0
            end = min(len(text), start + 4 * L)
            window = text[start:end]
            lines = window.split("\n")
            if end < len(text):
                lines = lines[:-1]  # drop the partial last line
            q = 0.05 + max(0.0, self.multi_q_max - 0.05) * rng.random()
            cuts = []
            pos = 0
            li = 0
            while li < len(lines):
                line = lines[li]
                ls = pos
                if line.strip() and rng.random() < q:
                    indent = len(line) - len(line.lstrip(" \t"))
                    r = rng.random()
                    if r < 0.45:
                        a, b, used = ls + indent, ls + len(line), 1
                    elif r < 0.75:
                        a = ls + indent + rng.randrange(max(1, len(line) - indent))
                        b, used = ls + len(line), 1
                    else:
                        used = min(len(lines) - li, rng.randint(2, 4))
                        b = ls + sum(len(x) + 1 for x in lines[li:li + used]) - 1
                        a = ls + (indent if rng.random() < 0.7 else 0)
                    if b > a:
                        cuts.append((a, b))
                    for x in lines[li:li + used]:
                        pos += len(x) + 1
                    li += used
                    continue
                pos += len(line) + 1
                li += 1
            if not cuts:
                continue
            ids = []
            if start == 0:
                ids.append(tok.bot if rng.random() < 0.5 else tok.eot)
            regions = []
            prev = 0
            for a, b in cuts:
                ids.extend(tok.encode(window[prev:a]))
                mid = tok.encode(window[a:b])
                npad = self.npad(len(mid), 16)
                region = mid + [tok.eot] * npad
                if len(ids) + len(region) > L or len(mid) > L // 3:
                    ids.extend(mid)
                else:
                    regions.append((len(ids), len(region)))
                    ids.extend(region)
                prev = b
                if len(ids) >= L:
                    break
            if len(ids) < L:
                ids.extend(tok.encode(window[prev:]))
                if end == len(text):
                    ids.append(tok.eot)
            ids = ids[:L]
            ids += [tok.eot] * (L - len(ids))
            regions = [(s, n) for s, n in regions if s > 0 and s + n <= L]
            if not regions:
                continue
            t = self._t()
            m = [False] * L
            total = 0
            for s, n in regions:
                total += n
                for j in range(s, s + n):
                    m[j] = rng.random() < t
            if not any(m):
                s, n = regions[rng.randrange(len(regions))]
                m[s + rng.randrange(n)] = True
            return ids, m, 1.0 / (t * total)
        return self.diffusion_row()

    def batch(self, B):
        # Stratified t (one per 1/B slice of [eps, 1], shuffled) lowers the loss variance.
        u = self.rng.random()
        self.tq = [self.eps + (1 - self.eps) * ((k + u) / B) for k in range(B)]
        self.rng.shuffle(self.tq)
        rows = []
        for _ in range(B):
            r = self.rng.random()
            if r < self.infill_frac * self.multi_frac:
                rows.append(self.multi_infill_row())
            elif r < self.infill_frac:
                rows.append(self.infill_row())
            else:
                rows.append(self.diffusion_row())
        ids = torch.tensor([r[0] for r in rows], dtype=torch.long)
        m = torch.tensor([r[1] for r in rows], dtype=torch.bool)
        w = torch.tensor([r[2] for r in rows], dtype=torch.float32)
        return ids, m, w


def train_sampler(tok, stream, files, texts, a, rng):
    """The training rows' Sampler for the command-line settings a."""
    return Sampler(tok, stream, files, texts, a.seq, a.infill_frac, a.eps, rng, multi_frac=a.multi_frac,
                   pad_prob=a.pad_prob, pad_max=a.pad_max, multi_q_max=a.multi_q_max,
                   space_indent_prob=a.space_indent_prob)


def ar_rows(stream, n, L, rng):
    """n causal rows: random length-L windows of the packed stream, [n, L]."""
    return torch.tensor([[int(x) for x in data.sample_stream_window(stream, L, rng)] for _ in range(n)],
                        dtype=torch.long).reshape(n, L)


class Batches(torch.utils.data.IterableDataset):
    """Endless training batches built in DataLoader worker processes.

    Rows cost 1-10 ms of Python each, so a GPU step of tens of rows needs several processes: each
    worker has its own Sampler seeded with (seed, worker id). A batch is the Sampler's
    (ids, masked, weight) plus the causal rows (ar_ids; 0 rows when --ar-rows is 0).
    """

    def __init__(self, tok, stream, files, texts, a):
        self.args = (tok, stream, files, texts)
        self.a = a

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        wid = info.id if info is not None else 0
        tok, stream, files, texts = self.args
        a = self.a
        rng = random.Random(a.seed * 1000003 + 7919 * (wid + 1))
        sampler = train_sampler(tok, stream, files, texts, a, rng)
        while True:
            ids, m, w = sampler.batch(a.batch)
            yield ids, m, w, ar_rows(stream, a.ar_rows, a.seq, rng)


def ar_loss_fn(net, ids):
    """Causal next-token loss on whole rows, with the same weights and logit shift.

    The hidden state at p-1 scores the token at p, exactly as in the masked-diffusion loss, but
    attention is causal and every position is scored. Dream itself starts from an autoregressive
    model (Qwen2.5) for this reason: next-token prediction scores every position, so it teaches a
    small model the language far faster per FLOP than masked diffusion, where only the masked
    share of a row is scored (GPT-BERT, BabyLM 2024, trains one network on both).
    """
    dev = next(net.parameters()).device
    ids = ids.to(dev)
    n = ids.shape[1]
    bias = torch.full((n, n), float("-inf"), device=dev).triu(1)
    if dev.type == "cuda":
        with torch.autocast("cuda", dtype=torch.bfloat16):
            h = net.hidden(ids, attn_bias=bias)
            logits = net.lm_head(h[:, :-1])
    else:
        h = net.hidden(ids, attn_bias=bias)
        logits = net.lm_head(h[:, :-1])
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), ids[:, 1:].reshape(-1))


def loss_fn(net, ids, m, w, mask_id, weighting="inv_t"):
    """Masked-diffusion loss with the logit shift: hidden at p-1 scores the token at p.

    weighting "inv_t": the ELBO estimate, sum over masked slots of CE / t, per row length;
    "none": the plain mean CE over all masked slots of the batch (lower variance).
    """
    dev = next(net.parameters()).device
    ids, m, w = ids.to(dev), m.to(dev), w.to(dev)
    x = ids.masked_fill(m, mask_id)
    if dev.type == "cuda":
        with torch.autocast("cuda", dtype=torch.bfloat16):
            h = net.hidden(x)
    else:
        h = net.hidden(x)
    b, p = m.nonzero(as_tuple=True)
    logits = net.lm_head(h[b, p - 1])
    ce = F.cross_entropy(logits.float(), ids[b, p], reduction="none")
    if weighting == "none":
        loss = ce.mean()
    else:
        loss = (ce * w[b]).sum() / ids.shape[0]
    acc = (logits.argmax(-1) == ids[b, p]).float().mean()
    return loss, ce.mean(), acc


# ---- main --------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=os.path.join(HERE, "work", "model"), help="exported HF directory")
    ap.add_argument("--work", default=os.path.join(HERE, "work"))
    ap.add_argument("--langs", default="go,gomod", help="comma list of go, gomod, py")
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--ffn", type=int, default=704)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--max-pos", type=int, default=0,
                    help="max_position_embeddings to record if larger than --seq (e.g. 512 when continuing "
                         "a 512-token model on shorter rows; RoPE has no learned positions)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--infill-frac", type=float, default=0.5)
    ap.add_argument("--multi-frac", type=float, default=0.0,
                    help="share of the infill rows that carry several holes (multi_infill_row)")
    ap.add_argument("--pad-prob", type=float, default=0.6,
                    help="share of infill middles followed by EOS pads (the rest get none)")
    ap.add_argument("--pad-max", type=int, default=32,
                    help="at most this many EOS pads after a middle (also capped by 32/16 and the middle's length)")
    ap.add_argument("--multi-q-max", type=float, default=0.3,
                    help="multi-hole rows: each non-blank line starts a hole with probability q ~ U(0.05, this)")
    ap.add_argument("--ar-rows", type=int, default=0,
                    help="per step, this many extra rows of causal next-token loss on the packed stream "
                         "(ar_loss_fn), added to the masked-diffusion loss with weight --ar-weight")
    ap.add_argument("--ar-weight", type=float, default=1.0)
    ap.add_argument("--space-indent-prob", type=float, default=0.0,
                    help="share of infill rows whose file is re-indented with 4 spaces per leading tab")
    ap.add_argument("--eps", type=float, default=0.02)
    ap.add_argument("--weighting", choices=["inv_t", "none"], default="inv_t",
                    help="loss weighting of masked slots (see loss_fn)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workers", type=int, default=0,
                    help="build batches in this many DataLoader worker processes (0: in the training process, "
                         "the reproducible CPU path)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                    help="cpu or cuda (bf16 autocast); data is built on the CPU in this process")
    ap.add_argument("--max-minutes", type=float, default=0, help="stop early (and export) after this long")
    ap.add_argument("--time-schedule", action="store_true",
                    help="decay the learning rate over --max-minutes of wall time instead of --steps "
                         "(for a fixed time budget; not bit-reproducible)")
    ap.add_argument("--ckpt-minutes", type=float, default=5)
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--init", help="start from this checkpoint's weights (fresh optimizer and schedule), "
                                   "e.g. to extend the context with a larger --seq")
    ap.add_argument("--prepare-only", action="store_true")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    os.makedirs(a.work, exist_ok=True)
    random.seed(a.seed)
    np.random.seed(a.seed)
    torch.manual_seed(a.seed)
    tok, stream, files, texts = prepare(a)
    if a.prepare_only:
        return

    c = M.Config(vocab_size=tok.size, hidden_size=a.hidden, intermediate_size=a.ffn,
                 num_hidden_layers=a.layers, num_attention_heads=a.heads, num_key_value_heads=a.kv_heads,
                 max_position_embeddings=max(a.seq, a.max_pos), mask_token_id=tok.mask, eos_token_id=tok.eot,
                 pad_token_id=tok.eot, bos_token_id=tok.eot)
    net = M.Dream(c)
    gen = torch.Generator().manual_seed(a.seed)
    net.init_weights(gen)
    net.to(a.device)
    nparams = sum(p.numel() for p in net.parameters())
    log(f"model: {nparams / 1e6:.2f}M params, {c.to_dict()}")

    decay = [p for n, p in net.named_parameters() if p.dim() >= 2]
    nodecay = [p for n, p in net.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": nodecay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.95), eps=1e-8)
    rng = random.Random(a.seed)
    sampler = train_sampler(tok, stream, files, texts, a, rng)
    # A fixed held-out batch (its own seed) to track generalisation.
    ev = Sampler(tok, stream, files, texts, a.seq, 1.0, a.eps, random.Random(12345), split="heldout")
    ev_batches = [ev.batch(16) for _ in range(4)]

    ckpt_path = os.path.join(a.work, "ckpt.pt")
    step = 0
    if a.init:
        ck = torch.load(a.init, map_location="cpu")
        net.load_state_dict(ck["model"])
        log(f"initialised from {a.init} (step {ck['step']}, seq {ck['args']['seq']})")
    if a.resume and os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path, map_location="cpu")
        net.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step = ck["step"]
        rng.setstate(ck["rng"])
        log(f"resumed at step {step}")

    def save(tag):
        ck = {"model": net.state_dict(), "opt": opt.state_dict(), "step": step, "rng": rng.getstate(),
              "config": c.to_dict(), "args": vars(a),
              "tokenizer": os.path.join(a.work, f"prep-{'+'.join(sorted(a.langs.split(',')))}-v{a.vocab}",
                                        "tokenizer.json")}
        torch.save(ck, ckpt_path + ".tmp")
        os.replace(ckpt_path + ".tmp", ckpt_path)
        log(f"checkpoint {tag} step {step}")

    def evaluate():
        net.eval()
        with torch.no_grad():
            ls, accs = [], []
            for ids, m, w in ev_batches:
                _, ce, acc = loss_fn(net, ids, m, w, c.mask_token_id)
                ls.append(ce.item())
                accs.append(acc.item())
        net.train()
        return sum(ls) / len(ls), sum(accs) / len(accs)

    loader = None
    if a.workers > 0:
        loader = iter(torch.utils.data.DataLoader(Batches(tok, stream, files, texts, a), batch_size=None,
                                                  num_workers=a.workers, prefetch_factor=4, persistent_workers=True,
                                                  pin_memory=a.device.startswith("cuda")))
    t0 = time.time()
    last_ckpt = t0
    tokens = 0
    ema = None
    ar_ema = None
    net.train()
    while step < a.steps:
        prog = step / a.steps
        if a.time_schedule and a.max_minutes:
            prog = min(1.0, (time.time() - t0) / (a.max_minutes * 60))
        lr = a.lr * min(1.0, (step + 1) / a.warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * prog)))
        for g in opt.param_groups:
            g["lr"] = lr
        if loader is not None:
            ids, m, w, ar_ids = next(loader)
        else:
            ids, m, w = sampler.batch(a.batch)
            ar_ids = None
            if a.ar_rows:
                ar_ids = ar_rows(stream, a.ar_rows, a.seq, rng)
        loss, ce, acc = loss_fn(net, ids, m, w, c.mask_token_id, a.weighting)
        ar_ce = None
        if a.ar_rows:
            ar_ce = ar_loss_fn(net, ar_ids)
            loss = loss + a.ar_weight * ar_ce
            tokens += ar_ids.numel()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        step += 1
        tokens += ids.numel()
        ema = ce.item() if ema is None else 0.98 * ema + 0.02 * ce.item()
        if ar_ce is not None:
            ar_ema = ar_ce.item() if ar_ema is None else 0.98 * ar_ema + 0.02 * ar_ce.item()
        el = time.time() - t0
        if step % 10 == 0:
            log(f"step {step} lr {lr:.2e} loss {loss.item():.3f} ce(ema) {ema:.3f} acc {acc.item():.3f} "
                + (f"ar ce(ema) {ar_ema:.3f} " if ar_ema is not None else "")
                + f"{tokens / el:.0f} tok/s {el / 60:.1f} min")
        if step % a.eval_every == 0 or step == a.steps:
            el_loss, el_acc = evaluate()
            log(f"eval step {step}: heldout infill CE {el_loss:.3f} masked acc {el_acc:.3f}")
        if time.time() - last_ckpt > a.ckpt_minutes * 60:
            save("periodic")
            export.export(net, tok, a.out)
            last_ckpt = time.time()
        if a.max_minutes and time.time() - t0 > a.max_minutes * 60:
            log(f"time cap {a.max_minutes} min reached at step {step}")
            break
    save("final")
    files_out = export.export(net, tok, a.out)
    log(f"exported {a.out}: {files_out}")


if __name__ == "__main__":
    main()
