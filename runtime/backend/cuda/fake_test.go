package cuda_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/dream-lsp/dream-lsp/internal/testenv"
	"github.com/dream-lsp/dream-lsp/runtime/backend"
	"github.com/dream-lsp/dream-lsp/runtime/backend/backendtest"
	"github.com/dream-lsp/dream-lsp/runtime/backend/cuda"
	"github.com/dream-lsp/dream-lsp/runtime/backend/cuda/internal/dl"
	"github.com/ebitengine/purego"
)

// TestFakeDriver builds testdata/fakecuda/fake.c into stand-ins for
// libcuda, libnvrtc and libcublasLt and runs TestFakeDriverChild in a
// subprocess per scenario (DREAM_CUDA_LIBS points at the fakes), so the
// purego bindings, error mapping, library discovery, kernel-parameter
// packing and the row-major GEMM mapping are exercised without a GPU.
func TestFakeDriver(t *testing.T) {
	if os.Getenv("DREAM_FAKE_CHILD") != "" {
		t.Skip("running as a child")
	}
	cc := ""
	for _, c := range []string{os.Getenv("CC"), "cc", "gcc", "clang"} {
		if c == "" {
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			cc = p
			break
		}
	}
	if cc == "" {
		testenv.Missing(t, "no C compiler to build the fake CUDA libraries")
	}
	dir := t.TempDir()
	for _, name := range []string{"libcuda.so.1", "libnvrtc.so.13", "libcublasLt.so.13"} {
		out, err := exec.Command(cc, "-shared", "-fPIC", "-O1", "-o", filepath.Join(dir, name), filepath.Join("testdata", "fakecuda", "fake.c")).CombinedOutput()
		if err != nil {
			t.Fatalf("build %s: %v\n%s", name, err, out)
		}
	}
	for _, sc := range []string{"ok", "noinit", "old", "compile", "compile-gemm", "oom", "report"} {
		t.Run(sc, func(t *testing.T) {
			if sc == "report" && testing.Short() {
				t.Skip("the report at Dream 7B's width takes a few seconds")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			run, pass := "^TestFakeDriverChild$", "--- PASS: TestFakeDriverChild"
			mode := sc
			env := []string{"DREAM_FAKE_CHILD=" + sc, cuda.EnvLibs + "=" + dir, cuda.EnvCache + "=off"}
			switch sc {
			case "ok":
				mode = ""
			case "report":
				// The whole timing report through the fake: every code path
				// of bench/gpu's Go step, with a 2-layer model.
				run, pass, mode = "^TestGPUReport$", "--- PASS: TestGPUReport", "nogemm"
				env = append(env, EnvReport+"="+filepath.Join(dir, "report.json"), "DREAM_GPU_LOGITS="+filepath.Join(dir, "logits.f32"), "DREAM_GPU_LAYERS=2")
			}
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run="+run, "-test.v", "-test.count=1")
			cmd.Env = append(append(os.Environ(), env...), "FAKE_CUDA="+mode)
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), pass) {
				t.Fatalf("child %s: %v\n%s", sc, err, out)
			}
			if sc == "report" {
				checkFakeReport(t, filepath.Join(dir, "report.json"))
			}
			t.Logf("%s", out)
		})
	}
}

// TestFakeDriverChild is the subprocess TestFakeDriver and TestEmulatedGPU
// start (the helper-process pattern of os/exec's tests): in a plain run it
// is not a test and returns at once, which keeps it out of the skip count.
func TestFakeDriverChild(t *testing.T) {
	sc := os.Getenv("DREAM_FAKE_CHILD")
	if sc == "" {
		return
	}
	b, err := cuda.Open(cuda.Options{})
	probe := cuda.Probe()
	switch sc {
	case "noinit":
		if !errors.Is(err, cuda.ErrUnavailable) || !strings.Contains(err.Error(), "cuInit: CUDA_ERROR_NO_DEVICE (100)") ||
			!strings.Contains(err.Error(), "no CUDA-capable device is detected (fake)") {
			t.Fatalf("Open = %v, want ErrUnavailable naming cuInit, the status and the driver's message", err)
		}
		if probe.Usable || !strings.Contains(probe.Reason, "cuInit") {
			t.Fatalf("Probe = %+v", probe)
		}
	case "old":
		if !errors.Is(err, cuda.ErrUnavailable) || !strings.Contains(err.Error(), "compute capability 7.5") {
			t.Fatalf("Open = %v, want ErrUnavailable for compute capability 7.5", err)
		}
	case "compile":
		if err == nil || errors.Is(err, cuda.ErrUnavailable) {
			t.Fatalf("Open = %v, want a compile error that is not ErrUnavailable", err)
		}
		for _, want := range []string{"NVRTC_ERROR_COMPILATION (6)", "fake compile failure", ".cu", "sm_90"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("compile error %q lacks %q", err, want)
			}
		}
		if !probe.Usable || len(probe.Devices) != 1 || probe.Devices[0].Name != "Fake H100" || probe.DriverVersion != "13.0" ||
			probe.NVRTCVersion != "13.0" || probe.CublasLtVersion != 130000 {
			t.Errorf("Probe = %+v", probe)
		}
		for _, l := range probe.Libraries {
			if !l.Found || !strings.HasPrefix(l.Path, os.Getenv(cuda.EnvLibs)) {
				t.Errorf("library %s not found in the override directory: %+v", l.Name, l)
			}
		}
	case "compile-gemm":
		if err != nil {
			t.Fatalf("Open with only the optional gemm.cu failing: %v", err)
		}
		defer b.Close()
		if ue := b.UnitErrors()["gemm.cu"]; ue == nil || !strings.Contains(ue.Error(), "fake compile failure") {
			t.Fatalf("UnitErrors = %v", b.UnitErrors())
		}
		m, err := b.NewRandomBF16Model(cuda.DreamShape{Hidden: 256, Intermediate: 512, Layers: 1, Heads: 2, KVHeads: 1, HeadDim: 128,
			Vocab: 100, Theta: 1e6, Eps: 1e-6}, 16, 16, 4, 1)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		m.SetSkinnyGEMM(true) // falls back to cuBLASLt
		if _, err := m.Forward(cuda.ForwardArgs{IDs: iota(8, 1), Positions: iota(8, 0), Rows: []int{1, 2}}, false); err != nil {
			t.Fatalf("Forward without the skinny kernel: %v", err)
		}
		if _, err := m.TimeGEMM(8, 32, 256, 0, 1); err == nil || !strings.Contains(err.Error(), "unavailable") {
			t.Errorf("TimeGEMM with the skinny kernel missing: %v", err)
		}
	case "oom":
		if err == nil || !strings.Contains(err.Error(), "CUDA_ERROR_OUT_OF_MEMORY (2)") || !strings.Contains(err.Error(), "out of memory (fake)") {
			t.Fatalf("Open = %v, want the out-of-memory error with the driver's message", err)
		}
	case "ok":
		if err != nil {
			t.Fatalf("Open with the fake driver: %v", err)
		}
		defer b.Close()
		fakeOK(t, b)
	case "emu":
		if err != nil {
			t.Fatalf("Open with the emulated driver: %v", err)
		}
		defer b.Close()
		emuChild(t, b)
	default:
		t.Fatalf("unknown scenario %q", sc)
	}
}

type devicePointer interface{ DevicePtr() uint64 }

// lastLaunch reads the fake driver's record of the last kernel launch.
func lastLaunch(t *testing.T) (name string, params []byte, dims [6]uint32) {
	t.Helper()
	lib, err := dl.Open(filepath.Join(os.Getenv(cuda.EnvLibs), "libcuda.so.1"))
	if err != nil {
		t.Fatal(err)
	}
	fn, err := lib.Sym("fake_last_launch")
	if err != nil {
		t.Fatal(err)
	}
	nb := make([]byte, 64)
	params = make([]byte, 4096)
	var size uint64
	purego.SyscallN(fn, uintptr(unsafe.Pointer(&nb[0])), uintptr(unsafe.Pointer(&params[0])), uintptr(unsafe.Pointer(&size)), uintptr(unsafe.Pointer(&dims[0])))
	return dl.GoString(&nb[0], len(nb)), params[:size], dims
}

// deviceInts reads n int32 from a fake device address (host memory).
func deviceInts(t *testing.T, p uint64, n int) []int32 {
	t.Helper()
	lib, err := dl.Open(filepath.Join(os.Getenv(cuda.EnvLibs), "libcuda.so.1"))
	if err != nil {
		t.Fatal(err)
	}
	fn, err := lib.Sym("cuMemcpyDtoH_v2")
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int32, n)
	purego.SyscallN(fn, uintptr(unsafe.Pointer(&out[0])), uintptr(p), uintptr(4*n))
	return out
}

func fakeOK(t *testing.T, b *cuda.Backend) {
	if got := b.Info(); got.Name != "Fake H100" || got.Arch() != "sm_90" || got.SMs != 132 {
		t.Errorf("Info = %+v", got)
	}
	// Upload/Read through the fake's memcpy.
	r := rand.New(rand.NewPCG(1, 2))
	data := make([]float32, 6*7)
	for i := range data {
		data[i] = float32(r.NormFloat64())
	}
	x, err := b.Upload(data, 6, 7)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]float32, len(data))
	if err := b.Read(x, got); err != nil {
		t.Fatal(err)
	}
	for i := range data {
		if got[i] != data[i] {
			t.Fatalf("Read after Upload: element %d = %g, want %g", i, got[i], data[i])
		}
	}
	// Embed: the packed parameters must be (out, table, ids, n, dim, vocab)
	// at their C offsets, with the ids copied to the device.
	out, _ := b.Alloc(3, 7)
	ids := []int{5, 0, 2}
	if err := b.Embed(out, x, ids); err != nil {
		t.Fatal(err)
	}
	name, p, dims := lastLaunch(t)
	le := binary.LittleEndian
	if name != "embed_gather_f32" || len(p) != 36 || dims != [6]uint32{3, 1, 1, 256, 1, 1} {
		t.Fatalf("launch %s, %d bytes of parameters, dims %v", name, len(p), dims)
	}
	if le.Uint64(p[0:]) != out.(devicePointer).DevicePtr() || le.Uint64(p[8:]) != x.(devicePointer).DevicePtr() {
		t.Errorf("pointer parameters %#x %#x", le.Uint64(p[0:]), le.Uint64(p[8:]))
	}
	if got := deviceInts(t, le.Uint64(p[16:]), 3); got[0] != 5 || got[1] != 0 || got[2] != 2 {
		t.Errorf("ids on the device = %v", got)
	}
	if n, dim, vocab := le.Uint32(p[24:]), le.Uint32(p[28:]), le.Uint32(p[32:]); n != 3 || dim != 7 || vocab != 6 {
		t.Errorf("n, dim, vocab = %d, %d, %d", n, dim, vocab)
	}
	// RMSNorm: eps travels as float bits, the residual input is null.
	w, _ := b.Upload(data[:7], 1, 7)
	if err := b.RMSNorm(x, x, w, 1e-6); err != nil {
		t.Fatal(err)
	}
	name, p, _ = lastLaunch(t)
	if name != "add_rmsnorm_f32" || le.Uint64(p[8:]) != 0 || math.Float32frombits(le.Uint32(p[40:])) != 1e-6 {
		t.Errorf("rmsnorm launch %s: x %#x eps %g", name, le.Uint64(p[8:]), math.Float32frombits(le.Uint32(p[40:])))
	}
	// MatMul through the fake cuBLASLt, which really computes: checks the
	// row-major to column-major mapping, the bias epilogue and plan reuse.
	for _, s := range [][3]int{{1, 1, 1}, {5, 7, 9}, {17, 33, 65}, {5, 7, 9}} {
		T, K, N := s[0], s[1], s[2]
		xs, ws, bs := randVec(r, T*K), randVec(r, N*K), randVec(r, N)
		xt, _ := b.Upload(xs, T, K)
		wt, _ := b.Upload(ws, N, K)
		bt, _ := b.Upload(bs, 1, N)
		for _, bias := range []backend.Tensor{nil, bt} {
			o, _ := b.Alloc(T, N)
			if err := b.MatMul(o, xt, wt, bias); err != nil {
				t.Fatal(err)
			}
			var bv []float32
			if bias != nil {
				bv = bs
			}
			want := backendtest.RefMatMul(xs, ws, bv, T, K, N)
			got := make([]float32, T*N)
			if err := b.Read(o, got); err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if math.Abs(float64(got[i])-want[i]) > 1e-4*(1+math.Abs(want[i])) {
					t.Fatalf("MatMul %v bias=%v: element %d = %g, want %g", s, bias != nil, i, got[i], want[i])
				}
			}
		}
	}
	// The bf16 fast path's plumbing: allocation, plans, eager and graph
	// forward, event timing (kernels are no-ops here).
	shape := cuda.DreamShape{Hidden: 256, Intermediate: 512, Layers: 2, Heads: 2, KVHeads: 1, HeadDim: 128, Vocab: 1000, Theta: 1e6, Eps: 1e-6}
	m, err := b.NewRandomBF16Model(shape, 64, 64, 8, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	args := cuda.ForwardArgs{IDs: iota(16, 3), Positions: iota(16, 0), Rows: iota(8, 4), Temperature: 0.7, Seed: 1, Step: 2}
	for _, mode := range []cuda.AttentionMode{cuda.AttentionGEMM, cuda.AttentionFused} {
		m.SetAttention(mode)
		for _, graph := range []bool{false, true, true} {
			if _, err := m.Forward(args, graph); err != nil {
				t.Fatalf("Forward attention=%v graph=%v: %v", mode, graph, err)
			}
		}
	}
	name, p, dims = lastLaunch(t)
	if name != "sample_rows" || dims[0] != 8 || dims[3] != 512 || math.Float32frombits(le.Uint32(p[16:])) != 0.7 {
		t.Errorf("last launch %s dims %v temperature %g", name, dims, math.Float32frombits(le.Uint32(p[16:])))
	}
	tuned, err := m.TuneGEMMs(1, 2)
	if err != nil || len(tuned) == 0 {
		t.Errorf("TuneGEMMs = %v, %v", tuned, err)
	}
	for _, tg := range tuned {
		if tg.Candidates < 1 || tg.BestMS != 1.5 {
			t.Errorf("tuned %+v (the fake has one candidate at 1.5 ms)", tg)
		}
	}
	if tm, err := m.TimeForward(args, true, 1, 3); err != nil || tm.MedianMS != 1.5 || tm.Reps != 3 {
		t.Errorf("TimeForward = %+v, %v (the fake reports 1.5 ms)", tm, err)
	}
	if _, err := m.Forward(cuda.ForwardArgs{IDs: []int{1000}, Positions: []int{0}, Rows: []int{0}}, false); err == nil {
		t.Error("Forward accepted a token id outside the vocabulary")
	}
	// The skinny GEMM path: the projections become gemm_skinny_bf16 launches.
	m.SetSkinnyGEMM(true)
	if _, err := m.Forward(args, false); err != nil {
		t.Fatalf("Forward with skinny GEMMs: %v", err)
	}
	m.SetSkinnyGEMM(false)
	// Two canvases in one forward, each against its own half of the cache.
	segs := []cuda.Segment{{Tokens: 8, KeyBase: 0, NK: 32}, {Tokens: 8, KeyBase: 32, NK: 32}}
	batched := cuda.ForwardArgs{IDs: iota(16, 3), Positions: append(iota(8, 0), iota(8, 0)...), Slots: append(iota(8, 0), iota(8, 32)...),
		Rows: []int{1, 2, 9, 10}, Segments: segs}
	for _, mode := range []cuda.AttentionMode{cuda.AttentionGEMM, cuda.AttentionFused} {
		m.SetAttention(mode)
		if _, err := m.Forward(batched, true); err != nil {
			t.Fatalf("batched forward (%v): %v", mode, err)
		}
	}
	for name, bad := range map[string][]cuda.Segment{
		"tokens do not add up":   {{Tokens: 8, NK: 32}},
		"keys past the cache":    {{Tokens: 8, NK: 32}, {Tokens: 8, KeyBase: 40, NK: 32}},
		"row at a segment start": nil,
	} {
		a := batched
		a.Segments = bad
		if bad == nil {
			a.Segments, a.Rows = segs, []int{8}
		}
		if _, err := m.Forward(a, false); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func randVec(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

// BenchmarkFakeForwardEnqueue measures the host side of one eager bf16
// forward at Dream 7B's shape through the fake driver (launches record
// their parameters, GEMMs compute nothing): purego calls, parameter
// packing, locking and GEMM plan lookups, without the real driver's own
// cost per launch. Skipped on a machine with a usable GPU (the fake
// libraries must not load next to the real ones).
func BenchmarkFakeForwardEnqueue(b *testing.B) {
	if cuda.Probe().Usable {
		b.Skip("a real GPU is present")
	}
	cc, err := exec.LookPath("cc")
	if err != nil {
		b.Skip("no C compiler to build the fake CUDA libraries")
	}
	dir := b.TempDir()
	for _, name := range []string{"libcuda.so.1", "libnvrtc.so.13", "libcublasLt.so.13"} {
		if out, err := exec.Command(cc, "-shared", "-fPIC", "-O1", "-o", filepath.Join(dir, name), filepath.Join("testdata", "fakecuda", "fake.c")).CombinedOutput(); err != nil {
			b.Fatalf("build %s: %v\n%s", name, err, out)
		}
	}
	b.Setenv(cuda.EnvLibs, dir)
	b.Setenv(cuda.EnvCache, "off")
	b.Setenv("FAKE_CUDA", "nogemm")
	be, err := cuda.Open(cuda.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer be.Close()
	m, err := be.NewRandomBF16Model(cuda.Dream7B, 1024, 1024, 64, 1)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	for _, c := range []struct {
		name string
		T    int
	}{{"step_B64", 65}, {"full_L1024", 1024}} {
		b.Run(c.name, func(b *testing.B) {
			args := cuda.ForwardArgs{IDs: iota(c.T, 5), Positions: iota(c.T, 0), NK: 1024, Rows: iota(64, 1)}
			_, before, _ := lastLaunchB(b)
			if _, err := m.Forward(args, false); err != nil {
				b.Fatal(err)
			}
			_, after, _ := lastLaunchB(b)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Forward(args, false); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(after-before), "launches/op")
		})
	}
}

func lastLaunchB(b *testing.B) (string, int, error) {
	lib, err := dl.Open(filepath.Join(os.Getenv(cuda.EnvLibs), "libcuda.so.1"))
	if err != nil {
		return "", 0, err
	}
	fn, err := lib.Sym("fake_last_launch")
	if err != nil {
		return "", 0, err
	}
	nb := make([]byte, 64)
	params := make([]byte, 4096)
	var size uint64
	var dims [6]uint32
	n, _, _ := purego.SyscallN(fn, uintptr(unsafe.Pointer(&nb[0])), uintptr(unsafe.Pointer(&params[0])), uintptr(unsafe.Pointer(&size)), uintptr(unsafe.Pointer(&dims[0])))
	return dl.GoString(&nb[0], len(nb)), int(n), nil
}

// checkFakeReport reads the report the fake run wrote: every measurement
// present, no errors, the fields dream_ref.py reads filled in.
func checkFakeReport(t *testing.T, path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Results []struct {
			Name string  `json:"name"`
			MS   float64 `json:"ms"`
		} `json:"results"`
		Errors map[string]string `json:"errors"`
		Canvas []int             `json:"canvas_ids"`
		Rows   []int             `json:"logits_rows"`
		Logits string            `json:"logits_file"`
		Infill map[string][]int  `json:"infill_tokens"`
		Shape  struct{ Layers, Vocab int }
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Errors) > 0 {
		t.Errorf("report errors: %v", rep.Errors)
	}
	names := map[string]bool{}
	for _, r := range rep.Results {
		names[r.Name] = true
	}
	for _, want := range []string{"gemm_qkv_M64", "gemm_qkv_M64_skinny", "forward_full_L1024_R64_graph", "forward_full_L1024_R64_graph_gemmattn",
		"step_cached_B64_ctx1024_graph", "step_cached_B64_ctx1024_graph_tuned", "step_cached_B64_ctx1024_graph_tuned_skinny",
		"step_cached_4x_B64_ctx1024_graph", "e2e_infill_64_in_1024_steps16_cached", "e2e_infill_64_in_1024_steps8_nocache"} {
		if !names[want] {
			t.Errorf("report lacks %s (has %d entries)", want, len(rep.Results))
		}
	}
	if rep.Shape.Layers != 2 || len(rep.Canvas) != 1024 || len(rep.Rows) != 64 || rep.Logits == "" || len(rep.Infill["e2e_infill_64_in_1024_steps16_nocache"]) != 64 {
		t.Errorf("report fields: layers %d, canvas %d, rows %d, logits %q, infill %d", rep.Shape.Layers, len(rep.Canvas), len(rep.Rows), rep.Logits, len(rep.Infill))
	}
	if st, err := os.Stat(rep.Logits); err != nil || st.Size() != int64(4*64*rep.Shape.Vocab) {
		t.Errorf("logits file: %v", err)
	}
}
