package cuda_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/dream-lsp/dream-lsp/internal/testenv"
	"github.com/dream-lsp/dream-lsp/native"
	"github.com/dream-lsp/dream-lsp/runtime/backend"
	"github.com/dream-lsp/dream-lsp/runtime/backend/backendtest"
	"github.com/dream-lsp/dream-lsp/runtime/backend/cuda"
)

// emuDispatch generates the C++ that lets the fake driver run a launch on
// the CPU: per kernel, unpack the parameter block at the offsets
// native.Kernel.Pack uses and call the kernel under the emulator.
func emuDispatch() (string, error) {
	ks, err := native.Kernels()
	if err != nil {
		return "", err
	}
	units, err := native.Units()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("#include \"shim.h\"\n#include <cstring>\n")
	for _, u := range units {
		fmt.Fprintf(&b, "#include %q\n", u)
	}
	b.WriteString(`extern "C" int fake_emu_launch(const char* name, const unsigned char* buf, unsigned gx, unsigned gy, unsigned gz, unsigned bx) {` + "\n")
	names := make([]string, 0, len(ks))
	for n := range ks {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		k := ks[n]
		fmt.Fprintf(&b, "    if (std::strcmp(name, %q) == 0) {\n", n)
		off := 0
		args := make([]string, len(k.Params))
		for i, p := range k.Params {
			sz := p.Kind.Size()
			off = (off + sz - 1) / sz * sz
			fmt.Fprintf(&b, "        %s p%d;\n        std::memcpy(&p%d, buf + %d, sizeof p%d);\n", p.Type, i, i, off, i)
			off += sz
			args[i] = fmt.Sprintf("p%d", i)
		}
		fmt.Fprintf(&b, "        emu_launch(emu_dim3{gx, gy, gz}, bx, [&] { %s(%s); });\n        return 0;\n    }\n", n, strings.Join(args, ", "))
	}
	b.WriteString("    return 1;\n}\n")
	return b.String(), nil
}

// EnvEmuFull, set to 1, makes TestEmulatedGPU run its whole set (about
// 18 minutes on a 2-core VM, most of it the golden traces) instead of the
// fast subset CI runs by default.
const EnvEmuFull = "DREAM_EMU_FULL"

// emuQuickGolden is the fast subset's golden trace: tiny-gqa's case 2
// (maskgit_plus, 8 steps on a 30-token canvas).
var emuQuickGolden = map[string][]int{"tiny-gqa": {2}}

// emuQuickEngine is the fast subset's case of the engine check on
// tiny-mha-sharded: case 31 (topk_margin, 4 steps on 12 tokens whose first
// slot is masked: Dream's row-0 rule; the dream check covers a block in
// the middle of a canvas).
var emuQuickEngine = []int{31}

// TestEmulatedGPU runs the CUDA backend end to end on the CPU: the fake
// driver executes every launch with the real kernel sources under the
// emulator (fibers for threads, emulated tensor-core mma) and the fake
// cuBLASLt computes the GEMMs. In a subprocess, by default (CI): the
// conformance suite, the bf16 path against the float32 path (both
// attention paths and the skinny GEMM), cached steps and one golden greedy
// trace on a tiny model. With DREAM_EMU_FULL=1 also batched canvases and
// every golden trace of the three tiny models.
func TestEmulatedGPU(t *testing.T) {
	if os.Getenv("DREAM_FAKE_CHILD") != "" {
		t.Skip("running as a child")
	}
	if testing.Short() {
		t.Skip("builds the kernel emulator (about 30 s): skipped with -short")
	}
	cc, err1 := exec.LookPath("cc")
	cxx, err2 := exec.LookPath("c++")
	if err1 != nil || err2 != nil {
		testenv.Missing(t, "needs cc and c++ to build the emulated driver")
	}
	dir := t.TempDir()
	src, err := emuDispatch()
	if err != nil {
		t.Fatal(err)
	}
	gen := filepath.Join(dir, "emu_gen.cc")
	if err := os.WriteFile(gen, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	kernels, _ := filepath.Abs(filepath.Join("..", "..", "..", "native", "kernels"))
	emu, _ := filepath.Abs(filepath.Join("..", "..", "..", "native", "testdata", "emu"))
	fake := filepath.Join("testdata", "fakecuda", "fake.c")
	steps := [][]string{
		{cc, "-O1", "-fPIC", "-c", fake, "-o", filepath.Join(dir, "fake.o")},
		{cxx, "-std=c++20", "-O1", "-fPIC", "-I", kernels, "-I", emu, "-c", gen, "-o", filepath.Join(dir, "emu.o")},
		{cxx, "-shared", filepath.Join(dir, "fake.o"), filepath.Join(dir, "emu.o"), "-o", filepath.Join(dir, "libcuda.so.1")},
		{cc, "-shared", "-fPIC", "-O1", "-o", filepath.Join(dir, "libnvrtc.so.13"), fake},
		{cc, "-shared", "-fPIC", "-O1", "-o", filepath.Join(dir, "libcublasLt.so.13"), fake},
	}
	for _, s := range steps {
		if out, err := exec.Command(s[0], s[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", s, err, out)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestFakeDriverChild$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "DREAM_FAKE_CHILD=emu", "FAKE_CUDA=emu", cuda.EnvLibs+"="+dir, cuda.EnvCache+"=off")
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil || !strings.Contains(string(out), "--- PASS: TestFakeDriverChild") {
		t.Fatalf("emulated GPU: %v", err)
	}
	// The child's checks must have run, not skipped: each one's PASS line.
	want := []string{"conformance", "bf16", "cached", "golden", "dream", "engine"}
	if os.Getenv(EnvEmuFull) == "1" {
		want = append(want, "batched")
	}
	for _, sub := range want {
		if !strings.Contains(string(out), "--- PASS: TestFakeDriverChild/"+sub+" ") {
			t.Errorf("emulated GPU: check %q did not pass in the child", sub)
		}
	}
	t.Run("full", func(t *testing.T) {
		if os.Getenv(EnvEmuFull) != "1" {
			t.Skipf("opt-in: batched canvases and the other golden traces on the emulated GPU: set %s=1 (about 18 min)", EnvEmuFull)
		}
	})
}

// emuChild is the "emu" scenario of TestFakeDriverChild.
func emuChild(t *testing.T, b *cuda.Backend) {
	t.Run("conformance", func(t *testing.T) {
		backendtest.Run(t, func(t *testing.T) backend.Backend { return shared{b} })
	})
	full := os.Getenv(EnvEmuFull) == "1"
	cfg, _ := checkShape(2)
	cfg.HiddenSize, cfg.NumHeads, cfg.NumKVHeads, cfg.HeadDim, cfg.IntermediateSize = 256, 4, 2, 64, 512
	cfg.VocabSize, cfg.MaskTokenID, cfg.BOSTokenID, cfg.EOSTokenID, cfg.PadTokenID = 512, 511, 509, 510, 510
	cfg.EOSTokenIDs = []int{510}
	if !full {
		cfg.NumLayers = 1 // half the emulated work; two layers with DREAM_EMU_FULL=1
	}
	t.Run("bf16", func(t *testing.T) { runBF16Match(t, b, cfg, 128) })
	t.Run("cached", func(t *testing.T) { runCachedStep(t, b, cfg, 96, 16, 40) })
	t.Run("batched", func(t *testing.T) {
		if !full {
			t.Skipf("opt-in: set %s=1", EnvEmuFull)
		}
		runBatched(t, b, cfg, 64, 8, 30)
	})
	t.Run("golden", func(t *testing.T) {
		if full {
			runGoldenTraces(t, b, nil)
		} else {
			runGoldenTraces(t, b, emuQuickGolden)
		}
	})
	t.Run("dream", func(t *testing.T) { runDreamSamples(t, b, "tiny-mha-sharded") })
	t.Run("engine", func(t *testing.T) {
		if full {
			runEngineFastPath(t, b, "tiny-mha-sharded", nil)
		} else {
			runEngineFastPath(t, b, "tiny-mha-sharded", emuQuickEngine)
		}
	})
}
