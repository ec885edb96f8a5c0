"""Decontamination record (../shared/docs/evals.md §8): overlap between the training corpus and the
evaluation sets. The evaluation files are read here only to check for overlap; they never enter
training (data.py never walks a directory named "eval").

Checks, over the corpus files listed in files.json (both splits):
  1. exact: each canonical solution / prompt with all whitespace removed, searched as a substring
     of the whitespace-free corpus (solutions of >= 40 non-space characters only);
  2. n-gram: 13-grams of code tokens (\\w+ or single punctuation) shared between any evaluation
     item (prompt + solution) and the corpus.
Prints counts and writes them to --out (JSON).

Usage: /usr/bin/python3 train/decontam.py [--eval ../shared/eval] [--out train/work/decontam.json]
"""

import argparse
import gzip
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402

TOK = re.compile(r"\w+|[^\s\w]")
N = 13


def items(eval_dir):
    """(set name, task id, [texts]) for every evaluation item."""
    for root, _, files in os.walk(eval_dir):
        for f in sorted(files):
            if not f.endswith(".jsonl.gz") and not f.endswith(".jsonl"):
                continue
            op = gzip.open if f.endswith(".gz") else open
            with op(os.path.join(root, f), "rt", encoding="utf-8") as fh:
                for line in fh:
                    if not line.strip():
                        continue
                    d = json.loads(line)
                    texts = [d.get(k) for k in ("prompt", "canonical_solution", "suffix", "declaration", "test")]
                    yield f, d.get("task_id", "?"), [t for t in texts if isinstance(t, str) and t]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--eval", default=os.path.join(here, "..", "..", "shared", "eval"))
    ap.add_argument("--files", default=os.path.join(here, "work", "prep-go+gomod-v4096", "files.json"))
    ap.add_argument("--out", default=os.path.join(here, "work", "decontam.json"))
    a = ap.parse_args()
    grams = {}
    solutions = []
    nitems = 0
    for setname, tid, texts in items(a.eval):
        nitems += 1
        for t in texts:
            toks = TOK.findall(t)
            for i in range(len(toks) - N + 1):
                grams.setdefault(hash(tuple(toks[i:i + N])), set()).add((setname, tid))
        if len(texts) > 1:
            sol = re.sub(r"\s+", "", texts[1])
            if len(sol) >= 40:
                solutions.append((setname, tid, sol))
    files = json.load(open(a.files))
    hit_files = {}
    hit_items = set()
    exact = set()
    for f in files:
        text = data._read(f["path"])
        if not text:
            continue
        flat = re.sub(r"\s+", "", text)
        for setname, tid, sol in solutions:
            if sol in flat:
                exact.add((setname, tid, f["path"]))
        toks = TOK.findall(text)
        for i in range(len(toks) - N + 1):
            h = hash(tuple(toks[i:i + N]))
            if h in grams:
                hit_files[f["path"]] = hit_files.get(f["path"], 0) + 1
                hit_items.update(grams[h])
    res = {"eval_items": nitems, "corpus_files": len(files), "ngram": N,
           "files_with_shared_ngrams": len(hit_files), "items_with_shared_ngrams": len(hit_items),
           "exact_solution_matches": len(exact),
           "examples": sorted(hit_files.items(), key=lambda kv: -kv[1])[:10],
           "items": sorted("%s:%s" % x for x in hit_items)[:50]}
    json.dump(res, open(a.out, "w"), indent=1)
    print(json.dumps({k: v for k, v in res.items() if k not in ("items",)}, indent=1))


if __name__ == "__main__":
    main()
