package cuda

import (
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
)

// EnvLibs names the override variable: a list of directories (or library
// files), separated by ':', searched before anything else.
const EnvLibs = "DREAM_CUDA_LIBS"

// library describes one shared library the backend needs.
type library struct {
	name     string   // short name for reports: "libcuda", "libnvrtc", "libcublasLt"
	sonames  []string // names to hand to dlopen as is (it searches the ld.so cache and LD_LIBRARY_PATH)
	prefix   string   // file-name prefix for directory scans: "libnvrtc.so"
	exclude  []string // file-name prefixes that match prefix but are other libraries
	wheelDir []string // subdirectories of site-packages/nvidia holding it in Python wheels
}

var (
	libCUDA = library{
		name:    "libcuda",
		sonames: []string{"libcuda.so.1"},
		prefix:  "libcuda.so",
	}
	libNVRTC = library{
		name:     "libnvrtc",
		sonames:  []string{"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"},
		prefix:   "libnvrtc.so",
		exclude:  []string{"libnvrtc-builtins", "libnvrtc.alt"},
		wheelDir: []string{"cu13/lib", "cuda_nvrtc/lib", "cu12/lib"},
	}
	libCublasLt = library{
		name:     "libcublasLt",
		sonames:  []string{"libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so"},
		prefix:   "libcublasLt.so",
		wheelDir: []string{"cu13/lib", "cublas/lib", "cu12/lib"},
	}
)

// searchEnv is what discovery reads from the outside world; tests replace
// it with a fake tree under t.TempDir().
type searchEnv struct {
	root   string              // prefix for every absolute directory ("" in production)
	getenv func(string) string // os.Getenv
	home   string
}

func defaultEnv() searchEnv {
	home, _ := os.UserHomeDir()
	return searchEnv{getenv: os.Getenv, home: home}
}

// systemDirs are the usual library directories of CUDA installs and of the
// NVIDIA driver, newest toolkit first.
func (e searchEnv) systemDirs() []string {
	arch := "x86_64-linux"
	multi := "x86_64-linux-gnu"
	if runtime.GOARCH == "arm64" {
		arch, multi = "sbsa-linux", "aarch64-linux-gnu"
	}
	dirs := []string{}
	if v := e.getenv("CUDA_HOME"); v != "" {
		dirs = append(dirs, filepath.Join(v, "lib64"), filepath.Join(v, "targets", arch, "lib"))
	}
	if v := e.getenv("CUDA_PATH"); v != "" {
		dirs = append(dirs, filepath.Join(v, "lib64"), filepath.Join(v, "targets", arch, "lib"))
	}
	dirs = append(dirs,
		"/usr/local/cuda/lib64",
		"/usr/local/cuda/targets/"+arch+"/lib",
	)
	// Versioned toolkits, newest first.
	versioned := e.glob("/usr/local/cuda-*")
	sort.Slice(versioned, func(i, j int) bool { return versionLess(versioned[j], versioned[i]) })
	for _, v := range versioned {
		dirs = append(dirs, filepath.Join(v, "lib64"), filepath.Join(v, "targets", arch, "lib"))
	}
	dirs = append(dirs,
		"/usr/local/nvidia/lib64",
		"/usr/local/nvidia/lib",
		"/usr/lib/"+multi,
		"/lib/"+multi,
		"/usr/lib64",
		"/usr/lib",
		"/usr/lib/wsl/lib",
		"/opt/cuda/lib64",
	)
	return dirs
}

// sitePackages lists Python site-packages directories where pip wheels
// (nvidia-cuda-nvrtc, nvidia-cublas, cuda-toolkit) put their libraries.
func (e searchEnv) sitePackages() []string {
	var roots []string
	if v := e.getenv("VIRTUAL_ENV"); v != "" {
		roots = append(roots, v)
	}
	if v := e.getenv("CONDA_PREFIX"); v != "" {
		roots = append(roots, v)
	}
	if e.home != "" {
		roots = append(roots, filepath.Join(e.home, ".local"))
	}
	roots = append(roots, "/usr/local", "/usr", "/opt/conda")
	var out []string
	for _, r := range roots {
		out = append(out, e.glob(filepath.Join(r, "lib", "python3*", "site-packages"))...)
		out = append(out, e.glob(filepath.Join(r, "lib", "python3*", "dist-packages"))...)
	}
	// Virtual environments under /opt (for example /opt/torch/.venv).
	out = append(out, e.glob("/opt/*/.venv/lib/python3*/site-packages")...)
	out = append(out, e.glob("/opt/*/lib/python3*/site-packages")...)
	return out
}

// glob matches pattern (an absolute path) under the root and returns the
// matches without the root prefix.
func (e searchEnv) glob(pattern string) []string {
	m, _ := filepath.Glob(filepath.Join(e.root, pattern))
	out := make([]string, 0, len(m))
	for _, p := range m {
		rel := strings.TrimPrefix(p, e.root)
		if e.root != "" && !strings.HasPrefix(rel, "/") {
			rel = "/" + rel
		}
		out = append(out, rel)
	}
	return out
}

// real maps a discovered path to the file system (adds the root).
func (e searchEnv) real(p string) string {
	if e.root == "" || !filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(e.root, p)
}

// candidates returns, in the order to try, every path or soname that may
// hold lib: the override first, then the bare sonames (the dynamic loader's
// own search), then files found in LD_LIBRARY_PATH, CUDA and driver
// directories and Python wheels. Within a directory the highest version
// comes first.
func (e searchEnv) candidates(lib library) []string {
	var out []string
	seen := map[string]bool{}
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	if v := e.getenv(EnvLibs); v != "" {
		for _, p := range filepath.SplitList(v) {
			if p == "" {
				continue
			}
			if st, err := os.Stat(e.real(p)); err == nil && !st.IsDir() {
				if lib.matches(filepath.Base(p)) {
					add(p)
				}
				continue
			}
			for _, f := range e.scan(p, lib) {
				add(f)
			}
		}
	}
	for _, s := range lib.sonames {
		add(s)
	}
	var dirs []string
	if v := e.getenv("LD_LIBRARY_PATH"); v != "" {
		dirs = append(dirs, filepath.SplitList(v)...)
	}
	dirs = append(dirs, e.systemDirs()...)
	for _, sp := range e.sitePackages() {
		for _, w := range lib.wheelDir {
			dirs = append(dirs, filepath.Join(sp, "nvidia", w))
		}
	}
	for _, d := range dirs {
		if d == "" {
			continue
		}
		for _, f := range e.scan(d, lib) {
			add(f)
		}
	}
	return out
}

// scan lists the files of lib in dir, highest version first.
func (e searchEnv) scan(dir string, lib library) []string {
	ents, err := os.ReadDir(e.real(dir))
	if err != nil {
		return nil
	}
	var names []string
	for _, ent := range ents {
		if ent.IsDir() {
			continue
		}
		if lib.matches(ent.Name()) {
			names = append(names, ent.Name())
		}
	}
	sort.Slice(names, func(i, j int) bool { return versionLess(names[j], names[i]) })
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = filepath.Join(dir, n)
	}
	return out
}

// matches reports whether a file name is lib: prefix, then nothing or a
// dotted version ("libnvrtc.so", "libnvrtc.so.13", "libnvrtc.so.13.0.48").
func (lib library) matches(name string) bool {
	for _, x := range lib.exclude {
		if strings.HasPrefix(name, x) {
			return false
		}
	}
	if !strings.HasPrefix(name, lib.prefix) {
		return false
	}
	rest := strings.TrimPrefix(name, lib.prefix)
	if rest == "" {
		return true
	}
	if rest[0] != '.' {
		return false
	}
	for _, part := range strings.Split(rest[1:], ".") {
		if _, err := strconv.Atoi(part); err != nil {
			return false
		}
	}
	return true
}

// versionLess orders strings by their embedded numbers, so that
// libnvrtc.so.9 < libnvrtc.so.13 and cuda-12.9 < cuda-13.0.
func versionLess(a, b string) bool {
	na, nb := numbers(a), numbers(b)
	for i := 0; i < len(na) && i < len(nb); i++ {
		if na[i] != nb[i] {
			return na[i] < nb[i]
		}
	}
	if len(na) != len(nb) {
		return len(na) < len(nb)
	}
	return a < b
}

func numbers(s string) []int {
	var out []int
	n, in := 0, false
	for _, r := range s {
		if r >= '0' && r <= '9' {
			n = n*10 + int(r-'0')
			in = true
			continue
		}
		if in {
			out = append(out, n)
			n, in = 0, false
		}
	}
	if in {
		out = append(out, n)
	}
	return out
}
