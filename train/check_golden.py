"""Check train/model.py against the float64 golden logits in ../shared/golden/models.

Usage: /usr/bin/python3 train/check_golden.py [../shared/golden/models/tiny-gqa ...]
Exits non-zero if the shifted logits differ by more than 1e-3 (float32 vs float64 reference).
"""

import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model as M  # noqa: E402
import st  # noqa: E402


def load_dir(d):
    cfg = json.load(open(os.path.join(d, "config.json")))
    c = M.Config.from_dict(cfg)
    net = M.Dream(c)
    idx = os.path.join(d, "model.safetensors.index.json")
    tensors = {}
    if os.path.exists(idx):
        for f in sorted(set(json.load(open(idx))["weight_map"].values())):
            tensors.update(st.load(os.path.join(d, f)))
    else:
        tensors = st.load(os.path.join(d, "model.safetensors"))
    tensors = {k: v.float() for k, v in tensors.items()}
    missing, unexpected = net.load_state_dict(tensors, strict=False)
    if missing or unexpected:
        raise SystemExit(f"{d}: missing {missing} unexpected {unexpected}")
    return net.eval()


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    dirs = sys.argv[1:] or [os.path.join(here, "..", "..", "shared", "golden", "models", n)
                            for n in ("tiny-gqa", "tiny-mha-sharded")]
    worst = 0.0
    for d in dirs:
        net = load_dir(d)
        g = json.load(open(os.path.join(d, "golden.json")))
        want = st.load(os.path.join(d, "golden_logits.safetensors"))
        for case in g["forward"]:
            ids = torch.tensor([case["input_ids"]])
            with torch.no_grad():
                got = net.shifted_logits(ids)[0]
            diff = (got - want[case["logits_tensor"]].float()).abs().max().item()
            worst = max(worst, diff)
            print(f"{os.path.basename(d)} {case['name']}: max abs diff {diff:.2e}")
    if worst > 1e-3:
        raise SystemExit(f"FAIL: worst diff {worst}")
    print("OK")


if __name__ == "__main__":
    main()
