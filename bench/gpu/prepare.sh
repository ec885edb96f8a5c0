#!/usr/bin/env bash
# bench/gpu/prepare.sh: build, on the development machine, everything
# bench/gpu/run.sh needs on the GPU machine (which has no Go toolchain),
# into .devcarry/ (git-ignored). Then call the device tool with
#   carry: [".devcarry"]   command: "bash bench/gpu/run.sh"
# Sizes (2026-11-27): ~9 MB test binary + ~23 MB dream-lsp + 16 MB golden models,
# under the 64 MiB a call may carry together with the working tree (~4 MB).
set -euo pipefail
cd "$(dirname "$0")/../.."
DEST=${DEST:-.devcarry}
SHARED=${DREAM_LSP_SHARED:-../shared}
mkdir -p "$DEST/bin" "$DEST/shared"
# CUDA backend tests and the timing report: no cgo, purego reaches libcuda.
CGO_ENABLED=0 go test -c -o "$DEST/bin/cuda.test" ./runtime/backend/cuda
# The CLI for `dream-lsp doctor` (tree-sitter needs cgo; glibc 2.36 -> 2.39 is forward compatible).
go build -ldflags="-s -w" -o "$DEST/bin/dream-lsp" ./cmd/dream-lsp
# Golden tiny models for the float32 trace check (../shared does not travel).
# GOLDEN_MODELS picks the models (tiny-qwen-vocab is 15 MB of the 17: drop it if the
# carried tree nears the 64 MiB limit; its trace test then skips).
GOLDEN_MODELS=${GOLDEN_MODELS:-"tiny-gqa tiny-mha-sharded tiny-qwen-vocab"}
rm -rf "$DEST/shared/golden"
mkdir -p "$DEST/shared/golden/models"
for m in $GOLDEN_MODELS; do cp -r "$SHARED/golden/models/$m" "$DEST/shared/golden/models/"; done
du -sh "$DEST"/bin/* "$DEST/shared"
echo "ready: carry [\"$DEST\"] and run: bash bench/gpu/run.sh"
