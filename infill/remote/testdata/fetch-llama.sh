#!/usr/bin/env bash
# Fetch llama-server and python3-gguf from Debian sid into infill/remote/.llama/ for the remote
# client's end-to-end test against a server this project did not write, without installing anything
# system-wide: the .deb files of llama.cpp-tools and the shared libraries it needs (sid's glibc
# included) are unpacked there, and a wrapper `llama-server` runs the binary through sid's own
# dynamic loader with the CPU backend. The test (llamaserver_test.go) writes its tiny Qwen2 GGUF
# with the unpacked python3-gguf (testdata/tinyqwen.py) and starts the wrapper.
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

# The package closure: llama.cpp-tools, python3-gguf and every library they depend on.
debfetch_download '^lib' llama.cpp-tools libllama0 libggml0 libc6 libgcc-s1 libstdc++6 python3-gguf

dest="$here/.llama"
debfetch_unpack "$dest"
cat >"$dest/llama-server" <<'WRAP'
#!/bin/sh
# llama-server from Debian (see fetch-llama.sh), run with that suite's glibc and the generic
# x86-64 CPU backend (SSE4.2: runs on any machine this project targets).
root=$(dirname "$(readlink -f "$0")")/root
lib=$root/usr/lib/x86_64-linux-gnu
GGML_BACKEND_PATH=$lib/ggml/backends0/libggml-cpu-sse42.so \
  exec "$lib/ld-linux-x86-64.so.2" --library-path "$lib:$lib/llama:$lib/ggml" "$root/usr/bin/llama-server" "$@"
WRAP
chmod +x "$dest/llama-server"
"$dest/llama-server" --version 2>&1 | head -1
echo "fetch-llama: $dest/llama-server"
