#!/usr/bin/env bash
# Fetch llama-server, llama-diffusion-cli and python3-gguf from Debian sid into infill/remote/.llama/
# for the remote client's end-to-end test against a server this project did not write and for the
# side-by-side against llama.cpp's Dream runner (bench/llamacpp), without installing anything
# system-wide: the .deb files of llama.cpp-tools, llama.cpp-examples and the shared libraries they need
# (sid's glibc included) are unpacked there, and wrappers `llama-server` and `llama-diffusion-cli` run
# the binaries through sid's own dynamic loader with a ggml CPU backend. The test
# (llamaserver_test.go) writes its tiny Qwen2 GGUF with the unpacked python3-gguf
# (testdata/tinyqwen.py) and starts the wrapper.
#
# Both wrappers default to the generic SSE4.2 backend (runs on any x86-64 machine this project
# targets, deterministic across CI hosts). LLAMA_GGML_BACKEND overrides it: a file name under
# root/usr/lib/x86_64-linux-gnu/ggml/backends0/ (e.g. libggml-cpu-sapphirerapids.so), or `best` to
# let ggml score every variant there against this CPU and load the best one (what the benchmark uses).
#
#   bash infill/remote/testdata/fetch-llama.sh
#
# Needs apt-get and Debian's mirror; run at set-up (as .ci/run does), not at test time.
# The unpacked gguf module needs numpy, yaml and tqdm for /usr/bin/python3 (python3-numpy,
# python3-yaml, python3-tqdm).
set -euo pipefail
suite=${1:-sid}
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=SCRIPTDIR/../../../scripts/debfetch.sh
source "$here/../../scripts/debfetch.sh"
debfetch_init "$suite"

# The package closure: llama.cpp-tools, llama.cpp-examples, python3-gguf and every library they
# depend on.
debfetch_download '^lib' llama.cpp-tools llama.cpp-examples libllama0 libggml0 libc6 libgcc-s1 libstdc++6 python3-gguf

dest="$here/.llama"
debfetch_unpack "$dest"
cat >"$dest/llama-server" <<'WRAP'
#!/bin/sh
# A program from Debian's llama.cpp (see fetch-llama.sh; the wrapper's name says which), run with
# that suite's glibc and one ggml CPU backend: the generic x86-64 one (SSE4.2) unless
# LLAMA_GGML_BACKEND names another file of backends0/, or is `best`: the variant ggml itself would
# score highest, the one with the most features that /proc/cpuinfo lists (Debian's ggml looks for
# its variants only under /usr/lib, so the choice cannot be left to it here). With `best` the
# chosen file is printed on stderr.
prog=$(basename "$0")
root=$(dirname "$(readlink -f "$0")")/root
lib=$root/usr/lib/x86_64-linux-gnu
be=${LLAMA_GGML_BACKEND:-libggml-cpu-sse42.so}
if [ "$be" = best ]; then
  flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
  has() { for f in "$@"; do case $flags in *" $f "*) ;; *) return 1 ;; esac; done; }
  hsw="avx avx2 fma f16c bmi2"
  if has $hsw avx512f avx512vbmi avx512_vnni avx512_bf16 amx_tile amx_int8; then be=sapphirerapids
  elif has $hsw avx512f avx512vbmi avx512_vnni avx512_bf16; then be=zen4
  elif has $hsw avx512f avx512_vnni avx512_bf16; then be=cooperlake
  elif has $hsw avx512f avx512vbmi avx512_vnni; then be=icelake
  elif has $hsw avx512f avx512_vnni; then be=cascadelake
  elif has $hsw avx512f avx512vbmi; then be=cannonlake
  elif has $hsw avx512f; then be=skylakex
  elif has $hsw avx_vnni; then be=alderlake
  elif has $hsw; then be=haswell
  elif has avx f16c fma; then be=piledriver
  elif has avx f16c; then be=ivybridge
  elif has avx; then be=sandybridge
  elif has sse4_2; then be=sse42
  else be=x64
  fi
  be=libggml-cpu-$be.so
  echo "$prog: ggml backend $be" >&2
fi
GGML_BACKEND_PATH=$lib/ggml/backends0/$be exec "$lib/ld-linux-x86-64.so.2" --library-path "$lib:$lib/llama:$lib/ggml" "$root/usr/bin/$prog" "$@"
WRAP
chmod +x "$dest/llama-server"
cp "$dest/llama-server" "$dest/llama-diffusion-cli"
"$dest/llama-server" --version 2>&1 | head -1
echo "fetch-llama: $dest/llama-server $dest/llama-diffusion-cli"
