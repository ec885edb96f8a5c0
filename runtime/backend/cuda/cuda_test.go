package cuda_test

import (
	"errors"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/dream-lsp/dream-lsp/native"
	"github.com/dream-lsp/dream-lsp/runtime/backend"
	"github.com/dream-lsp/dream-lsp/runtime/backend/backendtest"
	"github.com/dream-lsp/dream-lsp/runtime/backend/cuda"
)

var (
	gpuOnce sync.Once
	gpu     *cuda.Backend
	gpuErr  error
)

// openGPU returns the process-wide CUDA backend, or skips the test with
// the reason when there is none.
func openGPU(t testing.TB) *cuda.Backend {
	t.Helper()
	gpuOnce.Do(func() { gpu, gpuErr = cuda.Open(cuda.Options{}) })
	if gpuErr != nil {
		if errors.Is(gpuErr, cuda.ErrUnavailable) {
			t.Skipf("no usable GPU: %v", gpuErr)
		}
		t.Fatalf("cuda.Open: %v", gpuErr)
	}
	return gpu
}

func TestMain(m *testing.M) {
	code := m.Run()
	if gpu != nil {
		gpu.Close()
	}
	os.Exit(code)
}

func TestOpenWithoutGPU(t *testing.T) {
	b, err := cuda.Open(cuda.Options{})
	if err == nil {
		b.Close()
		t.Skip("a usable GPU is present: nothing to check here")
	}
	if !errors.Is(err, cuda.ErrUnavailable) {
		// A GPU was found but something else broke (kernel compile, ...):
		// that must not look like "no GPU".
		r := cuda.Probe()
		if !r.Usable {
			t.Fatalf("Open failed with %v, not wrapping ErrUnavailable, although Probe says unusable (%s)", err, r.Reason)
		}
		t.Skipf("GPU present but Open failed: %v", err)
	}
	reason := strings.TrimPrefix(err.Error(), cuda.ErrUnavailable.Error())
	if len(strings.TrimSpace(strings.TrimPrefix(reason, ":"))) < 10 {
		t.Errorf("ErrUnavailable without a reason: %q", err)
	}
}

func TestProbe(t *testing.T) {
	r := cuda.Probe()
	if len(r.Libraries) != 3 {
		t.Fatalf("Probe reported %d libraries, want libcuda, libnvrtc and libcublasLt", len(r.Libraries))
	}
	for _, l := range r.Libraries {
		if l.Found && l.Path == "" {
			t.Errorf("%s found without a path", l.Name)
		}
		if !l.Found && l.Error == "" {
			t.Errorf("%s missing without a reason", l.Name)
		}
	}
	if !r.Usable && r.Reason == "" {
		t.Error("unusable without a reason")
	}
	if r.Usable && len(r.Devices) == 0 {
		t.Error("usable without a device")
	}
}

// TestLaunchedKernelsExist checks that every kernel name the backend
// launches is defined by package native (a typo would only show on a GPU).
func TestLaunchedKernelsExist(t *testing.T) {
	ks, err := native.Kernels()
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`launch(?:On)?\((?:[a-zA-Z.]+, )?"([a-z0-9_]+)"`)
	n := 0
	for _, f := range []string{"ops.go", "dream.go"} {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(src), -1) {
			n++
			if _, ok := ks[m[1]]; !ok {
				t.Errorf("%s launches %s, which native does not define", f, m[1])
			}
		}
	}
	if n < 10 {
		t.Fatalf("found only %d launch sites: the pattern no longer matches the code", n)
	}
}

// shared wraps the process-wide backend so the conformance suite's Close
// per subtest leaves it open.
type shared struct{ *cuda.Backend }

func (shared) Close() error { return nil }

func TestConformance(t *testing.T) {
	b := openGPU(t)
	backendtest.Run(t, func(t *testing.T) backend.Backend { return shared{b} })
}
