"""Corpus: permissively licensed code on this machine, split by file hash, plus example builders.

Sources (see docs/MODEL.md):
  go      Go standard library ($(go env GOROOT)/src, BSD-3-Clause), *.go outside testdata/
  gomod   modules in $(go env GOMODCACHE) whose LICENSE is MIT, BSD, Apache-2.0 or ISC
  py      CPython standard library (/usr/lib/python3.11, PSF-2.0), *.py outside test dirs
Nothing under any directory named "eval" (the project's evaluation sets) is ever read.
"""

import gzip
import hashlib
import json
import os
import random
import subprocess

MAX_FILE_BYTES = 200_000
HELDOUT_PERCENT = 2  # files whose sha256 (of content) maps to 0..1 mod 100 are held out


def _go_env(name):
    try:
        return subprocess.run(["go", "env", name], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def classify_licence(text):
    """A short SPDX-like name for a LICENSE text, or None if not a permissive licence we accept."""
    t = " ".join(text.split()).lower()
    if "apache license" in t and "version 2.0" in t:
        return "Apache-2.0"
    if "permission is hereby granted, free of charge" in t:
        return "MIT"
    if "redistribution and use in source and binary forms" in t:
        return "BSD"
    if "permission to use, copy, modify, and/or distribute this software" in t:
        return "ISC"
    return None


def _generated(head):
    return "Code generated" in head and "DO NOT EDIT" in head


def _walk(root, ext, skip_dirs):
    for d, dirs, files in os.walk(root):
        dirs[:] = sorted(x for x in dirs if x not in skip_dirs and not x.startswith(".") and x != "eval")
        for f in sorted(files):
            if f.endswith(ext):
                yield os.path.join(d, f)


def _read(path):
    try:
        if os.path.getsize(path) > MAX_FILE_BYTES or os.path.islink(path):
            return None
        with open(path, "rb") as fh:
            b = fh.read()
        s = b.decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if "\x00" in s or _generated(s[:3000]):
        return None
    return s


def collect(langs, log=print):
    """[(source, licence, path, text)] sorted by path, deduplicated by content."""
    out = []
    seen = set()

    def add(src, lic, path):
        s = _read(path)
        if s is None or not s.strip():
            return
        h = hashlib.sha256(s.encode()).hexdigest()
        if h in seen:
            return
        seen.add(h)
        out.append((src, lic, path, s))

    if "go" in langs:
        goroot = _go_env("GOROOT") or "/usr/local/go"
        for p in _walk(os.path.join(goroot, "src"), ".go", {"testdata", "vendor"}):
            add("go-stdlib", "BSD-3-Clause", p)
    if "gomod" in langs:
        modcache = _go_env("GOMODCACHE")
        if modcache and os.path.isdir(modcache):
            for d, dirs, files in os.walk(modcache):
                dirs[:] = sorted(x for x in dirs if x != "cache")
                base = os.path.basename(d)
                if "@" not in base:
                    continue
                dirs[:] = []  # a module root: do not descend as another module
                lic = None
                for f in sorted(files):
                    if f.upper().startswith(("LICENSE", "LICENCE", "COPYING")):
                        try:
                            lic = classify_licence(open(os.path.join(d, f), errors="replace").read())
                        except OSError:
                            lic = None
                        break
                if lic is None:
                    log(f"skip module {d}: no accepted licence")
                    continue
                for p in _walk(d, ".go", {"testdata", "vendor", "_examples"}):
                    add("go-module:" + os.path.relpath(d, modcache), lic, p)
    if "py" in langs:
        for p in _walk("/usr/lib/python3.11", ".py", {"test", "tests", "idlelib", "site-packages",
                                                       "dist-packages", "lib2to3"}):
            add("python-stdlib", "PSF-2.0", p)
    return out


def write_packed_texts(path, items):
    """Write (path, text) pairs as gzip JSON lines: the corpus's texts for a machine without the
    sources (train/gpu/prepare.sh)."""
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=9) as fh:
        for p, t in items:
            fh.write(json.dumps({"path": p, "text": t}, ensure_ascii=False) + "\n")


def read_packed_texts(path):
    """{path: text} from write_packed_texts's file."""
    texts = {}
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            texts[rec["path"]] = rec["text"]
    return texts


def is_heldout(text):
    h = hashlib.sha256(text.encode()).digest()
    return int.from_bytes(h[:8], "big") % 100 < HELDOUT_PERCENT


# ---- training examples -------------------------------------------------------------------------

def infill_cut(text, rng):
    """Choose a middle text[a:b] shaped like an editor completion.

    Kinds: the rest of one line from a random column, one whole line (after its indentation),
    or 2..6 whole lines. Returns (a, b) byte... character offsets, or None.
    """
    starts = [0]
    for i, ch in enumerate(text):
        if ch == "\n":
            starts.append(i + 1)
    nlines = len(starts)
    for _ in range(8):
        li = rng.randrange(nlines)
        ls = starts[li]
        le = text.find("\n", ls)
        if le < 0:
            le = len(text)
        line = text[ls:le]
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" \t"))
        r = rng.random()
        if r < 0.45:  # one whole line after its indentation
            a, b = ls + indent, le
        elif r < 0.75:  # rest of the line from a random column
            a = ls + indent + rng.randrange(max(1, len(line) - indent))
            b = le
        else:  # several whole lines
            k = rng.randint(2, 6)
            lj = min(nlines - 1, li + k - 1)
            b = text.find("\n", starts[lj])
            if b < 0:
                b = len(text)
            a = ls + (indent if rng.random() < 0.7 else 0)
        if b > a:
            return a, b
    return None


def sample_stream_window(stream, n, rng):
    """A random length-n window of the packed training token stream."""
    s = rng.randrange(0, len(stream) - n)
    return list(stream[s:s + n])
