#!/usr/bin/env bash
# Installs what the VS Code end-to-end test needs, offline apart from Debian's and npm's registries:
# Debian chromium + ripgrep (+ headers code-server's native modules build against) and code-server 4.100.3
# (the newest whose engines accept Node 20) into $DREAM_E2E_DIR (default ~/.cache/dream-lsp-e2e).
# Safe to run again: each step is skipped when its result is already there.
set -euo pipefail
dir="${DREAM_E2E_DIR:-$HOME/.cache/dream-lsp-e2e}"
cs_version="${CODE_SERVER_VERSION:-4.100.3}"
mkdir -p "$dir"

need=()
command -v chromium >/dev/null || need+=(chromium)
command -v rg >/dev/null || need+=(ripgrep)
for p in libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev pkg-config; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}"
fi

if [ ! -f "$dir/code-server/.installed-$cs_version" ]; then
  # @vscode/ripgrep downloads its binary from the internet; pre-seed its cache with Debian's rg.
  tmp="${TMPDIR:-/tmp}"
  seed="$tmp/vscode-ripgrep-cache-1.15.11"
  mkdir -p "$seed"
  if [ ! -f "$seed/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" ]; then
    rgdir=$(mktemp -d)
    cp "$(command -v rg)" "$rgdir/rg"
    tar -C "$rgdir" -czf "$seed/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" rg
    rm -rf "$rgdir"
  fi
  mkdir -p "$dir/code-server"
  cd "$dir/code-server"
  [ -f package.json ] || echo '{"name":"dream-e2e-code-server","private":true}' > package.json
  export npm_config_unsafe_perm=true npm_config_yes=true
  # npm >= 11.10 skips dependencies' install scripts unless allowed; code-server's postinstall installs
  # VS Code's own modules (and their native builds) with nested npm calls, which read this from the env.
  export npm_config_dangerously_allow_all_scripts=true
  # Keep the native builds to one job: the machine is shared.
  export JOBS=1 MAKEFLAGS=-j1
  nice -n 10 npm install --no-audit --no-fund --foreground-scripts "code-server@$cs_version" >"$dir/code-server-install.log" 2>&1 || {
    tail -40 "$dir/code-server-install.log"; exit 1; }
  [ -d node_modules/code-server/lib/vscode/node_modules ] || { echo "code-server's postinstall did not run"; tail -40 "$dir/code-server-install.log"; exit 1; }
  touch "$dir/code-server/.installed-$cs_version"
fi
echo "code-server: $dir/code-server/node_modules/.bin/code-server"
