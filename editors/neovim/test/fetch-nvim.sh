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
# shellcheck source=SCRIPTDIR/../../../scripts/debfetch.sh
source "$here/../../scripts/debfetch.sh"
debfetch_init "$suite"
version=$(apt-cache "${apt[@]}" show "neovim/$suite" | awk '/^Version:/ {print $2; exit}')
[ -n "$version" ] || { echo "fetch-nvim: no neovim in $suite" >&2; exit 1; }

# The package closure: neovim and everything it depends on that ships libraries or Lua modules.
debfetch_download '^(lib|lua-|neovim-runtime)' neovim neovim-runtime libc6 libgcc-s1

short=${version%%-*}
short=${short#*:}
dest="$here/.nvim/$short"
debfetch_unpack "$dest"
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
