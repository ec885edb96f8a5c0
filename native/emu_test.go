package native

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dream-lsp/dream-lsp/internal/testenv"
)

// TestKernelsOnCPU compiles the CUDA kernels as host C++ with
// testdata/emu/shim.h (one fiber per CUDA thread, real barriers and warp
// shuffles) and runs testdata/emu/main.cc, which checks every kernel
// against double-precision references: attention with GQA, masks and key
// splits, RMSNorm, RoPE with the K/V-cache write, SiLU·mul, gathers,
// sampling. It catches logic errors without a GPU; it cannot catch
// NVRTC-specific compile errors or performance problems.
func TestKernelsOnCPU(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles C++ (about 15 s): skipped with -short")
	}
	cxx := ""
	for _, c := range []string{os.Getenv("CXX"), "c++", "g++", "clang++"} {
		if c == "" {
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			cxx = p
			break
		}
	}
	if cxx == "" {
		testenv.Missing(t, "no C++ compiler (c++, g++ or clang++) to build the kernel emulator")
	}
	bin := filepath.Join(t.TempDir(), "emu")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, cxx, "-std=c++20", "-O1", "-I", "kernels",
		"-include", "testdata/emu/shim.h", "testdata/emu/main.cc", "-o", bin)
	if out, err := build.CombinedOutput(); err != nil {
		if strings.Contains(string(out), "unrecognized command-line option") || strings.Contains(string(out), "c++20") {
			testenv.Missingf(t, "%s cannot build C++20: %s", cxx, out)
		}
		t.Fatalf("building the kernel emulator: %v\n%s", err, out)
	}
	out, err := exec.CommandContext(ctx, bin).CombinedOutput()
	t.Logf("kernel emulator:\n%s", out)
	if err != nil || !strings.Contains(string(out), "EMU PASS") {
		t.Fatalf("kernel checks failed (%v)", err)
	}
}
