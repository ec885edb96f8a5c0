#!/usr/bin/env bash
# VS Code end-to-end test (opt-in: installs code-server and chromium on first run, ~5 minutes).
# code-server (real VS Code in a browser) + headless Debian Chromium driven by playwright-core:
# installs the built .vsix, opens a Go file, types in a function, waits for the ghost text,
# presses Tab, saves and checks the file on disk. Screenshots land in test/e2e/artifacts/.
#
# The completion dropdown stays at VS Code's defaults (quick suggestions on), so the test sees whether
# the dropdown and the ghost text show together.
# DREAM_E2E_MODE=scripted: the server's scripted engine (testdata/script.json) and testdata/scripted.go.txt
# as main.go; the saved file is compared with testdata/scripted-want*.go.txt byte for byte.
# Environment: DREAM_LSP_BIN (server binary; default: built from this checkout),
# DREAM_MODEL (dream.model; default: the tiny test model in ../shared/golden/models/tiny-qwen-vocab if present),
# DREAM_SERVER_ARGS (extra `serve` arguments, space separated), DREAM_E2E_DIR (install folder).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
ext="$(cd "$here/../.." && pwd)"
repo="$(cd "$ext/../.." && pwd)"
export DREAM_E2E_DIR="${DREAM_E2E_DIR:-$HOME/.cache/dream-lsp-e2e}"

"$here/setup.sh"
cs="$DREAM_E2E_DIR/code-server/node_modules/.bin/code-server"

work="$(mktemp -d)"
cs_pid=""
cleanup() {
  # code-server runs in its own process group (setsid): stop it and its children together.
  if [ -n "$cs_pid" ]; then kill -- "-$cs_pid" 2>/dev/null || true; wait "$cs_pid" 2>/dev/null || true; sleep 0.5; fi
  rm -rf "$work" 2>/dev/null || { sleep 1; rm -rf "$work" || true; }
}
trap cleanup EXIT

bin="${DREAM_LSP_BIN:-}"
if [ -z "$bin" ]; then
  bin="$work/dream-lsp"
  (cd "$repo" && go build -o "$bin" ./cmd/dream-lsp)
fi
model="${DREAM_MODEL-}"
if [ -z "${DREAM_MODEL+x}" ] && [ -d "$repo/../shared/golden/models/tiny-qwen-vocab" ]; then
  model="$(cd "$repo/../shared/golden/models/tiny-qwen-vocab" && pwd)"
fi

(cd "$ext" && [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error)
(cd "$ext" && npm run --silent package >/dev/null)
vsix="$ext/dream-lsp.vsix"

ws="$work/ws"; ud="$work/user"; exts="$work/exts"
mkdir -p "$ws" "$ud/User" "$exts" "$work/xdg"
if [ "${DREAM_E2E_MODE:-}" = scripted ]; then
  cp "$here/testdata/scripted.go.txt" "$ws/main.go"
  export DREAM_LSP_TEST_ENGINE="scripted:$here/testdata/script.json"
else
  cp "$here/testdata/main.go" "$ws/main.go"
fi
args_json=$(node -e 'console.log(JSON.stringify((process.argv[1]||"").split(" ").filter(Boolean)))' "${DREAM_SERVER_ARGS:-}")
cat > "$ud/User/settings.json" <<JSON
{
  "dream.serverPath": "$bin",
  "dream.serverArgs": $args_json,
  "dream.model": "$model",
  "dream.maxTokens": 8,
  "dream.steps": 4,
  "dream.deadlineMs": 30000,
  "dream.minConfidence": 0,
  "dream.trace.server": "messages",
  "editor.autoClosingBrackets": "never",
  // The suggest dropdown stays at its defaults (quickSuggestions on), so our own completion items
  // would show in it; only VS Code's word-based items are off. They come from VS Code, not from
  // dream-lsp, and made the runs racy: when they pop up first, VS Code shows our ghost text only as
  // the dropdown's preview, or not at all ("no ghost text appeared" in CI).
  "editor.wordBasedSuggestions": "off",
  "workbench.startupEditor": "none",
  "workbench.tips.enabled": false,
  "security.workspace.trust.enabled": false,
  "extensions.autoCheckUpdates": false,
  "extensions.autoUpdate": false,
  "telemetry.telemetryLevel": "off",
  "update.mode": "none",
  "files.autoSave": "off"
}
JSON
export XDG_CONFIG_HOME="$work/xdg" XDG_DATA_HOME="$work/xdg"
"$cs" --extensions-dir "$exts" --user-data-dir "$ud" --install-extension "$vsix" >"$work/install.log" 2>&1 || {
  cat "$work/install.log"; exit 1; }

port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
setsid "$cs" --bind-addr "127.0.0.1:$port" --auth none --disable-telemetry --disable-update-check \
  --disable-workspace-trust --extensions-dir "$exts" --user-data-dir "$ud" "$ws" >"$work/code-server.log" 2>&1 &
cs_pid=$!
for _ in $(seq 100); do
  if node -e 'require("net").connect('"$port"',"127.0.0.1").on("connect",()=>process.exit(0)).on("error",()=>process.exit(1))'; then break; fi
  sleep 0.2
done

rm -rf "$here/artifacts" && mkdir -p "$here/artifacts"
rc=0
node "$here/e2e.js" "http://127.0.0.1:$port/?folder=$ws" "$ws/main.go" "$here/artifacts" || rc=$?
# The extension's output channel (server log included) for debugging.
find "$ud" -path '*Dream*' -name '*.log' -exec cp {} "$here/artifacts/" \; 2>/dev/null || true
cp "$work/code-server.log" "$here/artifacts/" 2>/dev/null || true
if [ $rc -ne 0 ]; then
  echo "e2e failed (artifacts in $here/artifacts)"; exit $rc
fi
echo "1 passed, 0 failed"
