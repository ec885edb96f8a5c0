package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/dream-lsp/dream-lsp/runtime/backend"
	"github.com/dream-lsp/dream-lsp/runtime/quant"
	"github.com/dream-lsp/dream-lsp/runtime/weights"
)

// randKQuant returns rows×cols values of random blocks in f (a format
// read from GGUF files only): random quants and packed scales, every
// block scale (quant.PutScales) finite and of moderate size
// (as a quantizer writes them).
func randKQuant(r *rand.Rand, f backend.WeightFormat, rows, cols int) []byte {
	rb, _ := f.RowBytes(cols)
	raw := make([]byte, rows*rb)
	for i := range raw {
		raw[i] = byte(r.Uint32())
	}
	_, bb, _ := f.Block()
	for b := 0; b < len(raw); b += bb {
		quant.PutScales(f, raw[b:b+bb], func() float32 { return float32(r.NormFloat64() * 1e-3) })
	}
	return raw
}

// ggufOnly lists the formats read from GGUF files only, the k-quants
// and their kin (randKQuant's).
var ggufOnly = backend.GGUFOnlyFormats()

// fits reports whether rows of k values are whole blocks of f.
func fits(f backend.WeightFormat, k int) bool {
	_, ok := f.RowBytes(k)
	return ok
}

// TestMatMulKQuantMatchesFloat32: MatMul and Embed with a weight in a
// format read from GGUF files only (Q4_K, Q6_K, Q5_0 and the rest)
// equal, bit for bit, the same operations on the float32 weight it
// decodes to, across K slices (K not a multiple of blockK) and partial
// column blocks; the pure-Go decodeRowGo agrees with decodeRow.
func TestMatMulKQuantMatchesFloat32(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 11))
	for _, f := range ggufOnly {
		for _, s := range [][3]int{{1, 256, 3}, {9, 1280, 70}, {70, 512, 130}, {5, 1120, 9}} {
			if !fits(f, s[1]) {
				continue
			}
			T, K, N := s[0], s[1], s[2]
			t.Run(fmt.Sprintf("%s/%dx%dx%d", f, T, K, N), func(t *testing.T) {
				be := New(2)
				raw := randKQuant(r, f, N, K)
				wt, err := be.UploadWeight(raw, f, N, K)
				if err != nil {
					t.Fatal(err)
				}
				wdec, err := quant.Decode(f, raw, N, K)
				if err != nil {
					t.Fatal(err)
				}
				matMulMatchesFloat32(t, be, randWeights(r, T*K, 1), wt, wdec, nil, T, K, N)
				ids := []int{N - 1, 0, N / 2}
				emb, _ := be.Alloc(len(ids), K)
				if err := be.Embed(emb, wt, ids); err != nil {
					t.Fatal(err)
				}
				for i, id := range ids {
					for k := range K {
						if a, b := Data(emb)[i*K+k], wdec[id*K+k]; math.Float32bits(a) != math.Float32bits(b) {
							t.Fatalf("embed row %d value %d: %g, want %g", id, k, a, b)
						}
					}
				}
				wk := wt.(*wtensor)
				a, b := make([]float32, 256), make([]float32, 256)
				wk.decodeRow(a, N-1, K-256, K)
				wk.decodeRowGo(b, N-1, K-256, K)
				for i := range a {
					if math.Float32bits(a[i]) != math.Float32bits(wdec[(N-1)*K+K-256+i]) {
						t.Fatalf("decodeRow value %d: %g, Decode %g", i, a[i], wdec[(N-1)*K+K-256+i])
					}
				}
				for i := range a {
					if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
						t.Fatalf("decodeRow value %d: %g, decodeRowGo %g", i, a[i], b[i])
					}
				}
			})
		}
	}
}

// TestUploadKQuantRejects: rows that are not whole super-blocks and data
// of the wrong length are refused.
func TestUploadKQuantRejects(t *testing.T) {
	be := New(1)
	for _, tc := range []struct {
		f          backend.WeightFormat
		n          int
		rows, cols int
	}{
		{backend.WeightQ4_K, 144, 1, 128},     // 128 columns: half a block
		{backend.WeightQ4_K, 143, 1, 256},     // truncated
		{backend.WeightQ6_K, 210 * 3, 2, 256}, // one block too many
		{backend.WeightQ6_K, 210, 1, 300},
		{backend.WeightQ5_0, 22, 1, 16},
		{backend.WeightQ5_0, 43, 1, 64},
	} {
		if _, err := be.UploadWeight(make([]byte, tc.n), tc.f, tc.rows, tc.cols); err == nil {
			t.Errorf("%s: %d bytes as [%d,%d] accepted", tc.f, tc.n, tc.rows, tc.cols)
		}
	}
}

// BenchmarkDecodePanelRow decodes one 1024-value panel row slice per
// op in each stored format (ns/op ÷ 1024 = ns a weight), the cost the
// panel matmul spreads over the x rows of a row group.
func BenchmarkDecodePanelRow(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	be := New(1)
	for _, f := range append([]backend.WeightFormat{backend.WeightBF16, backend.WeightQ8_0}, ggufOnly...) {
		var raw []byte
		switch f {
		case backend.WeightBF16, backend.WeightQ8_0:
			raw, _ = quant.Encode(f, randWeights(r, 1024, 0.05), 1, 1024)
		default:
			raw = randKQuant(r, f, 1, 1024)
		}
		wt, err := be.UploadWeight(raw, f, 1, 1024)
		if err != nil {
			b.Fatal(err)
		}
		w := wt.(*wtensor)
		dst := make([]float32, 1024)
		b.Run(string(f), func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				w.decodeRow(dst, 0, 0, 1024)
			}
		})
	}
}

// TestAMXDecodedFormats: with SetBF16Matmul, products with weights in
// every format read from GGUF files only (Q4_K, Q6_K and Q5_0 through
// their one-pass decoders, the rest through the float32 decoders) run on
// the tiles (decodeStripAMX): each sum is the
// float64 sum of the bf16-rounded activations times the bf16-rounded
// decoded weights, to float32 accumulation's error, over partial row
// blocks, bf16Rows' leftover rows, several row groups and prefetch; and
// SwiGLU and MatMuls give MatMul's bits with them.
func TestAMXDecodedFormats(t *testing.T) {
	be := New(2)
	if err := be.SetBF16Matmul(true); err != nil {
		t.Skip(err)
	}
	defer func(v int64) { amxPrefetchMin = v }(amxPrefetchMin)
	amxPrefetchMin = 0
	r := rand.New(rand.NewPCG(21, 21))
	for _, f := range ggufOnly {
		for _, s := range [][3]int{{1, 256, 32}, {17, 96, 64}, {33, 512, 64}, {45, 256, 96}, {100, 768, 64}, {320, 512, 32}} {
			T, K, N := s[0], s[1], s[2]
			if !fits(f, K) {
				continue
			}
			t.Run(fmt.Sprintf("%s/%dx%dx%d", f, T, K, N), func(t *testing.T) {
				raw := randKQuant(r, f, N, K)
				wt, err := be.UploadWeight(raw, f, N, K)
				if err != nil {
					t.Fatal(err)
				}
				w := wt.(*wtensor)
				if !amxUsable(w) {
					t.Fatal("not on the tiles")
				}
				xv := randWeights(r, T*K, 1)
				x, _ := be.Wrap(xv, T, K)
				got, _ := be.Alloc(T, N)
				poisonBF16Pool(T, K)
				if err := be.MatMul(got, x, w, nil); err != nil {
					t.Fatal(err)
				}
				wr := make([]float64, N*K)
				row := make([]float32, K)
				for j := range N {
					w.decodeRowGo(row, j, 0, K)
					for k, v := range row {
						wr[j*K+k] = float64(weights.BF16ToFloat32(roundBF16(v)))
					}
				}
				g := Data(got)
				for i := range T {
					for j := range N {
						var sum, mag float64
						for k := range K {
							p := float64(weights.BF16ToFloat32(roundBF16(xv[i*K+k]))) * wr[j*K+k]
							sum += p
							mag += math.Abs(p)
						}
						if d := math.Abs(float64(g[i*N+j]) - sum); d > 1e-5*mag+1e-9 || math.IsNaN(d) {
							t.Fatalf("[%d,%d]: tiles %g, bf16 reference %g (magnitude %g)", i, j, g[i*N+j], sum, mag)
						}
					}
				}
				// The fused MLP pass and the one-pass projections: MatMul's bits.
				up, _ := be.UploadWeight(randKQuant(r, f, N, K), f, N, K)
				fused, mu, sep := alloc2(be, T, N), alloc2(be, T, N), alloc2(be, T, N)
				if ok, err := be.SwiGLU(fused, x, w, up); !ok || err != nil {
					t.Fatalf("SwiGLU = %v, %v", ok, err)
				}
				if err := be.MatMul(mu, x, up, nil); err != nil {
					t.Fatal(err)
				}
				if err := be.SiLUMul(sep, got, mu); err != nil {
					t.Fatal(err)
				}
				for i, v := range Data(fused) {
					if math.Float32bits(v) != math.Float32bits(Data(sep)[i]) {
						t.Fatalf("SwiGLU value %d: %g, separate %g", i, v, Data(sep)[i])
					}
				}
				a, c := alloc2(be, T, N), alloc2(be, T, N)
				if ok, err := be.MatMuls([]backend.Tensor{a, c}, x, []backend.Tensor{w, up}, []backend.Tensor{nil, nil}); !ok || err != nil {
					t.Fatalf("MatMuls = %v, %v", ok, err)
				}
				for i := range Data(a) {
					if Data(a)[i] != g[i] || Data(c)[i] != Data(mu)[i] {
						t.Fatalf("MatMuls value %d differs from MatMul", i)
					}
				}
			})
		}
	}
}

func alloc2(be *Backend, rows, cols int) backend.Tensor {
	t, _ := be.Alloc(rows, cols)
	return t
}

// BenchmarkDecodeStripAMX is one task's strips of a k-quant weight for
// the tiles (decodeStripAMX) at the 0.5B MLP's down projection shape,
// per weight.
//
//	go test ./runtime/backend/cpu -run '^$' -bench DecodeStripAMX
func BenchmarkDecodeStripAMX(b *testing.B) {
	if !amxAvailable() {
		b.Skip(ErrNoAMX)
	}
	const N, K = 64, 4864
	for _, f := range ggufOnly {
		if !fits(f, K) {
			continue
		}
		b.Run(string(f), func(b *testing.B) {
			r := rand.New(rand.NewPCG(3, 3))
			be := New(1)
			wt, _ := be.UploadWeight(randKQuant(r, f, N, K), f, N, K)
			w := wt.(*wtensor)
			dst := make([]uint16, 32*K)
			cb := 0
			for b.Loop() {
				decodeStripAMX(dst, w, cb)
				cb ^= 1
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*32*K), "ns/weight")
		})
	}
}

// TestDecodeRowBF16: the one-pass Q4_K, Q5_K, Q6_K and Q5_0 decoders give the bf16
// rounding of decodeRowGo's values bit for bit, on random blocks (every
// quant, fifth-bit and scale pattern over enough blocks) and long rows.
func TestDecodeRowBF16(t *testing.T) {
	if !amxAvailable() {
		t.Skip(ErrNoAMX)
	}
	r := rand.New(rand.NewPCG(31, 31))
	for _, c := range []struct {
		f   backend.WeightFormat
		dec func(dst *uint16, src *byte, nb int)
		blk int
	}{{backend.WeightQ4_K, decodeQ4KRowBF16, backend.KBlockSize}, {backend.WeightQ5_K, decodeQ5KRowBF16, backend.KBlockSize}, {backend.WeightQ6_K, decodeQ6KRowBF16, backend.KBlockSize}, {backend.WeightQ5_0, decodeQ5RowBF16, backend.Q8BlockSize}} {
		for _, K := range []int{256, 4864} {
			const N = 64
			raw := randKQuant(r, c.f, N, K)
			w := &wtensor{rows: N, cols: K, format: c.f, raw: raw, rowBytes: len(raw) / N}
			ref := make([]float32, K)
			got := make([]uint16, K)
			for j := range N {
				w.decodeRowGo(ref, j, 0, K)
				c.dec(&got[0], &raw[j*w.rowBytes], K/c.blk)
				for k, v := range ref {
					if want := roundBF16(v); got[k] != want {
						t.Fatalf("%s K %d row %d value %d: %#04x, want %#04x (%g)", c.f, K, j, k, got[k], want, v)
					}
				}
			}
		}
	}
}
