package cuda

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/dream-lsp/dream-lsp/runtime/backend/cuda/internal/dl"
)

// LibraryStatus reports the search for one shared library.
type LibraryStatus struct {
	Name  string   `json:"name"`            // "libcuda", "libnvrtc", "libcublasLt"
	Path  string   `json:"path,omitempty"`  // what dlopen accepted
	Found bool     `json:"found"`           // loaded successfully
	Tried []string `json:"tried,omitempty"` // candidates tried, in order
	Error string   `json:"error,omitempty"` // why the last candidate failed (or none was found)
}

// libraries holds the opened libraries (nil where not found).
type libraries struct {
	cuda, nvrtc, cublasLt *dl.Library
}

func (l *libraries) close() {
	if l == nil {
		return
	}
	// Driver libraries are never dlclosed: the driver keeps threads that
	// point into them. NVRTC and cuBLASLt are left loaded for the same
	// reason (a process opens the backend at most a few times).
}

// libraryReport is the result of one discovery run.
type libraryReport struct {
	libs []LibraryStatus
}

func (r libraryReport) libraryReason(name string) string {
	for _, l := range r.libs {
		if l.Name == name {
			if len(l.Tried) == 0 {
				return fmt.Sprintf("%s not found", name)
			}
			return fmt.Sprintf("%s not loadable (tried %s): %s", name, strings.Join(l.Tried, ", "), l.Error)
		}
	}
	return name + " not searched"
}

// dlLibrary is an opened shared library.
type dlLibrary = dl.Library

// opener is dl.Open, replaced in tests.
var opener = func(path string) (*dlLibrary, error) { return dl.Open(path) }

// loadLibraries opens the first loadable candidate of each library. The
// order matters: cuBLASLt before anything that might pull in libcublas.
func loadLibraries(env searchEnv) (*libraries, libraryReport) {
	libs := &libraries{}
	var rep libraryReport
	for _, spec := range []struct {
		lib library
		dst **dl.Library
	}{
		{libCUDA, &libs.cuda},
		{libNVRTC, &libs.nvrtc},
		{libCublasLt, &libs.cublasLt},
	} {
		st := LibraryStatus{Name: spec.lib.name}
		for _, c := range env.candidates(spec.lib) {
			st.Tried = append(st.Tried, c)
			l, err := opener(env.real(c))
			if err != nil {
				st.Error = trimDlerror(err.Error())
				continue
			}
			*spec.dst = l
			st.Found, st.Path, st.Error = true, c, ""
			if spec.lib.name == libNVRTC.name {
				preloadBuiltins(env, c)
			}
			break
		}
		if !st.Found && st.Error == "" {
			st.Error = "no candidate found"
		}
		rep.libs = append(rep.libs, st)
	}
	return libs, rep
}

// trimDlerror keeps dlerror messages short: "dlopen X: X: cannot open
// shared object file: No such file or directory" → the part after the
// last path.
func trimDlerror(s string) string {
	if i := strings.LastIndex(s, ": "); i >= 0 && strings.Contains(s, "cannot open shared object") {
		if j := strings.LastIndex(s[:i], ": "); j >= 0 {
			return s[j+2:]
		}
	}
	return s
}

// preloadBuiltins loads libnvrtc-builtins.so.* from the directory libnvrtc
// came from. NVRTC dlopens its builtins by soname at compile time; with the
// library found outside the loader's search path (a wheel, a toolkit not in
// ld.so.conf) that lookup fails, unless the builtins are already loaded.
func preloadBuiltins(env searchEnv, nvrtcPath string) {
	dir := ""
	if filepath.IsAbs(nvrtcPath) {
		dir = filepath.Dir(nvrtcPath)
	} else if maps, err := os.ReadFile("/proc/self/maps"); err == nil {
		for _, line := range strings.Split(string(maps), "\n") {
			if i := strings.Index(line, "/"); i >= 0 && strings.Contains(line, "/libnvrtc.so") {
				dir = filepath.Dir(line[i:])
				break
			}
		}
	}
	if dir == "" {
		return
	}
	builtins := library{name: "libnvrtc-builtins", prefix: "libnvrtc-builtins.so"}
	for _, p := range env.scan(dir, builtins) {
		if _, err := opener(env.real(p)); err == nil {
			return
		}
	}
}
