package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/dream-lsp/dream-lsp/runtime/backend"
	"github.com/dream-lsp/dream-lsp/runtime/quant"
)

var storedFormats = []backend.WeightFormat{backend.WeightBF16, backend.WeightF16, backend.WeightQ8_0}

func randWeights(r *rand.Rand, n int, scale float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64() * scale)
	}
	return v
}

func newWeight(t testing.TB, b *Backend, f backend.WeightFormat, w []float32, rows, cols int) *wtensor {
	t.Helper()
	raw, err := quant.Encode(f, w, rows, cols)
	if err != nil {
		t.Fatal(err)
	}
	wt, err := b.UploadWeight(raw, f, rows, cols)
	if err != nil {
		t.Fatal(err)
	}
	return wt.(*wtensor)
}

// TestDecodeSIMDMatchesGo requires the assembly decoders to give the same
// bits as the pure-Go ones, on random values and on every float16 and
// bfloat16 pattern (subnormals, infinities; a NaN may come back quieted).
func TestDecodeSIMDMatchesGo(t *testing.T) {
	if !haveVecOps || !haveF16C {
		t.Skip("no SIMD decoders on this CPU or build")
	}
	b := New(1)
	all := make([]byte, 2<<16)
	for h := range 1 << 16 {
		all[2*h], all[2*h+1] = byte(h), byte(h>>8)
	}
	for _, f := range []backend.WeightFormat{backend.WeightBF16, backend.WeightF16} {
		w, err := b.UploadWeight(all, f, 1<<8, 1<<8)
		if err != nil {
			t.Fatal(err)
		}
		wt := w.(*wtensor)
		got, want := make([]float32, 256), make([]float32, 256)
		for r := range 256 {
			for _, k := range [][2]int{{0, 256}, {8, 37}, {3, 4}} {
				n := k[1] - k[0]
				wt.decodeRow(got[:n], r, k[0], k[1])
				wt.decodeRowGo(want[:n], r, k[0], k[1])
				for i := range n {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
						t.Fatalf("%s row %d [%d:%d] value %d: SIMD %#08x, Go %#08x", f, r, k[0], k[1], i, math.Float32bits(got[i]), math.Float32bits(want[i]))
					}
				}
			}
		}
	}
	r := rand.New(rand.NewPCG(3, 3))
	x := randWeights(r, 64*256, 1)
	x[5], x[40] = 0, 1e-6 // an all-small block, a zero
	for i := 64; i < 96; i++ {
		x[i] = 0 // an all-zero block: scale 0
	}
	wt := newWeight(t, b, backend.WeightQ8_0, x, 64, 256)
	got, want := make([]float32, 256), make([]float32, 256)
	for row := range 64 {
		for _, k := range [][2]int{{0, 256}, {32, 96}, {224, 256}} {
			n := k[1] - k[0]
			wt.decodeRow(got[:n], row, k[0], k[1])
			wt.decodeRowGo(want[:n], row, k[0], k[1])
			for i := range n {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("q8_0 row %d [%d:%d] value %d: SIMD %g, Go %g", row, k[0], k[1], i, got[i], want[i])
				}
			}
		}
	}
}

// matMulMatchesFloat32 runs MatMul (x [T,K], bias [N] or nil) with the
// stored weight wt and with the float32 weight wdec it decodes to,
// requires the two outputs to be equal bit for bit, and returns the
// stored weight's. (A small weight on the broadcast kernels is packed on
// both paths, bcastWeight, so this holds there too.)
func matMulMatchesFloat32(t *testing.T, be *Backend, x []float32, wt backend.Tensor, wdec, bias []float32, T, K, N int) []float32 {
	t.Helper()
	xt, _ := be.Wrap(x, T, K)
	wf, _ := be.Wrap(wdec, N, K)
	var bt backend.Tensor
	if bias != nil {
		bt, _ = be.Wrap(bias, 1, N)
	}
	got, _ := be.Alloc(T, N)
	want, _ := be.Alloc(T, N)
	if err := be.MatMul(got, xt, wt, bt); err != nil {
		t.Fatal(err)
	}
	if err := be.MatMul(want, xt, wf, bt); err != nil {
		t.Fatal(err)
	}
	g, w := Data(got), Data(want)
	for i := range g {
		if math.Float32bits(g[i]) != math.Float32bits(w[i]) {
			t.Fatalf("element %d: %s %g, float32 %g", i, wt.(*wtensor).format, g[i], w[i])
		}
	}
	return g
}

// TestMatMulStoredMatchesFloat32 requires MatMul with a stored-format
// weight to equal, bit for bit, MatMul with the float32 weight it decodes
// to (same kernels, same blocking), with the SIMD kernels and with pure Go,
// and both to be within float rounding of a float64 reference; through
// decoded panels and through the rows a small weight keeps decoded.
func TestMatMulStoredMatchesFloat32(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	// N a multiple of 16: the broadcast kernels where useBcast.
	shapes := [][3]int{{1, 32, 4}, {3, 64, 7}, {7, 96, 9}, {50, 320, 70}, {200, 544, 130}, {4, 7 * 32, 4}, {13, 192, 48}, {70, 96, 128}}
	defer func(m int) { decodedMax = m }(decodedMax)
	for _, path := range []string{"kept-decoded", "panels"} {
		decodedMax = 1 << 20
		if path == "panels" {
			decodedMax = 0
		}
		for _, f := range storedFormats {
			for _, s := range shapes {
				T, K, N := s[0], s[1], s[2]
				t.Run(fmt.Sprintf("%s/%s/%dx%dx%d", path, f, T, K, N), func(t *testing.T) {
					be := New(2)
					x := randWeights(r, T*K, 1)
					wt := newWeight(t, be, f, randWeights(r, N*K, 0.05), N, K)
					wdec, err := quant.Decode(f, wt.raw, N, K)
					if err != nil {
						t.Fatal(err)
					}
					bias := randWeights(r, N, 1)
					g := matMulMatchesFloat32(t, be, x, wt, wdec, bias, T, K, N)
					// Pure-Go tiles on the decoded panel against float64.
					goOut := make([]float32, T*N)
					for k0 := 0; k0 < K; k0 += blockK {
						k1 := min(k0+blockK, K)
						tileMatMulGo(goOut, x, wdec, K, N, 0, T, 0, N, k0, k1)
					}
					for i := range T {
						for j := range N {
							var ref, mag float64
							for k := range K {
								p := float64(x[i*K+k]) * float64(wdec[j*K+k])
								ref += p
								mag += math.Abs(p)
							}
							tol := 1e-5*mag + 1e-6
							if d := math.Abs(float64(g[i*N+j]) - float64(bias[j]) - ref); d > tol {
								t.Fatalf("[%d,%d]: got %g, float64 %g (|diff| %g > %g)", i, j, float64(g[i*N+j])-float64(bias[j]), ref, d, tol)
							}
							if d := math.Abs(float64(goOut[i*N+j]) - ref); d > tol {
								t.Fatalf("[%d,%d]: pure Go %g, float64 %g", i, j, goOut[i*N+j], ref)
							}
						}
					}
				})
			}
		}
	}
}

func TestEmbedStored(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	be := New(1)
	for _, f := range storedFormats {
		w := randWeights(r, 10*64, 0.1)
		wt := newWeight(t, be, f, w, 10, 64)
		dec, _ := quant.Decode(f, wt.raw, 10, 64)
		out, _ := be.Alloc(3, 64)
		if err := be.Embed(out, wt, []int{9, 0, 4}); err != nil {
			t.Fatal(err)
		}
		for i, id := range []int{9, 0, 4} {
			for k := range 64 {
				if Data(out)[i*64+k] != dec[id*64+k] {
					t.Fatalf("%s: row %d value %d", f, id, k)
				}
			}
		}
		if err := be.Embed(out, wt, []int{1, 2, 10}); err == nil {
			t.Fatalf("%s: id 10 of 10 rows accepted", f)
		}
	}
}

func TestUploadWeightRejects(t *testing.T) {
	be := New(1)
	for _, tc := range []struct {
		f          backend.WeightFormat
		n          int
		rows, cols int
	}{
		{backend.WeightBF16, 7, 2, 2},
		{backend.WeightQ8_0, 34, 1, 16},
		{backend.WeightQ8_0, 33, 1, 32},
		{"q4_k", 8, 1, 4},
		{backend.WeightF16, 4, -1, 2},
	} {
		if _, err := be.UploadWeight(make([]byte, tc.n), tc.f, tc.rows, tc.cols); err == nil {
			t.Errorf("%+v accepted", tc)
		}
	}
	w, _ := be.UploadWeight(make([]byte, 8), backend.WeightBF16, 2, 2)
	be.Free(w)
	out, _ := be.Alloc(1, 2)
	x, _ := be.Alloc(1, 2)
	if err := be.MatMul(out, x, w, nil); err == nil {
		t.Error("MatMul with a freed weight succeeded")
	}
}

func BenchmarkMatMulStored(b *testing.B) {
	// bf16-amx, q8_0-amx: those weights on AMX tiles (SetBF16Matmul),
	// skipped with the reason where the CPU has none.
	for _, f := range append([]backend.WeightFormat{backend.WeightF32}, append(storedFormats, amxBench, amxQ8Bench)...) {
		for _, s := range []struct {
			name    string
			T, K, N int
		}{
			{"320x896x4864", 320, 896, 4864},
			{"320x4864x896", 320, 4864, 896}, // the cache-off forward's MLP down projection
			{"64x896x896", 64, 896, 896},
			{"65x896x4864", 65, 896, 4864}, // a cached block step: 64 masks and the slot before
			{"65x4864x896", 65, 4864, 896},
			{"33x896x4864", 33, 896, 4864}, // a cached block step at Fast-dLLM's blocks of 32
			{"33x4864x896", 33, 4864, 896},
		} {
			b.Run(string(f)+"/"+s.name, func(b *testing.B) {
				be, f := benchBackend(b, f)
				r := rand.New(rand.NewPCG(1, 2))
				x, _ := be.Wrap(randWeights(r, s.T*s.K, 1), s.T, s.K)
				raw, _ := quant.Encode(f, randWeights(r, s.N*s.K, 0.02), s.N, s.K)
				w, err := be.UploadWeight(raw, f, s.N, s.K)
				if err != nil {
					b.Fatal(err)
				}
				out, _ := be.Alloc(s.T, s.N)
				// One product first: decoded or repacked copies are made once
				// per weight, at load time's cost, not per pass.
				if err := be.MatMul(out, x, w, nil); err != nil {
					b.Fatal(err)
				}
				c0 := cpuSeconds()
				for b.Loop() {
					if err := be.MatMul(out, x, w, nil); err != nil {
						b.Fatal(err)
					}
				}
				flops := 2 * float64(s.T*s.K*s.N) * float64(b.N)
				b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				b.ReportMetric(flops/(cpuSeconds()-c0)/1e9, "GFLOP/cpu-s")
			})
		}
	}
}

// BenchmarkLMHeadStored is lm_head at the Qwen2.5-0.5B shape on the 64
// masked rows of a denoising step: x[64,896]·W[151936,896]ᵀ, a weight far
// larger than the caches, so it measures decoding from memory as well as
// the kernels.
func BenchmarkLMHeadStored(b *testing.B) {
	const K, N = 896, 151936
	for _, f := range []backend.WeightFormat{backend.WeightBF16, backend.WeightQ8_0, amxBench, amxQ8Bench} {
		for _, T := range []int{64, 16} {
			name := string(f)
			if T != 64 {
				name += fmt.Sprintf("/%drows", T) // a block step's masked rows
			}
			b.Run(name, func(b *testing.B) {
				be, f := benchBackend(b, f)
				r := rand.New(rand.NewPCG(1, 2))
				x, _ := be.Wrap(randWeights(r, T*K, 1), T, K)
				raw, _ := quant.Encode(f, randWeights(r, N*K, 0.02), N, K)
				w, err := be.UploadWeight(raw, f, N, K)
				if err != nil {
					b.Fatal(err)
				}
				out, _ := be.Alloc(T, N)
				if err := be.MatMul(out, x, w, nil); err != nil { // as in BenchmarkMatMulStored
					b.Fatal(err)
				}
				c0 := cpuSeconds()
				for b.Loop() {
					if err := be.MatMul(out, x, w, nil); err != nil {
						b.Fatal(err)
					}
				}
				flops := 2 * float64(T*K*N) * float64(b.N)
				b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				b.ReportMetric(flops/(cpuSeconds()-c0)/1e9, "GFLOP/cpu-s")
			})
		}
	}
}

// amxBench and amxQ8Bench name the benchmarks' cases of bf16 and q8_0
// weights on AMX tiles (not weight formats).
const (
	amxBench   backend.WeightFormat = "bf16-amx"
	amxQ8Bench backend.WeightFormat = "q8_0-amx"
)

// benchBackend returns a backend on every core for benchmark case f and
// the weight format to upload: the -amx cases are their format with
// SetBF16Matmul, and skip where the CPU has no AMX.
func benchBackend(b *testing.B, f backend.WeightFormat) (*Backend, backend.WeightFormat) {
	be := New(0)
	stored, amx := strings.CutSuffix(string(f), "-amx")
	if !amx {
		return be, f
	}
	if err := be.SetBF16Matmul(true); err != nil {
		b.Skip(err)
	}
	return be, backend.WeightFormat(stored)
}
