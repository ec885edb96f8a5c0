#!/usr/bin/env bash
# Fetch a newer Neovim from a Debian suite into editors/neovim/.nvim/<version>/ for the editor tests,
# without installing anything system-wide: the .deb files of neovim, neovim-runtime and their shared
# libraries (glibc included) are unpacked there, and a wrapper `nvim` runs the binary through the
# suite's own dynamic loader. The tests (e2e_test.go) run every Neovim they find there besides the
# one on PATH.
#
#   bash editors/neovim/test/fetch-nvim.sh trixie   # Neovim 0.10.x: inline virtual text
#   bash editors/neovim/test/fetch-nvim.sh sid      # Neovim 0.12.x: vim.lsp.inline_completion
#
# Needs apt-get and Debian's mirror (a registry of this machine kind); run at set-up, not at test time.
set -euo pipefail
suite=${1:?usage: fetch-nvim.sh SUITE (trixie, sid)}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/debs"
cat >"$work/suite.sources" <<SRC
Types: deb
URIs: http://deb.debian.org/debian
Suites: $suite
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
apt=(-o Dir::Etc::sourcelist="$work/suite.sources" -o Dir::Etc::sourceparts=/dev/null -o Dir::State::Lists="$work/lists"
  -o Dir::Cache::archives="$work/debs" -o APT::Sandbox::User=root)
apt-get "${apt[@]}" update -qq
version=$(apt-cache "${apt[@]}" show "neovim/$suite" | awk '/^Version:/ {print $2; exit}')
[ -n "$version" ] || { echo "fetch-nvim: no neovim in $suite" >&2; exit 1; }

# The package closure: neovim and everything it depends on that ships libraries or Lua modules.
want=(neovim neovim-runtime libc6 libgcc-s1)
declare -A seen=()
while [ ${#want[@]} -gt 0 ]; do
  p=${want[0]}
  want=("${want[@]:1}")
  [ -n "${seen[$p]:-}" ] && continue
  seen[$p]=1
  deps=$(apt-cache "${apt[@]}" show "$p/$suite" 2>/dev/null | awk -F': ' '/^(Pre-)?Depends:/ {print $2}' |
    tr ',' '\n' | sed -E 's/\|.*//; s/\(.*\)//; s/:any//; s/[[:space:]]//g' | grep -E '^(lib|lua-|neovim-runtime)' || true)
  for d in $deps; do [ -z "${seen[$d]:-}" ] && want+=("$d"); done
done
pkgs=()
for p in "${!seen[@]}"; do pkgs+=("$p/$suite"); done
(cd "$work/debs" && apt-get "${apt[@]}" download "${pkgs[@]}" >/dev/null)

short=${version%%-*}
short=${short#*:}
dest="$here/.nvim/$short"
rm -rf "$dest"
mkdir -p "$dest/root"
for d in "$work"/debs/*.deb; do dpkg-deb -x "$d" "$dest/root"; done
cat >"$dest/nvim" <<'WRAP'
#!/bin/sh
# Neovim from a Debian suite, run with that suite's glibc (see fetch-nvim.sh).
root=$(dirname "$(readlink -f "$0")")/root
lib=$root/usr/lib/x86_64-linux-gnu
VIMRUNTIME=$root/usr/share/nvim/runtime exec "$lib/ld-linux-x86-64.so.2" --library-path "$lib" "$root/usr/bin/nvim" "$@"
WRAP
chmod +x "$dest/nvim"
"$dest/nvim" --version | head -1
echo "fetch-nvim: $dest/nvim"
