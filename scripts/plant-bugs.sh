#!/usr/bin/env bash
# Plants known user-visible bugs one at a time in a scratch clone of this repository and runs the
# tests that should catch each one; prints CAUGHT (with the failing tests) or MISSED per bug.
# The repository itself is never modified: the clone lives under $TMPDIR and is removed at the end.
#
#   bash scripts/plant-bugs.sh            # all bugs, in a clone of HEAD
#   bash scripts/plant-bugs.sh a d        # only bugs a and d
#   PLANT_TREE=1 bash scripts/plant-bugs.sh   # copy the working tree (uncommitted changes too) instead
#   PLANT_KEEP=1 ...                          # keep the scratch copy and its logs
#
# The bugs (issue #16), each a small edit found by its anchor text; a bug whose anchor is gone is
# reported NOT PLANTED (update its anchor here), never as caught:
#   a  infill/post: a single-line middle loses its leading space ("return" + " a + b" -> "returna + b")
#   b  lsp/completion.go: a completion item carries only the first line of a multi-line text
#   c  editors/neovim/lua: the Neovim plugin strips the leading whitespace of the items it shows/accepts
#   d  lsp/wire: the server stops (ends the stream) on a body that is not JSON
#   e  lsp/inlinecompletion.go: an inline completion item carries only the first line (extra, not in #16)
# Exit status: 0 when every planted bug was caught, 1 otherwise.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
scratch="$(mktemp -d "${TMPDIR:-/tmp}/plant-bugs.XXXXXX")"
# PLANT_KEEP=1 keeps the scratch copy and the logs for a look.
[ -n "${PLANT_KEEP:-}" ] && echo "scratch: $scratch" || trap 'rm -rf "$scratch"' EXIT
work="$scratch/repo"

# The scratch copy: a clone of HEAD (or the working tree), next to a link to ../shared, with the
# ignored things the tests need (fetched Neovims, node_modules) linked from the repository.
if [ -n "${PLANT_TREE:-}" ]; then
  mkdir -p "$work"
  (cd "$repo" && git ls-files -co --exclude-standard -z) | (cd "$repo" && xargs -0 cp --parents -t "$work" 2>/dev/null || true)
  (cd "$work" && git init -q && git add -A && git -c user.email=p@p -c user.name=plant commit -qm base)
else
  git clone -q "$repo" "$work"
fi
[ -e "$repo/../shared" ] && ln -s "$(cd "$repo/../shared" && pwd)" "$scratch/shared"
for p in editors/neovim/.nvim testdata/lspclient/node_modules editors/vscode/node_modules; do
  [ -e "$repo/$p" ] && [ ! -e "$work/$p" ] && ln -s "$repo/$p" "$work/$p"
done

# plant FILE PYTHON-REGEX REPLACEMENT: one substitution, or exit 3 when the anchor is not found.
plant() {
  python3 - "$work/$1" "$2" "$3" <<'PY'
import re, sys
path, pat, rep = sys.argv[1:]
s = open(path).read()
t, n = re.subn(pat, lambda m: m.expand(rep), s, count=1, flags=re.M)
if n != 1:
    sys.exit(3)
open(path, "w").write(t)
PY
}

desc_a="infill/post: a single-line middle loses its leading space"
plant_a() { plant infill/post/post.go '^(\t\tmid = )FirstLine\(mid\)$' '\1strings.TrimLeft(FirstLine(mid), " ")'; }
test_a=(go test -count=1 ./infill/post ./infill ./lsp)

desc_b="lsp/completion.go: a completion item carries only the first line of its text"
plant_b() { plant lsp/completion.go 'NewText: (\w+)\}' 'NewText: strings.SplitN(\1, "\\n", 2)[0]}'; }
test_b=(go test -count=1 ./lsp)

desc_c="editors/neovim/lua: the plugin strips the leading whitespace of an item's text"
plant_c() { plant editors/neovim/lua/dream/util.lua '^(  local s, e = col, col)$' '  text = (text:gsub("^%s+", ""))\n\1'; }
test_c=(go test -count=1 -timeout 30m ./editors/neovim -run "${PLANT_NVIM_RUN:-TestLuaUnit|TestEndToEnd/.*/scripted}")

desc_d="lsp/wire: the server ends the stream on a body that is not JSON"
plant_d() { plant lsp/wire/stream.go '^(\t\tif f\.rej != nil \{\n\t\t\ts\.reject\(ctx, f\.rej\)\n)' '\1\t\t\tif f.rej.Code == CodeParseError {\n\t\t\t\treturn nil, 0, errors.New("planted: not JSON")\n\t\t\t}\n'; }
test_d=(go test -count=1 ./lsp/wire ./lsp ./cmd/dream-lsp -run 'Hostile|Malformed|Fuzz|Frame|Stream|Serve')

desc_e="lsp/inlinecompletion.go: an inline completion item carries only the first line of its text"
plant_e() { plant lsp/inlinecompletion.go 'InsertText: protocol\.String\((\w+(\.\w+)?)\)' 'InsertText: protocol.String(func(s string) string {\n\t\t\tfor i := range len(s) {\n\t\t\t\tif s[i] == 10 {\n\t\t\t\t\treturn s[:i]\n\t\t\t\t}\n\t\t\t}\n\t\t\treturn s\n\t\t}(\1))'; }
test_e=(go test -count=1 ./lsp)

bugs=("$@")
[ ${#bugs[@]} -gt 0 ] || bugs=(a b c d e)
missed=0
summary=()
for b in "${bugs[@]}"; do
  desc="desc_$b"; tests="test_$b[@]"
  cmd=("${!tests}")
  echo "=== bug $b: ${!desc}"
  (cd "$work" && git checkout -q -- . && git clean -qfd -e editors/neovim/.nvim -e node_modules)
  # Baseline: the tests must pass before the bug is planted, or the verdict means nothing.
  if ! (cd "$work" && "${cmd[@]}") >"$scratch/base-$b.log" 2>&1; then
    echo "    BASELINE FAILS without the bug: ${cmd[*]}"; tail -30 "$scratch/base-$b.log" | sed 's/^/    | /'
    summary+=("$b BASELINE-FAILS  ${!desc}"); missed=$((missed + 1)); continue
  fi
  if ! "plant_$b"; then
    echo "    NOT PLANTED: the anchor text is gone; update plant_$b in $0"
    summary+=("$b NOT-PLANTED     ${!desc}"); missed=$((missed + 1)); continue
  fi
  (cd "$work" && git --no-pager diff --stat | sed 's/^/    /')
  start=$(date +%s)
  if (cd "$work" && "${cmd[@]}") >"$scratch/bug-$b.log" 2>&1; then
    echo "    MISSED: ${cmd[*]} passed with the bug ($(( $(date +%s) - start )) s)"
    summary+=("$b MISSED          ${!desc}"); missed=$((missed + 1))
  elif grep -qE -- '^\s*--- FAIL|^panic:' "$scratch/bug-$b.log"; then
    echo "    CAUGHT in $(( $(date +%s) - start )) s by:"
    grep -E -- '^\s*--- FAIL' "$scratch/bug-$b.log" | sed 's/ (.*//; s/^ */      /' | sort -u | head -20
    summary+=("$b CAUGHT          ${!desc}")
  else
    echo "    BUILD BROKEN by the plant (not a test failure):"; tail -20 "$scratch/bug-$b.log" | sed 's/^/    | /'
    summary+=("$b PLANT-INVALID   ${!desc}"); missed=$((missed + 1))
  fi
done
echo
printf '%s\n' "${summary[@]}"
[ "$missed" -eq 0 ]
