#!/usr/bin/env bash
# The GPU training run of issue #7, in one device call (see prepare.sh): trains the built-in model
# for MINUTES (default 7) on the carried corpus, exports it in the Hugging Face layout (shards of
# at most 16 MiB) to $OUT/model, and measures the held-out single-line exact match (docs/MODEL.md,
# 300 holes) into $OUT/evalline.log. $OUT gets at most 8 files: the model's 6 and the two logs.
# DRY_RUN=1 runs the same pipeline on this machine's CPU with a tiny model for a few seconds.
set -uo pipefail
cd "$(dirname "$0")/../.."
W=.devcarry-train/work
[ -f "$W/prep-go+gomod-v4096/done" ] || { echo "no packed corpus: run bash train/gpu/prepare.sh first" >&2; exit 2; }
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=4
py=${PYTHON:-python3}
if [ -n "${DRY_RUN:-}" ]; then
  OUT=${OUT:-$(mktemp -d)}
  py=${PYTHON:-/usr/bin/python3}
  size=(--hidden 64 --layers 2 --heads 2 --kv-heads 1 --ffn 128 --batch 4 --ar-rows 2)
  run=(--device cpu --workers 2 --threads 1 --max-minutes "${MINUTES:-0.3}" --eval-every 20)
  evalargs=(--n 5 --device cpu --threads 1)
else
  OUT=${OUT:?OUT is the output folder of the device call}
  # 15.7M parameters (31 MB in bf16): hidden 384, 8 layers, 6 heads of 64 over 2 K/V heads.
  size=(--hidden 384 --layers 8 --heads 6 --kv-heads 2 --ffn 1024 --batch 64 --ar-rows 32)
  run=(--device cuda --workers 12 --threads 4 --max-minutes "${MINUTES:-7}" --eval-every 500)
  evalargs=(--n 300 --device cuda --threads 4)
fi
mkdir -p "$OUT/model"
{ date -u; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1; "$py" -c 'import torch; print("torch", torch.__version__, torch.cuda.is_available())'; nproc; } > "$OUT/train.log" 2>&1
"$py" train/train.py --work "$W" --langs go,gomod --vocab 4096 "${size[@]}" "${run[@]}" \
  --seq 256 --infill-frac 0.8 --multi-frac 0.75 --multi-q-max 0.6 --pad-prob 0.3 --pad-max 3 --space-indent-prob 0.25 \
  --weighting none --lr 2e-3 --warmup 200 --steps 1000000 --time-schedule --ckpt-minutes 1000 \
  --seed 11 --out "$OUT/model" >> "$OUT/train.log" 2>&1
rc=$?
tail -n 5 "$OUT/train.log"
[ $rc -eq 0 ] || { echo "training failed (rc $rc); see train.log" >&2; exit $rc; }
"$py" train/evalline.py --model "$OUT/model" --files "$W/prep-go+gomod-v4096/files.json" "${evalargs[@]}" \
  --show 10 > "$OUT/evalline.log" 2>&1
tail -n 3 "$OUT/evalline.log"
ls -la "$OUT" "$OUT/model"
