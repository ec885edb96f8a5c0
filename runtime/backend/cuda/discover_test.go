package cuda

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeTree creates empty files (paths relative to a new root) and returns
// a searchEnv rooted there with the given environment.
func fakeTree(t *testing.T, files []string, env map[string]string) searchEnv {
	t.Helper()
	root := t.TempDir()
	for _, f := range files {
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return searchEnv{root: root, getenv: func(k string) string { return env[k] }, home: "/home/u"}
}

func TestCandidatesCUDAInstall(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the fake tree uses x86_64 directory names")
	}
	env := fakeTree(t, []string{
		"/usr/local/cuda/lib64/libnvrtc.so.13.0.48",
		"/usr/local/cuda/lib64/libnvrtc.so.13",
		"/usr/local/cuda/lib64/libnvrtc.so",
		"/usr/local/cuda/lib64/libnvrtc-builtins.so.13.0",
		"/usr/local/cuda/lib64/libnvrtc.alt.so.13",
		"/usr/local/cuda-12.4/lib64/libnvrtc.so.12",
		"/usr/local/cuda-13.0/lib64/libnvrtc.so.13",
		"/usr/local/cuda-9.2/lib64/libnvrtc.so.9.2",
		"/usr/local/cuda/lib64/libnvrtc.so.13.bak", // not a version: ignored
	}, nil)
	got := env.candidates(libNVRTC)
	want := []string{
		// The dynamic loader's own search first.
		"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so",
		// Then the toolkit directory, highest version first.
		"/usr/local/cuda/lib64/libnvrtc.so.13.0.48",
		"/usr/local/cuda/lib64/libnvrtc.so.13",
		"/usr/local/cuda/lib64/libnvrtc.so",
		// Then versioned toolkits, newest first (13.0 > 12.4 > 9.2).
		"/usr/local/cuda-13.0/lib64/libnvrtc.so.13",
		"/usr/local/cuda-12.4/lib64/libnvrtc.so.12",
		"/usr/local/cuda-9.2/lib64/libnvrtc.so.9.2",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("candidates (-want +got):\n%s", diff)
	}
}

func TestCandidatesOverrideFirst(t *testing.T) {
	env := fakeTree(t, []string{
		"/opt/mycuda/libcublasLt.so.13",
		"/opt/mycuda/libcublas.so.13", // another library: not a candidate
		"/opt/single/libcublasLt.so.12",
		"/usr/local/cuda/lib64/libcublasLt.so.13",
	}, map[string]string{EnvLibs: "/opt/mycuda::/opt/single/libcublasLt.so.12:/does/not/exist"})
	got := env.candidates(libCublasLt)
	if len(got) < 2 || got[0] != "/opt/mycuda/libcublasLt.so.13" || got[1] != "/opt/single/libcublasLt.so.12" {
		t.Fatalf("override not searched first: %v", got)
	}
	if slices.Contains(got, "/opt/mycuda/libcublas.so.13") {
		t.Errorf("libcublas.so.13 offered as libcublasLt: %v", got)
	}
	if !slices.Contains(got, "/usr/local/cuda/lib64/libcublasLt.so.13") {
		t.Errorf("system directory missing after the override: %v", got)
	}
}

func TestCandidatesPythonWheels(t *testing.T) {
	env := fakeTree(t, []string{
		"/opt/torch/.venv/lib/python3.12/site-packages/nvidia/cu13/lib/libnvrtc.so.13",
		"/opt/torch/.venv/lib/python3.12/site-packages/nvidia/cu13/lib/libnvrtc-builtins.so.13.0",
		"/home/u/.local/lib/python3.11/site-packages/nvidia/cuda_nvrtc/lib/libnvrtc.so.12",
		"/venv/lib/python3.10/site-packages/nvidia/cuda_nvrtc/lib/libnvrtc.so.12",
	}, map[string]string{"VIRTUAL_ENV": "/venv"})
	got := env.candidates(libNVRTC)
	for _, want := range []string{
		"/opt/torch/.venv/lib/python3.12/site-packages/nvidia/cu13/lib/libnvrtc.so.13",
		"/home/u/.local/lib/python3.11/site-packages/nvidia/cuda_nvrtc/lib/libnvrtc.so.12",
		"/venv/lib/python3.10/site-packages/nvidia/cuda_nvrtc/lib/libnvrtc.so.12",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("wheel library %s not a candidate: %v", want, got)
		}
	}
	// The active virtual environment comes before the user's site-packages.
	if slices.Index(got, "/venv/lib/python3.10/site-packages/nvidia/cuda_nvrtc/lib/libnvrtc.so.12") >
		slices.Index(got, "/home/u/.local/lib/python3.11/site-packages/nvidia/cuda_nvrtc/lib/libnvrtc.so.12") {
		t.Errorf("VIRTUAL_ENV not preferred: %v", got)
	}
	for _, c := range got {
		if strings.Contains(c, "builtins") {
			t.Errorf("libnvrtc-builtins offered as libnvrtc: %s", c)
		}
	}
}

func TestCandidatesLDLibraryPathAndDriver(t *testing.T) {
	env := fakeTree(t, []string{
		"/custom/lib/libcuda.so.1",
		"/usr/local/nvidia/lib64/libcuda.so.1",
		"/usr/local/nvidia/lib64/libcuda.so.580.159.04",
	}, map[string]string{"LD_LIBRARY_PATH": "/custom/lib:"})
	got := env.candidates(libCUDA)
	want := []string{
		"libcuda.so.1",
		"/custom/lib/libcuda.so.1",
		"/usr/local/nvidia/lib64/libcuda.so.580.159.04",
		"/usr/local/nvidia/lib64/libcuda.so.1",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("candidates (-want +got):\n%s", diff)
	}
}

func TestLibraryMatches(t *testing.T) {
	for name, want := range map[string]bool{
		"libnvrtc.so":                   true,
		"libnvrtc.so.13":                true,
		"libnvrtc.so.13.0.48":           true,
		"libnvrtc-builtins.so.13.0":     false,
		"libnvrtc.so.13.bak":            false,
		"libnvrtc.so.":                  false,
		"libnvrtcx.so":                  false,
		"libnvrtc.alt.so.13":            false,
		"libnvrtc_static.a":             false,
		"libnvrtc.so.13.0.48.dbg":       false,
		"libnvrtc-builtins.alt.so.13":   false,
		"libnvrtc.so.12.9.41":           true,
		"libnvrtc.so.1.2.3.4.5.6.7.8.9": true,
	} {
		if got := libNVRTC.matches(name); got != want {
			t.Errorf("matches(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestVersionLess(t *testing.T) {
	ordered := []string{"libx.so", "libx.so.9", "libx.so.12", "libx.so.12.4", "libx.so.13", "libx.so.13.0.48"}
	for i := range ordered {
		for j := range ordered {
			if got, want := versionLess(ordered[i], ordered[j]), i < j; got != want {
				t.Errorf("versionLess(%q, %q) = %v, want %v", ordered[i], ordered[j], got, want)
			}
		}
	}
}

func TestLoadLibrariesReportsEveryTry(t *testing.T) {
	env := fakeTree(t, []string{"/usr/local/cuda/lib64/libcublasLt.so.13"}, map[string]string{EnvLibs: ""})
	opened := []string{}
	old := opener
	t.Cleanup(func() { opener = old })
	opener = func(path string) (*dlLibrary, error) {
		opened = append(opened, path)
		return nil, errFake
	}
	libs, rep := loadLibraries(env)
	if libs.cuda != nil || libs.nvrtc != nil || libs.cublasLt != nil {
		t.Fatalf("libraries reported loaded with a failing opener")
	}
	if len(rep.libs) != 3 {
		t.Fatalf("%d library reports, want 3", len(rep.libs))
	}
	lt := rep.libs[2]
	if lt.Name != "libcublasLt" || lt.Found || !slices.Contains(lt.Tried, "/usr/local/cuda/lib64/libcublasLt.so.13") || lt.Error == "" {
		t.Errorf("cuBLASLt report = %+v", lt)
	}
	reason := rep.libraryReason("libcublasLt")
	if !strings.Contains(reason, "libcublasLt") || !strings.Contains(reason, "/usr/local/cuda/lib64/libcublasLt.so.13") || !strings.Contains(reason, errFake.Error()) {
		t.Errorf("reason %q does not name the library, the candidates and the error", reason)
	}
	// The opener saw real paths under the root, not the logical ones.
	if !slices.ContainsFunc(opened, func(p string) bool { return strings.HasPrefix(p, env.root) }) {
		t.Errorf("opener never given a path under the fake root: %v", opened)
	}
}

var errFake = fakeError("fake dlopen failure")

type fakeError string

func (e fakeError) Error() string { return string(e) }
