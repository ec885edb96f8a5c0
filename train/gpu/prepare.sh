#!/usr/bin/env bash
# Pack the training corpus for a GPU machine (which has neither Go's sources nor a network) into
# .devcarry-train/ (ignored by git): tokenizer, file list with the held-out split, the token stream
# (compressed) and every file's text (gzip, JSON lines). Then one device call trains, exports and
# evaluates:
#
#   bash train/gpu/prepare.sh && DRY_RUN=1 bash train/gpu/run.sh      # here: checks the pipeline on the CPU
#   device run, carry [".devcarry-train"], timeout_s 600:  bash train/gpu/run.sh
#
# The corpus is built here first when missing (train/train.py --prepare-only; Debian python3-torch).
set -euo pipefail
cd "$(dirname "$0")/../.."
py=${PYTHON:-/usr/bin/python3}
key=prep-go+gomod-v4096
src=train/work/$key
if [ ! -f "$src/done" ]; then
  "$py" train/train.py --prepare-only --langs go,gomod --vocab 4096
fi
dst=.devcarry-train/work/$key
rm -rf .devcarry-train
mkdir -p "$dst"
cp "$src/tokenizer.json" "$src/done" "$dst/"
"$py" - "$src" "$dst" <<'PY'
import json, os, sys
import numpy as np
sys.path.insert(0, "train")
import data
src, dst = sys.argv[1], sys.argv[2]
files = json.load(open(os.path.join(src, "files.json")))
kept, items = [], []
for f in files:
    t = data._read(f["path"])
    if t is not None:
        kept.append(f)
        items.append((f["path"], t))
data.write_packed_texts(os.path.join(dst, "texts.jsonl.gz"), items)
json.dump(kept, open(os.path.join(dst, "files.json"), "w"), indent=0)
np.savez_compressed(os.path.join(dst, "stream.npz"), stream=np.load(os.path.join(src, "stream.npy")))
print(f"packed {len(kept)} of {len(files)} files")
PY
du -sh .devcarry-train
echo "ready: carry [\".devcarry-train\"] and run: bash train/gpu/run.sh"
