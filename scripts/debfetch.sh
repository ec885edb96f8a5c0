# Sourced by the fetch scripts (editors/neovim/test/fetch-nvim.sh, infill/remote/testdata/fetch-llama.sh)
# that take a program from a Debian suite without installing anything system-wide: apt-get works on
# a private package list in a temporary folder, the .deb files of the program and the libraries it
# needs (the suite's glibc included) are downloaded there and unpacked under a folder of the caller's.
# Needs apt-get, dpkg-deb and Debian's mirror; for set-up time, not test time.

# debfetch_init SUITE [COMPONENTS]: a temporary folder $work (removed on exit) with the suite's package
# lists, and the apt-get/apt-cache options for it in the array $apt. COMPONENTS (space-separated,
# default "main") names the archive areas, e.g. "main contrib non-free" for CUDA's NVRTC.
debfetch_init() {
  suite=$1
  local components=${2:-main}
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/lists/partial" "$work/debs"
  cat >"$work/suite.sources" <<SRC
Types: deb
URIs: http://deb.debian.org/debian
Suites: $suite
Components: $components
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  apt=(-o Dir::Etc::sourcelist="$work/suite.sources" -o Dir::Etc::sourceparts=/dev/null -o Dir::State::Lists="$work/lists"
    -o Dir::Cache::archives="$work/debs" -o APT::Sandbox::User=root)
  apt-get "${apt[@]}" update -qq
}

# debfetch_download REGEX PKG...: downloads the packages and, transitively, those of their
# (Pre-)Depends whose names match the extended REGEX (the libraries, not the whole system).
debfetch_download() {
  local keep=$1
  shift
  local want=("$@") p d deps
  local -A seen=()
  while [ ${#want[@]} -gt 0 ]; do
    p=${want[0]}
    want=("${want[@]:1}")
    [ -n "${seen[$p]:-}" ] && continue
    seen[$p]=1
    deps=$(apt-cache "${apt[@]}" show "$p/$suite" 2>/dev/null | awk -F': ' '/^(Pre-)?Depends:/ {print $2}' |
      tr ',' '\n' | sed -E 's/\|.*//; s/\(.*\)//; s/:any//; s/[[:space:]]//g' | grep -E "$keep" || true)
    for d in $deps; do [ -z "${seen[$d]:-}" ] && want+=("$d"); done
  done
  local pkgs=()
  for p in "${!seen[@]}"; do pkgs+=("$p/$suite"); done
  (cd "$work/debs" && apt-get "${apt[@]}" download "${pkgs[@]}" >/dev/null)
}

# debfetch_unpack DEST: replaces DEST with a folder whose root/ holds every downloaded package unpacked.
debfetch_unpack() {
  rm -rf "$1"
  mkdir -p "$1/root"
  local d
  for d in "$work"/debs/*.deb; do dpkg-deb -x "$d" "$1/root"; done
}
