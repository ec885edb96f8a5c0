"""Byte-level BPE with the Qwen2 pre-tokenizer: training, encoding, tokenizer.json export.

The encoding pipeline is the one of ../shared/docs/dream-model.md §6.1: NFC, the Qwen2 split
regex (Isolated), GPT-2 byte-to-unicode map, rank-ordered merges. Added tokens are never
recognised in document text (plain mode); the pipeline inserts them by id.
"""

import heapq
import json
import unicodedata
from collections import Counter

import regex

QWEN_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
                r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
PAT = regex.compile(QWEN_PATTERN)

EOT = "<|endoftext|>"
BOT = "<|beginoftext|>"
MASK = "<|mask|>"
ADDED = [EOT, BOT, MASK]  # appended after the BPE vocabulary, in this order


def bytes_to_unicode():
    """GPT-2's reversible byte -> printable character map; list order is the base vocab order."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [(b, chr(c)) for b, c in zip(bs, cs)]


B2U_LIST = bytes_to_unicode()
B2U = dict(B2U_LIST)
U2B = {c: b for b, c in B2U_LIST}


def pretokens(text):
    """NFC + Qwen regex split + byte-level mapping: the strings BPE runs on."""
    text = unicodedata.normalize("NFC", text)
    return ["".join(B2U[b] for b in m.encode("utf-8")) for m in PAT.findall(text)]


def train(word_counts, vocab_size, log=None):
    """Learn merges until the BPE vocabulary (256 bytes + merged symbols) has vocab_size entries.

    word_counts: {pretoken string: count}. Ties between equal counts break on the smaller pair
    (lexicographic), so the result is deterministic.
    """
    vocab = [c for _, c in B2U_LIST]
    known = set(vocab)
    words = [list(w) for w in word_counts]
    freqs = list(word_counts.values())
    pair_count = Counter()
    where = {}
    for i, w in enumerate(words):
        f = freqs[i]
        for a, b in zip(w, w[1:]):
            pair_count[(a, b)] += f
            where.setdefault((a, b), set()).add(i)
    heap = [(-c, p) for p, c in pair_count.items()]
    heapq.heapify(heap)
    merges = []
    while len(vocab) < vocab_size and heap:
        negc, pair = heapq.heappop(heap)
        if pair_count.get(pair, 0) != -negc or negc == 0:
            continue
        a, b = pair
        new = a + b
        merges.append(pair)
        if new not in known:
            known.add(new)
            vocab.append(new)
        touched = set()
        for i in list(where.get(pair, ())):
            w = words[i]
            f = freqs[i]
            for x, y in zip(w, w[1:]):
                pair_count[(x, y)] -= f
                touched.add((x, y))
                s = where.get((x, y))
                if s is not None:
                    s.discard(i)
            out = []
            j = 0
            while j < len(w):
                if j + 1 < len(w) and w[j] == a and w[j + 1] == b:
                    out.append(new)
                    j += 2
                else:
                    out.append(w[j])
                    j += 1
            words[i] = out
            for x, y in zip(out, out[1:]):
                pair_count[(x, y)] += f
                touched.add((x, y))
                where.setdefault((x, y), set()).add(i)
        for p in touched:
            c = pair_count.get(p, 0)
            if c > 0:
                heapq.heappush(heap, (-c, p))
            else:
                pair_count.pop(p, None)
        if log and len(merges) % 500 == 0:
            log(f"bpe: {len(merges)} merges, vocab {len(vocab)}")
    return vocab, merges


class Tokenizer:
    """Encoder/decoder over a vocab list (id = index) + merges, with ADDED appended."""

    def __init__(self, vocab, merges):
        self.vocab = list(vocab)
        self.merges = [tuple(m) for m in merges]
        self.ranks = {m: i for i, m in enumerate(self.merges)}
        self.ids = {t: i for i, t in enumerate(self.vocab)}
        n = len(self.vocab)
        self.added = {t: n + i for i, t in enumerate(ADDED)}
        self.eot = self.added[EOT]
        self.bot = self.added[BOT]
        self.mask = self.added[MASK]
        self.size = n + len(ADDED)
        self.cache = {}

    def bpe(self, word):
        r = self.cache.get(word)
        if r is not None:
            return r
        syms = list(word)
        ranks = self.ranks
        while len(syms) > 1:
            best = None
            br = None
            for p in zip(syms, syms[1:]):
                rk = ranks.get(p)
                if rk is not None and (br is None or rk < br):
                    br, best = rk, p
            if best is None:
                break
            a, b = best
            out = []
            j = 0
            while j < len(syms):
                if j + 1 < len(syms) and syms[j] == a and syms[j + 1] == b:
                    out.append(a + b)
                    j += 2
                else:
                    out.append(syms[j])
                    j += 1
            syms = out
        r = [self.ids[s] for s in syms]
        if len(self.cache) < 2_000_000:
            self.cache[word] = r
        return r

    def encode(self, text):
        """Plain mode: special-token text is ordinary text."""
        out = []
        for w in pretokens(text):
            out.extend(self.bpe(w))
        return out

    def decode(self, ids, skip_special=True):
        parts = []
        buf = []
        added = {v: k for k, v in self.added.items()}
        for i in ids:
            if i in added:
                if buf:
                    parts.append(bytes(buf).decode("utf-8", errors="replace"))
                    buf = []
                if not skip_special:
                    parts.append(added[i])
            else:
                buf.extend(U2B[c] for c in self.vocab[i])
        if buf:
            parts.append(bytes(buf).decode("utf-8", errors="replace"))
        return "".join(parts)

    def to_hf_json(self):
        """tokenizer.json in the Hugging Face `tokenizers` layout (same shape as Qwen2.5's)."""
        added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                  "normalized": False, "special": True} for t, i in self.added.items()]
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": added,
            "normalizer": {"type": "NFC"},
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": QWEN_PATTERN}, "behavior": "Isolated", "invert": False},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
            "post_processor": None,
            "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
            "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                      "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                      "ignore_merges": False,
                      "vocab": {t: i for i, t in enumerate(self.vocab)},
                      "merges": [[a, b] for a, b in self.merges]},
        }

    def save(self, path):
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_hf_json(), f, ensure_ascii=False)

    @classmethod
    def load(cls, path):
        d = json.load(open(path, encoding="utf-8"))
        m = d["model"]
        vocab = [None] * len(m["vocab"])
        for t, i in m["vocab"].items():
            vocab[i] = t
        merges = [tuple(x) if isinstance(x, list) else tuple(x.split(" ", 1)) for x in m["merges"]]
        tok = cls(vocab, merges)
        for a in d["added_tokens"]:
            if tok.added.get(a["content"]) != a["id"]:
                raise ValueError(f"{path}: added token {a['content']} id {a['id']} unexpected")
        return tok
