// Package backendtest is the conformance suite every backend.Backend must
// pass. Each case builds random inputs, runs one operation on the backend
// and compares with straightforward float64 reference code in this
// package. A backend's own test calls Run.
package backendtest

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/dream-lsp/dream-lsp/runtime/backend"
)

// Tolerance is the largest accepted |got−want| / (1 + |want|) for float32
// backends.
const Tolerance = 2e-5

// Run runs every conformance case against the backend that newBackend
// returns (called once per subtest; the suite closes it), with the
// float32 Tolerance.
func Run(t *testing.T, newBackend func(t *testing.T) backend.Backend) {
	RunTolerance(t, newBackend, Tolerance)
}

// RunTolerance is Run with another relative tolerance, for backends whose
// arithmetic is looser than float32 (TF32 or bf16 accumulation paths).
func RunTolerance(t *testing.T, newBackend func(t *testing.T) backend.Backend, tol float64) {
	cases := []struct {
		name string
		fn   func(t *testing.T, b backend.Backend, tol float64)
	}{
		{"UploadRead", testUploadRead},
		{"MatMul", testMatMul},
		{"Embed", testEmbed},
		{"GatherRows", testGatherRows},
		{"RMSNorm", testRMSNorm},
		{"RoPE", testRoPE},
		{"Attention", testAttention},
		{"AttentionMasked", testAttentionMasked},
		{"SiLUMul", testSiLUMul},
		{"Add", testAdd},
		{"ShapeErrors", testShapeErrors},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newBackend(t)
			defer b.Close()
			c.fn(t, b, tol)
		})
	}
}

func randVec(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

func upload(t *testing.T, b backend.Backend, data []float32, rows, cols int) backend.Tensor {
	t.Helper()
	x, err := b.Upload(data, rows, cols)
	if err != nil {
		t.Fatalf("Upload [%d,%d]: %v", rows, cols, err)
	}
	return x
}

func alloc(t *testing.T, b backend.Backend, rows, cols int) backend.Tensor {
	t.Helper()
	x, err := b.Alloc(rows, cols)
	if err != nil {
		t.Fatalf("Alloc [%d,%d]: %v", rows, cols, err)
	}
	return x
}

func read(t *testing.T, b backend.Backend, x backend.Tensor) []float32 {
	t.Helper()
	out := make([]float32, x.Rows()*x.Cols())
	if err := b.Read(x, out); err != nil {
		t.Fatalf("Read: %v", err)
	}
	return out
}

func check(t *testing.T, tol float64, what string, got []float32, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		g := float64(got[i])
		if math.IsNaN(g) || math.Abs(g-want[i])/(1+math.Abs(want[i])) > tol {
			t.Fatalf("%s: element %d = %g, want %g", what, i, g, want[i])
		}
	}
}

func testUploadRead(t *testing.T, b backend.Backend, tol float64) {
	r := rand.New(rand.NewPCG(1, 1))
	data := randVec(r, 12)
	x := upload(t, b, data, 3, 4)
	if x.Rows() != 3 || x.Cols() != 4 {
		t.Fatalf("shape [%d,%d], want [3,4]", x.Rows(), x.Cols())
	}
	data[0] = 1e9 // Upload must copy.
	got := read(t, b, x)
	if got[0] == 1e9 || got[5] != data[5] {
		t.Fatalf("Read after Upload: got %v", got)
	}
	z := read(t, b, alloc(t, b, 2, 5))
	for i, v := range z {
		if v != 0 {
			t.Fatalf("Alloc not zeroed at %d: %g", i, v)
		}
	}
}

// RefMatMul is the float64 reference of MatMul.
func RefMatMul(x, w, bias []float32, T, K, N int) []float64 {
	out := make([]float64, T*N)
	for i := range T {
		for j := range N {
			var s float64
			for k := range K {
				s += float64(x[i*K+k]) * float64(w[j*K+k])
			}
			if bias != nil {
				s += float64(bias[j])
			}
			out[i*N+j] = s
		}
	}
	return out
}

func testMatMul(t *testing.T, b backend.Backend, tol float64) {
	r := rand.New(rand.NewPCG(2, 2))
	// Shapes cover the register-tile edges (not multiples of 4), blocks
	// larger than a cache tile and a single row.
	for _, s := range [][3]int{{1, 1, 1}, {1, 64, 300}, {5, 7, 9}, {17, 33, 65}, {70, 300, 131}, {4, 8, 4}} {
		T, K, N := s[0], s[1], s[2]
		for _, withBias := range []bool{false, true} {
			x, w := randVec(r, T*K), randVec(r, N*K)
			var bias []float32
			var bt backend.Tensor
			if withBias {
				bias = randVec(r, N)
				bt = upload(t, b, bias, 1, N)
			}
			out := alloc(t, b, T, N)
			if err := b.MatMul(out, upload(t, b, x, T, K), upload(t, b, w, N, K), bt); err != nil {
				t.Fatalf("MatMul %v: %v", s, err)
			}
			want := RefMatMul(x, w, bias, T, K, N)
			// Sums of K products: scale the tolerance with √K.
			got := read(t, b, out)
			for i := range got {
				if d := math.Abs(float64(got[i]) - want[i]); d > tol*math.Sqrt(float64(K))*(1+math.Abs(want[i])) {
					t.Fatalf("MatMul %v bias=%v: element %d = %g, want %g", s, withBias, i, got[i], want[i])
				}
			}
		}
	}
}

func testEmbed(t *testing.T, b backend.Backend, tol float64) {
	r := rand.New(rand.NewPCG(3, 3))
	table := randVec(r, 10*6)
	ids := []int{3, 0, 9, 3}
	out := alloc(t, b, len(ids), 6)
	if err := b.Embed(out, upload(t, b, table, 10, 6), ids); err != nil {
		t.Fatal(err)
	}
	want := make([]float64, 0, len(ids)*6)
	for _, id := range ids {
		for _, v := range table[id*6 : id*6+6] {
			want = append(want, float64(v))
		}
	}
	check(t, tol, "Embed", read(t, b, out), want)
	if err := b.Embed(alloc(t, b, 1, 6), upload(t, b, table, 10, 6), []int{10}); !errors.Is(err, backend.ErrShape) {
		t.Fatalf("Embed with id out of range: err = %v, want ErrShape", err)
	}
}

func testGatherRows(t *testing.T, b backend.Backend, tol float64) {
	r := rand.New(rand.NewPCG(4, 4))
	x := randVec(r, 5*3)
	rows := []int{4, 1, 1}
	out := alloc(t, b, 3, 3)
	if err := b.GatherRows(out, upload(t, b, x, 5, 3), rows); err != nil {
		t.Fatal(err)
	}
	var want []float64
	for _, i := range rows {
		for _, v := range x[i*3 : i*3+3] {
			want = append(want, float64(v))
		}
	}
	check(t, tol, "GatherRows", read(t, b, out), want)
}

// RefRMSNorm is the float64 reference of RMSNorm.
func RefRMSNorm(x, w []float32, rows, d int, eps float64) []float64 {
	out := make([]float64, rows*d)
	for i := range rows {
		var ss float64
		for j := range d {
			ss += float64(x[i*d+j]) * float64(x[i*d+j])
		}
		s := 1 / math.Sqrt(ss/float64(d)+eps)
		for j := range d {
			out[i*d+j] = float64(x[i*d+j]) * s * float64(w[j])
		}
	}
	return out
}

func testRMSNorm(t *testing.T, b backend.Backend, tol float64) {
	r := rand.New(rand.NewPCG(5, 5))
	const rows, d = 7, 48
	x, w := randVec(r, rows*d), randVec(r, d)
	xt := upload(t, b, x, rows, d)
	out := alloc(t, b, rows, d)
	if err := b.RMSNorm(out, xt, upload(t, b, w, 1, d), 1e-6); err != nil {
		t.Fatal(err)
	}
	want := RefRMSNorm(x, w, rows, d, 1e-6)
	check(t, tol, "RMSNorm", read(t, b, out), want)
	// In place.
	if err := b.RMSNorm(xt, xt, upload(t, b, w, 1, d), 1e-6); err != nil {
		t.Fatal(err)
	}
	check(t, tol, "RMSNorm in place", read(t, b, xt), want)
}

// RefRoPE is the float64 reference of RoPE (NeoX rotate-half).
func RefRoPE(x []float32, heads, hd int, positions []int, theta float64) []float64 {
	cols := heads * hd
	out := make([]float64, len(x))
	half := hd / 2
	for t, p := range positions {
		for h := range heads {
			base := t*cols + h*hd
			for i := range half {
				a := float64(p) * math.Pow(theta, -float64(2*i)/float64(hd))
				x1, x2 := float64(x[base+i]), float64(x[base+i+half])
				out[base+i] = x1*math.Cos(a) - x2*math.Sin(a)
				out[base+i+half] = x2*math.Cos(a) + x1*math.Sin(a)
			}
		}
	}
	return out
}

func testRoPE(t *testing.T, b backend.Backend, tol float64) {
	r := rand.New(rand.NewPCG(6, 6))
	const heads, hd = 3, 16
	positions := []int{0, 1, 2, 7, 1000, 2047}
	for _, theta := range []float64{10000, 1e6} {
		x := randVec(r, len(positions)*heads*hd)
		xt := upload(t, b, x, len(positions), heads*hd)
		if err := b.RoPE(xt, heads, hd, positions, theta); err != nil {
			t.Fatal(err)
		}
		check(t, tol, fmt.Sprintf("RoPE theta=%g", theta), read(t, b, xt), RefRoPE(x, heads, hd, positions, theta))
	}
}

// RefAttention is the float64 reference of Attention.
func RefAttention(q, k, v []float32, T int, p backend.AttentionParams) []float64 {
	H, KVH, hd := p.Heads, p.KVHeads, p.HeadDim
	out := make([]float64, T*H*hd)
	seq := make([]int, T)
	lens := p.SeqLens
	if lens == nil {
		lens = []int{T}
	}
	t0 := 0
	for s, n := range lens {
		for i := t0; i < t0+n; i++ {
			seq[i] = s
		}
		t0 += n
	}
	valid := func(i int) bool { return p.Valid == nil || p.Valid[i] }
	for h := range H {
		g := h / (H / KVH)
		for i := range T {
			if !valid(i) {
				continue
			}
			scores := make([]float64, T)
			m := math.Inf(-1)
			for j := range T {
				if seq[j] != seq[i] || !valid(j) {
					continue
				}
				var s float64
				for d := range hd {
					s += float64(q[i*H*hd+h*hd+d]) * float64(k[j*KVH*hd+g*hd+d])
				}
				scores[j] = s / math.Sqrt(float64(hd))
				m = math.Max(m, scores[j])
			}
			var sum float64
			for j := range T {
				if seq[j] != seq[i] || !valid(j) {
					continue
				}
				e := math.Exp(scores[j] - m)
				sum += e
				for d := range hd {
					out[i*H*hd+h*hd+d] += e * float64(v[j*KVH*hd+g*hd+d])
				}
			}
			for d := range hd {
				out[i*H*hd+h*hd+d] /= sum
			}
		}
	}
	return out
}

func runAttention(t *testing.T, b backend.Backend, tol float64, T int, p backend.AttentionParams, seed uint64) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 7))
	q := randVec(r, T*p.Heads*p.HeadDim)
	k := randVec(r, T*p.KVHeads*p.HeadDim)
	v := randVec(r, T*p.KVHeads*p.HeadDim)
	out := alloc(t, b, T, p.Heads*p.HeadDim)
	err := b.Attention(out, upload(t, b, q, T, p.Heads*p.HeadDim),
		upload(t, b, k, T, p.KVHeads*p.HeadDim), upload(t, b, v, T, p.KVHeads*p.HeadDim), p)
	if err != nil {
		t.Fatal(err)
	}
	check(t, tol, fmt.Sprintf("Attention T=%d %+v", T, p), read(t, b, out), RefAttention(q, k, v, T, p))
}

func testAttention(t *testing.T, b backend.Backend, tol float64) {
	runAttention(t, b, tol, 1, backend.AttentionParams{Heads: 2, KVHeads: 1, HeadDim: 8}, 1)
	runAttention(t, b, tol, 37, backend.AttentionParams{Heads: 4, KVHeads: 2, HeadDim: 16}, 2) // GQA
	runAttention(t, b, tol, 20, backend.AttentionParams{Heads: 3, KVHeads: 3, HeadDim: 32}, 3) // MHA
	runAttention(t, b, tol, 23, backend.AttentionParams{Heads: 4, KVHeads: 1, HeadDim: 8, SeqLens: []int{10, 1, 12}}, 4)
	// Query blocks past 48 rows; two sequences whose lengths are not
	// multiples of 16, so one key span ends inside the batch; GQA 4:1 (the
	// CPU's scores on the broadcast kernels, past a span's keys).
	runAttention(t, b, tol, 101, backend.AttentionParams{Heads: 8, KVHeads: 2, HeadDim: 48, SeqLens: []int{33, 68}}, 7)
}

func testAttentionMasked(t *testing.T, b backend.Backend, tol float64) {
	valid := make([]bool, 19)
	for i := range valid {
		valid[i] = i >= 4 && i != 10 // left padding plus one hole
	}
	runAttention(t, b, tol, 19, backend.AttentionParams{Heads: 2, KVHeads: 1, HeadDim: 8, Valid: valid}, 5)
	// Every row masked: zeros, never NaN.
	runAttention(t, b, tol, 3, backend.AttentionParams{Heads: 2, KVHeads: 2, HeadDim: 4, Valid: make([]bool, 3)}, 6)
}

func testSiLUMul(t *testing.T, b backend.Backend, tol float64) {
	r := rand.New(rand.NewPCG(8, 8))
	g, u := randVec(r, 6*10), randVec(r, 6*10)
	g[0], g[1] = 80, -80 // saturation without overflow to NaN
	out := alloc(t, b, 6, 10)
	if err := b.SiLUMul(out, upload(t, b, g, 6, 10), upload(t, b, u, 6, 10)); err != nil {
		t.Fatal(err)
	}
	want := make([]float64, len(g))
	for i := range g {
		x := float64(g[i])
		want[i] = x / (1 + math.Exp(-x)) * float64(u[i])
	}
	check(t, tol, "SiLUMul", read(t, b, out), want)
}

func testAdd(t *testing.T, b backend.Backend, tol float64) {
	r := rand.New(rand.NewPCG(9, 9))
	x, y := randVec(r, 4*9), randVec(r, 4*9)
	xt := upload(t, b, x, 4, 9)
	if err := b.Add(xt, xt, upload(t, b, y, 4, 9)); err != nil {
		t.Fatal(err)
	}
	want := make([]float64, len(x))
	for i := range x {
		want[i] = float64(x[i]) + float64(y[i])
	}
	check(t, tol, "Add in place", read(t, b, xt), want)
}

func testShapeErrors(t *testing.T, b backend.Backend, tol float64) {
	x := alloc(t, b, 2, 3)
	w := alloc(t, b, 4, 5)
	if err := b.MatMul(alloc(t, b, 2, 4), x, w, nil); !errors.Is(err, backend.ErrShape) {
		t.Errorf("MatMul K mismatch: err = %v, want ErrShape", err)
	}
	if err := b.Add(x, x, w); !errors.Is(err, backend.ErrShape) {
		t.Errorf("Add shape mismatch: err = %v, want ErrShape", err)
	}
	if err := b.RoPE(x, 1, 3, []int{0, 1}, 1e4); !errors.Is(err, backend.ErrShape) {
		t.Errorf("RoPE odd head dim: err = %v, want ErrShape", err)
	}
	q := alloc(t, b, 2, 4)
	if err := b.Attention(alloc(t, b, 2, 4), q, q, q, backend.AttentionParams{Heads: 2, KVHeads: 2, HeadDim: 2, SeqLens: []int{1}}); !errors.Is(err, backend.ErrShape) {
		t.Errorf("Attention bad SeqLens: err = %v, want ErrShape", err)
	}
	if _, err := b.Upload(make([]float32, 5), 2, 3); !errors.Is(err, backend.ErrShape) {
		t.Errorf("Upload length mismatch: err = %v, want ErrShape", err)
	}
}
