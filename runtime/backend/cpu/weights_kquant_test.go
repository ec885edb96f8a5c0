package cpu

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/dream-lsp/dream-lsp/runtime/backend"
	"github.com/dream-lsp/dream-lsp/runtime/quant"
	"github.com/dream-lsp/dream-lsp/runtime/weights"
)

// randKQuant returns rows×cols values of random blocks in f (Q4_K, Q6_K,
// Q5_0): random quants and packed scales, every block scale a finite float16 of
// moderate size (as a quantizer writes them).
func randKQuant(r *rand.Rand, f backend.WeightFormat, rows, cols int) []byte {
	rb, _ := f.RowBytes(cols)
	raw := make([]byte, rows*rb)
	for i := range raw {
		raw[i] = byte(r.Uint32())
	}
	bb, dOff := backend.Q4KBlockBytes, []int{0, 2}
	switch f {
	case backend.WeightQ6_K:
		bb, dOff = backend.Q6KBlockBytes, []int{208}
	case backend.WeightQ5_0:
		bb, dOff = backend.Q5BlockBytes, []int{0}
	}
	for b := 0; b < len(raw); b += bb {
		for _, o := range dOff {
			binary.LittleEndian.PutUint16(raw[b+o:], weights.Float32ToF16(float32(r.NormFloat64()*1e-3)))
		}
	}
	return raw
}

// TestMatMulKQuantMatchesFloat32: MatMul and Embed with a Q4_K or Q6_K
// weight equal, bit for bit, the same operations on the float32 weight it
// decodes to, across K slices (K not a multiple of blockK) and partial
// column blocks; the pure-Go decodeRowGo agrees with decodeRow.
func TestMatMulKQuantMatchesFloat32(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 11))
	for _, f := range []backend.WeightFormat{backend.WeightQ4_K, backend.WeightQ6_K, backend.WeightQ5_0} {
		for _, s := range [][3]int{{1, 256, 3}, {9, 1280, 70}, {70, 512, 130}, {5, 1120, 9}} {
			if s[1]%256 != 0 && f != backend.WeightQ5_0 {
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
	for _, f := range []backend.WeightFormat{backend.WeightBF16, backend.WeightQ8_0, backend.WeightQ4_K, backend.WeightQ6_K, backend.WeightQ5_0} {
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
