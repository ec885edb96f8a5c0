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
# GOLDEN_MODELS picks the models. tiny-qwen-vocab (15 MB) is left out by default: with
# it the carried tree (binaries ~46 MB, working tree ~15 MB) is over the 64 MiB a device
# call takes (2026-12-04); its trace test then skips, saying so.
GOLDEN_MODELS=${GOLDEN_MODELS:-"tiny-gqa tiny-mha-sharded"}
rm -rf "$DEST/shared/golden"
mkdir -p "$DEST/shared/golden/models"
for m in $GOLDEN_MODELS; do cp -r "$SHARED/golden/models/$m" "$DEST/shared/golden/models/"; done
du -sh "$DEST"/bin/* "$DEST/shared"
carry=$(du -sb "$DEST" | cut -f1)
tree=$(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
echo "carried with the working tree: $(((carry + tree) / 1048576)) MiB of the 64 a device call takes"
if [ $((carry + tree)) -gt $((64 * 1048576)) ]; then echo "prepare: over the 64 MiB limit: drop a golden model (GOLDEN_MODELS)" >&2; exit 1; fi
echo "ready: carry [\"$DEST\"] and run: bash bench/gpu/run.sh"
