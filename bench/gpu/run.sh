#!/usr/bin/env bash
# bench/gpu/run.sh: the one prepared script for the GPU machine (issue #5).
#
# Checks and times the CUDA backend and the PyTorch reference side by side
# on the same card, in one call, writing results under $OUT:
#   env.txt          GPU, driver, CUDA libraries, Python packages
#   doctor.json      dream-lsp doctor --json --open (libraries, GPU, kernel compile)
#   go.log           CUDA backend tests (conformance, golden traces, bf16 vs f32, cached step)
#                    and the Go timing report's log
#   go_report.json   Go timings (CUDA events / wall), infill tokens
#   torch.log, torch_report.json   PyTorch reference timings and correctness checks
#   summary.md       the side-by-side table with the issue's targets
# Build first on the development machine: bash bench/gpu/prepare.sh
# (binaries in .devcarry/, carried with the call).
#
# DRY_RUN=1 prints what would run and checks the prepared files, without a GPU.
# QUICK=1 shrinks the model to 4 layers (a smoke test of the whole script).
# Step timeouts add up to ~9.5 minutes: call the device tool with timeout_s 600
# (a normal run takes a few minutes; files under $OUT come back even when cut).
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
OUT=${OUT:-$ROOT/.devcarry/out}
CARRY=${CARRY:-$ROOT/.devcarry}
BIN=$CARRY/bin
DRY_RUN=${DRY_RUN:-0}
QUICK=${QUICK:-0}
PY=${PYTHON:-python3}
mkdir -p "$OUT"
export DREAM_LSP_SHARED=$CARRY/shared
export DREAM_CUDA_CACHE=${DREAM_CUDA_CACHE:-/tmp/dream-cuda-cache}
export PYTHONUNBUFFERED=1
LAYERS_ENV=""
LAYERS_ARG=""
if [ "$QUICK" = 1 ]; then LAYERS_ENV="DREAM_GPU_LAYERS=4"; LAYERS_ARG="--layers 4"; fi

status=0
step() { # step NAME COMMAND...: run (or print) one step, keep going on failure
	local name=$1
	shift
	echo "=== $name: $*"
	if [ "$DRY_RUN" = 1 ]; then return 0; fi
	local t0=$SECONDS
	bash -c "$*"
	local rc=$?
	echo "=== $name: rc=$rc in $((SECONDS - t0)) s"
	if [ $rc -ne 0 ]; then status=1; fi
	return 0
}

if [ "$DRY_RUN" = 1 ]; then
	echo "DRY_RUN: checking prepared files"
	for f in "$BIN/cuda.test" "$BIN/dream-lsp" "$CARRY/shared/golden/models/tiny-gqa/config.json" bench/gpu/dream_ref.py bench/gpu/compare.py; do
		if [ -e "$f" ]; then echo "  ok      $f"; else echo "  MISSING $f (run bench/gpu/prepare.sh)"; status=1; fi
	done
fi

step env "{ date -u; nvidia-smi; nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv;
  ldconfig -p | grep -E 'libcuda\\.|libnvrtc|libcublasLt' ; ls -l /usr/local/cuda/lib64/libnvrtc* /usr/local/cuda/lib64/libcublasLt* 2>&1;
  $PY -c 'import torch, sys; print(sys.version); print(\"torch\", torch.__version__, torch.version.cuda, torch.cuda.get_device_name(0))';
  nproc; free -g; } > '$OUT/env.txt' 2>&1"
step doctor "timeout 60 '$BIN/dream-lsp' doctor --json --open > '$OUT/doctor.json' 2>> '$OUT/go.log'; '$BIN/dream-lsp' doctor --open >> '$OUT/go.log' 2>&1"
# Correctness: conformance suite, golden traces (float32), bf16 vs float32,
# cached step vs full forward, sampling. Run from the package directory
# (a test reads the package's sources).
step go-tests "cd runtime/backend/cuda && timeout 150 '$BIN/cuda.test' -test.v -test.count=1 -test.timeout=140s \
  -test.run 'TestOpenWithoutGPU|TestProbe|TestLaunchedKernelsExist|TestConformance|TestGoldenTracesCUDA|TestBF16MatchesFloat32|TestCachedStepMatchesFullForward|TestBatchedCanvasesMatchSingle|TestSamplingDeterministic|TestEngineFastPathCUDA' >> '$OUT/go.log' 2>&1"
# The engine's fast path end to end (issue #15): dream-lsp infill with the built-in model on the GPU
# must log path=cuda-bf16 (BF16Model behind engine.Denoise); the CPU run beside it for the tokens.
step engine-path "for d in cuda cpu; do timeout 60 '$BIN/dream-lsp' infill --device \$d --debug --json testdata/examples/fib.go:5:9 \
  > '$OUT/infill_'\$d'.json' 2> '$OUT/infill_'\$d'.log'; grep -E 'path=|fast path|GPU' '$OUT/infill_'\$d'.log' | head -5; done; grep -q 'path=cuda-bf16' '$OUT/infill_cuda.log'"
# Speed: the Go timing report at Dream 7B's shape (random weights), logits kept for the PyTorch comparison.
step go-report "cd runtime/backend/cuda && $LAYERS_ENV DREAM_GPU_REPORT='$OUT/go_report.json' DREAM_GPU_LOGITS=/tmp/go_logits.f32 \
  timeout 180 '$BIN/cuda.test' -test.v -test.count=1 -test.timeout=170s -test.run '^TestGPUReport\$' >> '$OUT/go.log' 2>&1"
# The PyTorch reference on the same card, same weights (rebuilt from the same hash), same canvas.
GO_ARG=""
if [ "$DRY_RUN" = 1 ] || [ -s "$OUT/go_report.json" ]; then GO_ARG="--go-report '$OUT/go_report.json'"; fi
step torch "timeout 200 $PY bench/gpu/dream_ref.py $GO_ARG $LAYERS_ARG --out '$OUT/torch_report.json' > '$OUT/torch.log' 2>&1"
step summary "$PY bench/gpu/compare.py '$OUT/go_report.json' '$OUT/torch_report.json' > '$OUT/summary.md' 2>&1; cat '$OUT/summary.md'"
if [ "$DRY_RUN" != 1 ]; then
	echo "--- go.log (tail)"; grep -E '^(=== RUN|--- (PASS|FAIL|SKIP)|PASS|FAIL|ok)|relative error|agree|Error|error' "$OUT/go.log" | tail -60
	# A device call brings back at most 8 files: everything goes into
	# results.tgz, and summary.md and go.log stay beside it to read first.
	(cd "$OUT" && tar czf /tmp/dream-gpu-results.tgz --exclude results.tgz . && mv /tmp/dream-gpu-results.tgz results.tgz &&
		find . -maxdepth 1 -type f ! -name results.tgz ! -name summary.md ! -name go.log -delete)
fi
exit $status
