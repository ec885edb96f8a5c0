#!/usr/bin/env bash
# bench/gpu/prepare.sh: build, on the development machine, everything
# bench/gpu/run.sh needs on the GPU machine (which has no Go toolchain),
# into .devcarry/ (git-ignored). Then call the device tool with
#   carry: [".devcarry"]   command: "bash bench/gpu/run.sh"
# Sizes: ~9 MB test binary + ~11 MB dream-lsp + 17 MB golden models, well
# under the 64 MiB a call may carry.
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
rm -rf "$DEST/shared/golden"
mkdir -p "$DEST/shared/golden"
cp -r "$SHARED/golden/models" "$DEST/shared/golden/"
du -sh "$DEST"/bin/* "$DEST/shared"
echo "ready: carry [\"$DEST\"] and run: bash bench/gpu/run.sh"
