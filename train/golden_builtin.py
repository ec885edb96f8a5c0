"""Write runtime/builtin/testdata/expect.json: what the Go runtime must reproduce for the built-in model.

For a few Go snippets written here (not from any evaluation set) it records the PyTorch results
of the exported (bf16-rounded) model: the plain-mode token ids, the canvas with one line masked,
the top shifted logits at each masked slot, and the greedy maskgit_plus denoise (steps = masks).

Usage: /usr/bin/python3 train/golden_builtin.py [--model runtime/builtin/model]
"""

import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import evalline  # noqa: E402
import export  # noqa: E402

SNIPPETS = [
    ("package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(\"hello, world\")\n}\n",
     "fmt.Println(\"hello, world\")"),
    ("func (s *Stack) Pop() (int, bool) {\n\tif len(s.items) == 0 {\n\t\treturn 0, false\n\t}\n"
     "\tv := s.items[len(s.items)-1]\n\ts.items = s.items[:len(s.items)-1]\n\treturn v, true\n}\n",
     "return 0, false"),
    ("func readAll(path string) ([]byte, error) {\n\tf, err := os.Open(path)\n\tif err != nil {\n"
     "\t\treturn nil, err\n\t}\n\tdefer f.Close()\n\treturn io.ReadAll(f)\n}\n",
     "if err != nil {"),
    ("// Ünïcode: 日本語 <|mask|> stays text\nvar s = \"héllo\"\n", "var s = \"héllo\""),
]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(here, "..", "runtime", "builtin", "model"))
    ap.add_argument("--out", default=os.path.join(here, "..", "runtime", "builtin", "testdata", "expect.json"))
    a = ap.parse_args()
    torch.set_num_threads(2)
    net, tok = export.load_dir(a.model)
    cases = []
    for text, line in SNIPPETS:
        s = text.index(line)
        e = s + len(line)
        ids, p0, mid = evalline.canvas(tok, text, s, e, net.config.max_position_embeddings, 64)
        with torch.no_grad():
            logits = net.shifted_logits(torch.tensor([ids]))[0]
        want = [p0 + i for i in range(len(mid))]
        top = []
        for p in want:
            v, i = logits[p].topk(5)
            top.append({"pos": p, "ids": i.tolist(), "logits": [round(x, 5) for x in v.tolist()]})
        out = evalline.denoise(net, ids, len(mid), tok.mask, "maskgit_plus")
        cases.append({"text": text, "plain_ids": tok.encode(text), "middle": line, "canvas": ids,
                      "middle_start": p0, "middle_ids": mid, "top_logits": top, "steps": len(mid),
                      "alg": "maskgit_plus", "denoised": out,
                      "denoised_text": tok.decode(out[p0:p0 + len(mid)])})
    doc = {"description": "PyTorch reference results for the embedded model (train/golden_builtin.py); "
                          "logits are shifted (row p scores the token at p), float32 from bf16 weights.",
           "cases": cases}
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")
    for c in cases:
        print(repr(c["middle"]), "->", repr(c["denoised_text"]))


if __name__ == "__main__":
    main()
