#!/usr/bin/env bash
# Fetch CUDA 11.8's NVRTC (Debian bookworm non-free: libnvrtc11.2 and libnvrtc-builtins11.8) into
# runtime/backend/cuda/.nvrtc/ without installing anything system-wide, so that the GPU path's compile
# step runs on every commit on machines without a GPU or a CUDA toolkit: TestKernelsCompileWithNVRTC
# (runtime/backend/cuda/nvrtc_cubin_test.go) loads that libnvrtc through the project's purego bindings
# and compiles every kernel unit to CUBIN for sm_80, sm_86, sm_89 and sm_90.
#
#   bash scripts/fetch-nvrtc.sh
#
# The libraries land in .nvrtc/root/usr/lib/<multiarch>/ (libnvrtc.so.11.2, libnvrtc-builtins.so.11.8;
# they need only the host's glibc). Needs apt-get and Debian's mirror; run at set-up (as .ci/run does),
# not at test time.
set -euo pipefail
suite=${1:-bookworm}
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=SCRIPTDIR/debfetch.sh
source "$repo/scripts/debfetch.sh"
debfetch_init "$suite" "main non-free"

# libnvrtc11.2 depends on its builtins (same version) and glibc; the host's glibc serves.
debfetch_download '^libnvrtc' libnvrtc11.2

dest="$repo/runtime/backend/cuda/.nvrtc"
debfetch_unpack "$dest"
libs=("$dest"/root/usr/lib/*/libnvrtc.so.*)
builtins=("$dest"/root/usr/lib/*/libnvrtc-builtins.so.*)
lib=${libs[0]}
[ -e "$lib" ] && [ -e "${builtins[0]}" ] || { echo "fetch-nvrtc: libnvrtc or its builtins missing under $dest/root" >&2; exit 1; }
apt-cache "${apt[@]}" show "libnvrtc11.2/$suite" | awk '/^Version:/ {print $2; exit}' >"$dest/VERSION"
echo "fetch-nvrtc: $lib ${builtins[0]} ($(cat "$dest/VERSION"))"
