package cpu

import (
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/dream-lsp/dream-lsp/runtime/backend"
	"github.com/dream-lsp/dream-lsp/runtime/quant"
	"github.com/dream-lsp/dream-lsp/runtime/weights"
)

// TestRoundBF16 pins roundBF16, the Go reference of VCVTNE2PS2BF16's
// rounding (the packing of f16 weights uses it too), on values whose
// bf16 is known: ties to even, the largest finite value rounding to
// infinity, subnormals to signed zero, a NaN quieted.
func TestRoundBF16(t *testing.T) {
	for _, c := range []struct {
		in   uint32
		want uint16
	}{
		{0x3f800000, 0x3f80}, {0x3f808000, 0x3f80}, {0x3f818000, 0x3f82}, {0x3f807fff, 0x3f80},
		{0x3f808001, 0x3f81}, {0x7f7fffff, 0x7f80}, {0xff800000, 0xff80}, {0x00000123, 0x0000},
		{0x80000123, 0x8000}, {0x7f800001, 0x7fc0}, {0xc0490fdb, 0xc049},
	} {
		if got := roundBF16(math.Float32frombits(c.in)); got != c.want {
			t.Errorf("roundBF16(%#08x) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
}

func TestCvtBF16(t *testing.T) {
	if !amxAvailable() {
		t.Skip("no AMX-BF16 tiles or AVX512-BF16 on this CPU (or a purego build): the bf16 matmul is not used here")
	}
	r := rand.New(rand.NewPCG(7, 7))
	src := make([]float32, 4096)
	for i := range src {
		src[i] = float32(r.NormFloat64() * math.Pow(10, float64(r.IntN(20)-10)))
	}
	// Ties (the low half exactly 0x8000), halfway below, the largest
	// finite value, infinities, zeros and a subnormal.
	special := []uint32{0x3f808000, 0x3f818000, 0x3f807fff, 0x7f7fffff, 0x7f800000, 0xff800000, 0x80000000, 0, 0x00000123, 0x3f80ffff}
	for i, u := range special {
		src[i] = math.Float32frombits(u)
	}
	dst := make([]uint16, len(src))
	cvtBF16(&dst[0], &src[0], len(src))
	for i, f := range src {
		if want := roundBF16(f); dst[i] != want {
			t.Fatalf("value %d (%#08x): got %#04x, want %#04x", i, math.Float32bits(f), dst[i], want)
		}
	}
}

// TestAMXMatMul checks the AMX product against float64 sums of the same
// bf16-rounded activations and weights, for each weight format the tiles
// take, on shapes that cover partial 32-row blocks (on the tiles and on
// bf16Rows), one and several row groups, and bias; and that it stays
// within bf16's rounding of the exact float32 product.
func TestAMXMatMul(t *testing.T) {
	// Prefetch the next weight block as for a model too large for the
	// cache (the other tests run the small-weight path).
	defer func(v int64) { amxPrefetchMin = v }(amxPrefetchMin)
	amxPrefetchMin = 0
	for _, f := range []backend.WeightFormat{backend.WeightBF16, backend.WeightF16, backend.WeightQ8_0} {
		t.Run(string(f), func(t *testing.T) { testAMXMatMul(t, f) })
	}
}

// TestAMXMatMulVDPBF16PS is TestAMXMatMul on VDPBF16PS (bf16Rows4) where
// the CPU has tiles too; without tiles TestAMXMatMul runs it already.
func TestAMXMatMulVDPBF16PS(t *testing.T) {
	if !amxTiles() {
		t.Skip("no AMX tiles here: TestAMXMatMul runs the VDPBF16PS path itself, or neither runs")
	}
	defer func(v int64) { amxPrefetchMin, noTiles = v, false }(amxPrefetchMin)
	amxPrefetchMin, noTiles = 0, true
	for _, f := range []backend.WeightFormat{backend.WeightBF16, backend.WeightF16, backend.WeightQ8_0} {
		t.Run(string(f), func(t *testing.T) { testAMXMatMul(t, f) })
	}
}

func testAMXMatMul(t *testing.T, f backend.WeightFormat) {
	be := New(2)
	if err := be.SetBF16Matmul(true); err != nil {
		if !errors.Is(err, ErrNoAMX) {
			t.Fatal(err)
		}
		t.Skip("no AMX-BF16 tiles or AVX512-BF16 on this CPU (or a purego build): ", err)
	}
	exact := New(2)
	r := rand.New(rand.NewPCG(9, 9))
	// 1, 33 and 66 rows leave one or two rows past the whole blocks
	// (bf16Rows), 17, 23, 35, 45 and 100 more (on the tiles a padded block
	// through scratch; with VDPBF16PS alone quads and 0–3 single rows).
	for _, s := range [][3]int{{1, 32, 32}, {17, 64, 96}, {23, 96, 32}, {32, 192, 64}, {33, 64, 96}, {35, 64, 64}, {45, 192, 96}, {66, 128, 64}, {100, 512, 192}, {320, 896, 128}} {
		T, K, N := s[0], s[1], s[2]
		for _, withBias := range []bool{false, true} {
			xv := randWeights(r, T*K, 1)
			wv := randWeights(r, N*K, 0.05)
			w := newWeight(t, be, f, wv, N, K)
			wExact := newWeight(t, exact, f, wv, N, K)
			x, _ := be.Wrap(xv, T, K)
			var bias backend.Tensor
			var bv []float32
			if withBias {
				bv = randWeights(r, N, 1)
				bias, _ = be.Wrap(bv, 1, N)
			}
			got, _ := be.Alloc(T, N)
			ref, _ := exact.Alloc(T, N)
			poisonBF16Pool(T, K)
			if err := be.MatMul(got, x, w, bias); err != nil {
				t.Fatal(err)
			}
			if err := exact.MatMul(ref, x, wExact, bias); err != nil {
				t.Fatal(err)
			}
			g, e := Data(got), Data(ref)
			wRounded := make([]float64, N*K) // the weight as the tiles hold it
			for j := range N {
				wExact.decodeRowGo(wv[j*K:(j+1)*K], j, 0, K)
				for k, v := range wv[j*K : (j+1)*K] {
					wRounded[j*K+k] = float64(weights.BF16ToFloat32(roundBF16(v)))
				}
			}
			for i := range T {
				for j := range N {
					var sum, mag float64
					for k := range K {
						xk := float64(weights.BF16ToFloat32(roundBF16(xv[i*K+k])))
						wk := wRounded[j*K+k]
						sum += xk * wk
						mag += math.Abs(xk * wk)
					}
					if bv != nil {
						sum += float64(bv[j])
						mag += math.Abs(float64(bv[j]))
					}
					v := float64(g[i*N+j])
					if d := math.Abs(v - sum); d > 1e-5*mag+1e-6 {
						t.Fatalf("%v bias=%v [%d,%d]: AMX %g, bf16 reference %g (magnitude %g)", s, withBias, i, j, v, sum, mag)
					}
					// Rounding each activation and weight to bf16 moves a
					// sum by at most 2·2⁻⁹ of its magnitude (bf16 weights
					// are not rounded again).
					if d := math.Abs(v - float64(e[i*N+j])); d > mag/256+1e-5 {
						t.Fatalf("%v bias=%v [%d,%d]: AMX %g, float32 %g: beyond bf16 rounding (magnitude %g)", s, withBias, i, j, v, e[i*N+j], mag)
					}
				}
			}
		}
	}
}

// poisonBF16Pool leaves a NaN-filled buffer for the activations' bf16
// copy in bf16Pool (where the next Get on this goroutine's P finds it),
// large enough for T rows of K padded to 32. matmulAMX leaves the rows
// past T as it finds them: were any of their sums copied out, or mixed
// into a real row's, the test would see NaN.
func poisonBF16Pool(T, K int) {
	p := bf16Pool.Get().(*[]uint16)
	if n := (T + 31) / 32 * 32 * K; cap(*p) < n {
		*p = make([]uint16, n)
	}
	*p = (*p)[:cap(*p)]
	for i := range *p {
		(*p)[i] = 0x7fc0
	}
	bf16Pool.Put(p)
}

// TestAMXFallbacks: weights the tiles cannot take (rows or columns not a
// multiple of 32) run the float32 kernels, sums identical to a
// backend without AMX.
func TestAMXFallbacks(t *testing.T) {
	be := New(2)
	if err := be.SetBF16Matmul(true); err != nil {
		t.Skip("no AMX-BF16 tiles or AVX512-BF16 on this CPU (or a purego build): ", err)
	}
	plain := New(2)
	r := rand.New(rand.NewPCG(4, 4))
	for _, c := range []struct {
		f       backend.WeightFormat
		T, K, N int
	}{{backend.WeightBF16, 5, 40, 32}, {backend.WeightBF16, 5, 64, 48}, {backend.WeightQ8_0, 5, 64, 48}, {backend.WeightF16, 5, 48, 64}} {
		xv, wv := randWeights(r, c.T*c.K, 1), randWeights(r, c.N*c.K, 0.1)
		x, _ := be.Wrap(xv, c.T, c.K)
		a, _ := be.Alloc(c.T, c.N)
		b, _ := plain.Alloc(c.T, c.N)
		if err := be.MatMul(a, x, newWeight(t, be, c.f, wv, c.N, c.K), nil); err != nil {
			t.Fatal(err)
		}
		if err := plain.MatMul(b, x, newWeight(t, plain, c.f, wv, c.N, c.K), nil); err != nil {
			t.Fatal(err)
		}
		for i, v := range Data(a) {
			if math.Float32bits(v) != math.Float32bits(Data(b)[i]) {
				t.Fatalf("%s %d×%d×%d: value %d %g, without AMX %g", c.f, c.T, c.K, c.N, i, v, Data(b)[i])
			}
		}
	}
}

func TestSetBF16MatmulWithoutAMX(t *testing.T) {
	if amxAvailable() {
		t.Skip("this CPU runs the bf16 path (AMX tiles or AVX512-BF16): the refusal is tested on CPUs with neither")
	}
	be := New(1)
	if err := be.SetBF16Matmul(true); !errors.Is(err, ErrNoAMX) {
		t.Fatalf("SetBF16Matmul(true) without AMX: %v, want ErrNoAMX", err)
	}
	if be.BF16Matmul() {
		t.Fatal("BF16Matmul reports true after a refusal")
	}
}

// TestDequantQ8AMX: the assembly turns q8_0 tiles into exactly the bf16
// tiles packAMX would write for the decoded float32 weight, on random
// blocks and on extreme scales (float16's largest, subnormal, zero,
// negative) and values (−128, 127).
func TestDequantQ8AMX(t *testing.T) {
	if !amxAvailable() {
		t.Skip("no AMX-BF16 tiles or AVX512-BF16 on this CPU (or a purego build): the q8_0 tiles are not used here")
	}
	r := rand.New(rand.NewPCG(3, 3))
	const N, K = 64, 256
	be := New(1)
	w := newWeight(t, be, backend.WeightQ8_0, randWeights(r, N*K, 0.1), N, K)
	special := []uint16{0x7bff, 0x0001, 0x0000, 0x8000, 0xbc00, 0x3c00, 0x0400}
	for i, h := range special {
		blk := w.raw[i*w.rowBytes+(i%(K/32))*backend.Q8BlockBytes:]
		binary.LittleEndian.PutUint16(blk, h)
		blk[2], blk[3], blk[4] = 0x80, 0x7f, 0x00
	}
	packed := w.amxPacked()
	chunks := K / 32
	got := make([]uint16, N/16*chunks*512)
	dequantQ8AMX(&got[0], &packed[0], N/16*chunks)
	row := make([]float32, K)
	for n := range N {
		w.decodeRowGo(row, n, 0, K)
		for k, v := range row {
			nb, i, c, p, j := n/16, n%16, k/32, k%32/2, k%2
			g := got[(nb*chunks+c)*512+32*p+2*i+j]
			if want := roundBF16(v); g != want {
				t.Fatalf("w[%d][%d] = %g: tile value %#04x, want %#04x", n, k, v, g, want)
			}
		}
	}
}

// TestDisposableWeight: a weight uploaded as disposable to a backend on
// the tiles gives its converted bytes back once the tiles hold it (raw's
// whole pages read as zeros), and every use of it afterwards (matmuls on
// the tiles and on the float32 path, embedding rows) gives exactly what
// the same weight uploaded normally gives.
func TestDisposableWeight(t *testing.T) {
	for _, f := range []backend.WeightFormat{backend.WeightBF16, backend.WeightQ8_0} {
		t.Run(string(f), func(t *testing.T) { testDisposableWeight(t, f) })
	}
}

func testDisposableWeight(t *testing.T, f backend.WeightFormat) {
	be, ref := New(2), New(2)
	if err := be.SetBF16Matmul(true); err != nil {
		if !errors.Is(err, ErrNoAMX) {
			t.Fatal(err)
		}
		t.Skip("no AMX-BF16 tiles or AVX512-BF16 on this CPU (or a purego build): ", err)
	}
	if err := ref.SetBF16Matmul(true); err != nil {
		t.Fatal(err)
	}
	const T, K, N = 33, 512, 96
	r := rand.New(rand.NewPCG(4, 2))
	wv := randWeights(r, N*K, 0.05)
	enc, err := quant.Encode(f, wv, N, K)
	if err != nil {
		t.Fatal(err)
	}
	raw, free := quant.Alloc(len(enc)) // as a load-time conversion's
	defer free()
	copy(raw, enc)
	dt, err := be.UploadDisposableWeight(raw, f, N, K)
	if err != nil {
		t.Fatal(err)
	}
	rt := newWeight(t, ref, f, wv, N, K)
	x, _ := be.Wrap(randWeights(r, T*K, 1), T, K)
	same := func(what string, a, b backend.Tensor) {
		t.Helper()
		for i, v := range Data(a) {
			if v != Data(b)[i] {
				t.Fatalf("%s: value %d: disposable %g, kept %g", what, i, v, Data(b)[i])
			}
		}
	}
	mm := func(b *Backend, w backend.Tensor) backend.Tensor {
		out, _ := b.Alloc(T, N)
		if err := b.MatMul(out, x, w, nil); err != nil {
			t.Fatal(err)
		}
		return out
	}
	same("tiles", mm(be, dt), mm(ref, rt))
	if !dt.(*wtensor).dropped {
		t.Fatal("the disposable weight was not dropped after the tiles took it")
	}
	zeros := 0
	for _, v := range raw {
		if v == 0 {
			zeros++
		}
	}
	if zeros < len(raw)/2 { // every whole page inside raw reads as zeros
		t.Fatalf("only %d of %d converted bytes read as zero after the drop", zeros, len(raw))
	}
	ids := []int{0, 15, 16, 17, 95}
	ea, _ := be.Alloc(len(ids), K)
	eb, _ := ref.Alloc(len(ids), K)
	if err := be.Embed(ea, dt, ids); err != nil {
		t.Fatal(err)
	}
	if err := ref.Embed(eb, rt, ids); err != nil {
		t.Fatal(err)
	}
	same("embedding rows", ea, eb)
	if err := be.SetBF16Matmul(false); err != nil {
		t.Fatal(err)
	}
	if err := ref.SetBF16Matmul(false); err != nil {
		t.Fatal(err)
	}
	same("float32 path", mm(be, dt), mm(ref, rt))
}

// TestDisposableWeightWithoutTiles: off the tiles a disposable weight is
// an ordinary one: its bytes stay.
func TestDisposableWeightWithoutTiles(t *testing.T) {
	be := New(1)
	enc, err := quant.Encode(backend.WeightQ8_0, make([]float32, 32*64), 32, 64)
	if err != nil {
		t.Fatal(err)
	}
	w, err := be.UploadDisposableWeight(enc, backend.WeightQ8_0, 32, 64)
	if err != nil {
		t.Fatal(err)
	}
	if w.(*wtensor).disposable {
		t.Fatal("disposable without the tiles: nothing would ever hold the weight but its bytes")
	}
}

// TestSwiGLU: the fused pass gives MatMul, MatMul and SiLUMul's values
// bit for bit, for each weight format the tiles take, on row counts that
// cover whole 32-row blocks, bf16Rows' few rows past them and a padded
// block through scratch, with the prefetch on and off and on one and two
// threads; and it declines, changing nothing, where it does not apply.
func TestSwiGLU(t *testing.T) {
	if !amxAvailable() {
		t.Skip("no AMX-BF16 tiles or AVX512-BF16 on this CPU (or a purego build): SwiGLU is not fused here")
	}
	defer func(v int64) { amxPrefetchMin = v }(amxPrefetchMin)
	r := rand.New(rand.NewPCG(11, 11))
	for _, f := range []backend.WeightFormat{backend.WeightBF16, backend.WeightF16, backend.WeightQ8_0} {
		for _, threads := range []int{1, 2} {
			be := New(threads)
			if err := be.SetBF16Matmul(true); err != nil {
				t.Fatal(err)
			}
			for _, pfMin := range []int64{0, 1 << 62} {
				amxPrefetchMin = pfMin
				for _, s := range [][3]int{{1, 32, 32}, {2, 64, 64}, {17, 64, 96}, {32, 96, 64}, {33, 64, 160}, {34, 128, 64}, {35, 64, 96}, {65, 96, 128}, {100, 64, 96}, {320, 128, 256}} {
					T, K, N := s[0], s[1], s[2]
					x, _ := be.Wrap(randWeights(r, T*K, 1), T, K)
					gate := newWeight(t, be, f, randWeights(r, N*K, 0.1), N, K)
					up := newWeight(t, be, f, randWeights(r, N*K, 0.1), N, K)
					got, _ := be.Alloc(T, N)
					g, _ := be.Alloc(T, N)
					u, _ := be.Alloc(T, N)
					poisonBF16Pool(T, K)
					if ok, err := be.SwiGLU(got, x, gate, up); !ok || err != nil {
						t.Fatalf("%s %v: SwiGLU = %v, %v", f, s, ok, err)
					}
					if err := errors.Join(be.MatMul(g, x, gate, nil), be.MatMul(u, x, up, nil), be.SiLUMul(g, g, u)); err != nil {
						t.Fatal(err)
					}
					for i, v := range Data(got) {
						if math.Float32bits(v) != math.Float32bits(Data(g)[i]) {
							t.Fatalf("%s %v threads=%d prefetch=%v: value %d fused %g, separate %g", f, s, threads, pfMin == 0, i, v, Data(g)[i])
						}
					}
				}
			}
		}
	}

	// Declined: the float32 kernels, a float32 weight, a weight whose rows
	// are not a multiple of 32; out is left as it was.
	r2 := rand.New(rand.NewPCG(12, 12))
	amx := New(2)
	if err := amx.SetBF16Matmul(true); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		be   *Backend
		f    backend.WeightFormat
		N    int
	}{{"float32 kernels", New(2), backend.WeightBF16, 64}, {"float32 weight", amx, backend.WeightF32, 64}, {"48 rows", amx, backend.WeightBF16, 48}} {
		x, _ := c.be.Wrap(randWeights(r2, 3*64, 1), 3, 64)
		var gate, up backend.Tensor
		if c.f == backend.WeightF32 { // held as a plain tensor
			gate, _ = c.be.Wrap(randWeights(r2, c.N*64, 0.1), c.N, 64)
			up, _ = c.be.Wrap(randWeights(r2, c.N*64, 0.1), c.N, 64)
		} else {
			gate = newWeight(t, c.be, c.f, randWeights(r2, c.N*64, 0.1), c.N, 64)
			up = newWeight(t, c.be, c.f, randWeights(r2, c.N*64, 0.1), c.N, 64)
		}
		out, _ := c.be.Wrap(make([]float32, 3*c.N), 3, c.N)
		Data(out)[0] = 7
		if ok, err := c.be.SwiGLU(out, x, gate, up); ok || err != nil || Data(out)[0] != 7 {
			t.Errorf("%s: SwiGLU = %v, %v (out[0] %g), want false, nil, out untouched", c.name, ok, err, Data(out)[0])
		}
	}
	// Shapes that do not fit are errors.
	x, _ := amx.Wrap(randWeights(r2, 3*64, 1), 3, 64)
	gate := newWeight(t, amx, backend.WeightBF16, randWeights(r2, 64*64, 0.1), 64, 64)
	up := newWeight(t, amx, backend.WeightBF16, randWeights(r2, 32*64, 0.1), 32, 64)
	out, _ := amx.Alloc(3, 64)
	if _, err := amx.SwiGLU(out, x, gate, up); !errors.Is(err, backend.ErrShape) {
		t.Errorf("gate 64 rows, up 32: %v, want a shape error", err)
	}
}

// TestAMXQ8BlockMatchesStrips: the q8_0 products amxQ8Block takes (one
// row block a task, with one or two rows past it, or one padded block)
// give the bits the strips and rows give, through MatMul and SwiGLU, on
// one and two threads, with and without bias and prefetch; and the
// shapes chosen do reach it.
func TestAMXQ8BlockMatchesStrips(t *testing.T) {
	if !amxTiles() {
		t.Skip("no AMX-BF16 tiles on this CPU (or a purego build): amxQ8Block cannot run (VDPBF16PS-only CPUs convert q8_0 strip by strip)")
	}
	defer func(v int64, f bool) { amxPrefetchMin, amxFuseQ8 = v, f }(amxPrefetchMin, amxFuseQ8)
	r := rand.New(rand.NewPCG(21, 21))
	for _, threads := range []int{1, 2} {
		be := New(threads)
		if err := be.SetBF16Matmul(true); err != nil {
			t.Fatal(err)
		}
		for _, s := range []struct {
			T, K, N int
			fused   bool // some task runs on amxQ8Block
		}{
			{32, 64, 96, true},     // one whole block
			{33, 64, 256, true},    // a block step: 32 rows and the slot before
			{33, 96, 512, true},    //
			{34, 128, 256, true},   // two rows past the block
			{16, 64, 96, true},     // lm_head on a few rows: padded
			{45, 64, 96, true},     // a whole block, then a padded one
			{45, 64, 256, false},   // both blocks in one task: strips
			{65, 64, 32, true},     // three tasks, the last one row (bf16Rows alone)
			{1, 32, 32, false},     // one row: bf16Rows alone
			{320, 128, 256, false}, // many blocks a task: strips
		} {
			p := be.amxPlan(make([]float32, s.T*s.K), s.T, s.K, s.N)
			fused := false
			w := &wtensor{format: backend.WeightQ8_0}
			for task := range p.tasks() {
				_, p0, p1 := p.task(task)
				_, _, ok := p.fusedQ8(w, p0, p1)
				fused = fused || ok
			}
			p.done()
			if fused != s.fused {
				t.Fatalf("threads=%d %v: fused=%v, want %v", threads, s, fused, s.fused)
			}
			x, _ := be.Wrap(randWeights(r, s.T*s.K, 1), s.T, s.K)
			wa := newWeight(t, be, backend.WeightQ8_0, randWeights(r, s.N*s.K, 0.1), s.N, s.K)
			wb := newWeight(t, be, backend.WeightQ8_0, randWeights(r, s.N*s.K, 0.1), s.N, s.K)
			bias, _ := be.Wrap(randWeights(r, s.N, 1), 1, s.N)
			for _, pfMin := range []int64{0, 1 << 62} {
				amxPrefetchMin = pfMin
				run := func(fuse bool) [3][]float32 {
					amxFuseQ8 = fuse
					var res [3]backend.Tensor
					for i := range res {
						res[i], _ = be.Alloc(s.T, s.N)
					}
					poisonBF16Pool(s.T, s.K)
					if err := errors.Join(be.MatMul(res[0], x, wa, nil), be.MatMul(res[1], x, wb, bias)); err != nil {
						t.Fatal(err)
					}
					if ok, err := be.SwiGLU(res[2], x, wa, wb); !ok || err != nil {
						t.Fatalf("SwiGLU = %v, %v", ok, err)
					}
					return [3][]float32{Data(res[0]), Data(res[1]), Data(res[2])}
				}
				want, got := run(false), run(true)
				for i, name := range []string{"MatMul", "MatMul with bias", "SwiGLU"} {
					for j, v := range got[i] {
						if math.Float32bits(v) != math.Float32bits(want[i][j]) {
							t.Fatalf("threads=%d %v prefetch=%v %s: value %d (row %d) fused %g, strips %g", threads, s, pfMin == 0, name, j, j/s.N, v, want[i][j])
						}
					}
				}
			}
		}
	}
}

// BenchmarkQ8BlockStep is a cached block step's q8_0 products on the
// tiles (32 rows and the slot before; lm_head's 16 masked rows) with the
// weight converted chunk by chunk in amxQ8Block (fused) or into whole
// strips first (strips). Sixteen weights in turn (four for the lm_head
// slice), so they come from memory as a model's layers do. ns/product
// counts the 16×32 weight tiles times the two row tiles.
func BenchmarkQ8BlockStep(b *testing.B) {
	be := New(0)
	if err := be.SetBF16Matmul(true); err != nil {
		b.Skip("no AMX-BF16 tiles or AVX512-BF16 on this CPU (or a purego build): ", err)
	}
	defer func(f bool) { amxFuseQ8 = f }(amxFuseQ8)
	for _, s := range []struct {
		name       string
		T, K, N, L int
	}{
		{"33x896x4864", 33, 896, 4864, 16},
		{"33x4864x896", 33, 4864, 896, 16},
		{"16x896x37984", 16, 896, 37984, 4}, // a quarter of lm_head
	} {
		r := rand.New(rand.NewPCG(1, 2))
		x, _ := be.Wrap(randWeights(r, s.T*s.K, 1), s.T, s.K)
		ws := make([]backend.Tensor, s.L)
		for i := range ws {
			raw, _ := quant.Encode(backend.WeightQ8_0, randWeights(r, s.N*s.K, 0.02), s.N, s.K)
			ws[i], _ = be.UploadWeight(raw, backend.WeightQ8_0, s.N, s.K)
		}
		out, _ := be.Alloc(s.T, s.N)
		for _, fuse := range []bool{false, true} {
			name := s.name + "/strips"
			if fuse {
				name = s.name + "/fused"
			}
			b.Run(name, func(b *testing.B) {
				amxFuseQ8 = fuse
				for _, w := range ws { // packed once, as at load
					if err := be.MatMul(out, x, w, nil); err != nil {
						b.Fatal(err)
					}
				}
				c0 := cpuSeconds()
				for b.Loop() {
					for _, w := range ws {
						if err := be.MatMul(out, x, w, nil); err != nil {
							b.Fatal(err)
						}
					}
				}
				products := float64(b.N*s.L) * float64(s.N/16*s.K/32*2)
				b.ReportMetric((cpuSeconds()-c0)*1e9/products, "cpu-ns/product")
				b.ReportMetric(b.Elapsed().Seconds()*1e9/products, "ns/product")
			})
		}
	}
}

// TestPrepareMatMul: on the tiles PrepareMatMul repacks a weight they
// take at once (a disposable one's stored bytes handed back then, as at
// a first product), and the products are those of a weight packed at its
// first product; without the tiles, or for a weight they do not take,
// it changes nothing.
func TestPrepareMatMul(t *testing.T) {
	if !amxAvailable() {
		t.Skip("no AMX-BF16 tiles or AVX512-BF16 on this CPU (or a purego build): nothing to prepare")
	}
	be := New(2)
	if err := be.SetBF16Matmul(true); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(31, 31))
	const T, K, N = 33, 96, 64
	x, _ := be.Wrap(randWeights(r, T*K, 1), T, K)
	for _, f := range []backend.WeightFormat{backend.WeightBF16, backend.WeightQ8_0} {
		wv := randWeights(r, N*K, 0.1)
		raw, _ := quant.Encode(f, wv, N, K)
		prepared, err := be.UploadDisposableWeight(slices.Clone(raw), f, N, K)
		if err != nil {
			t.Fatal(err)
		}
		lazy, _ := be.UploadWeight(slices.Clone(raw), f, N, K)
		be.PrepareMatMul(prepared)
		pw := prepared.(*wtensor)
		if pw.amx == nil || !pw.dropped {
			t.Fatalf("%s: after PrepareMatMul packed=%v, stored bytes dropped=%v", f, pw.amx != nil, pw.dropped)
		}
		if lazy.(*wtensor).amx != nil {
			t.Fatalf("%s: a weight packed before its first product without PrepareMatMul", f)
		}
		got, _ := be.Alloc(T, N)
		want, _ := be.Alloc(T, N)
		if err := errors.Join(be.MatMul(got, x, prepared, nil), be.MatMul(want, x, lazy, nil)); err != nil {
			t.Fatal(err)
		}
		for i, v := range Data(got) {
			if math.Float32bits(v) != math.Float32bits(Data(want)[i]) {
				t.Fatalf("%s: value %d prepared %g, packed at the first product %g", f, i, v, Data(want)[i])
			}
		}
	}
	// Without the tiles, and a weight they do not take: untouched.
	plain := New(1)
	w := newWeight(t, plain, backend.WeightBF16, randWeights(r, N*K, 0.1), N, K)
	plain.PrepareMatMul(w)
	odd := newWeight(t, be, backend.WeightBF16, randWeights(r, 48*K, 0.1), 48, K)
	be.PrepareMatMul(odd)
	f32, _ := be.Wrap(randWeights(r, N*K, 0.1), N, K)
	be.PrepareMatMul(f32)
	if w.amx != nil || odd.amx != nil {
		t.Fatalf("packed without the tiles (%v) or with 48 rows (%v)", w.amx != nil, odd.amx != nil)
	}
}

// TestMatMulsMatchMatMul: MatMuls on the tiles gives each product
// MatMul's bits (one pass, x rounded once, the weights' column blocks
// one task list), over weight formats, row counts that take every path
// (whole blocks, one or two rows past them, padded blocks, amxQ8Block),
// biases on some products, one and two threads, prefetch on and off;
// and it declines, touching nothing, where a weight cannot run that way.
func TestMatMulsMatchMatMul(t *testing.T) {
	if !amxAvailable() {
		t.Skip("no AMX-BF16 tiles or AVX512-BF16 on this CPU (or a purego build): MatMuls declines here")
	}
	defer func(v int64) { amxPrefetchMin = v }(amxPrefetchMin)
	r := rand.New(rand.NewPCG(41, 41))
	for _, f := range []backend.WeightFormat{backend.WeightBF16, backend.WeightF16, backend.WeightQ8_0} {
		for _, threads := range []int{1, 2} {
			be := New(threads)
			if err := be.SetBF16Matmul(true); err != nil {
				t.Fatal(err)
			}
			for _, pfMin := range []int64{0, 1 << 62} {
				amxPrefetchMin = pfMin
				for _, s := range []struct {
					T, K int
					Ns   []int
				}{{1, 64, []int{64, 32, 32}}, {17, 96, []int{192, 96}}, {33, 64, []int{256, 64, 64}}, {34, 128, []int{96, 32, 32}}, {45, 64, []int{128, 64, 64}}, {320, 128, []int{128, 64, 64}}} {
					x, _ := be.Wrap(randWeights(r, s.T*s.K, 1), s.T, s.K)
					var outs, ws, biases, refs []backend.Tensor
					for i, N := range s.Ns {
						ws = append(ws, newWeight(t, be, f, randWeights(r, N*s.K, 0.1), N, s.K))
						var bias backend.Tensor
						if i != 1 {
							bias, _ = be.Wrap(randWeights(r, N, 1), 1, N)
						}
						biases = append(biases, bias)
						o, _ := be.Alloc(s.T, N)
						ref, _ := be.Alloc(s.T, N)
						outs, refs = append(outs, o), append(refs, ref)
					}
					poisonBF16Pool(s.T, s.K)
					if ok, err := be.MatMuls(outs, x, ws, biases); !ok || err != nil {
						t.Fatalf("%s %v: MatMuls = %v, %v", f, s, ok, err)
					}
					for i := range ws {
						if err := be.MatMul(refs[i], x, ws[i], biases[i]); err != nil {
							t.Fatal(err)
						}
						for j, v := range Data(outs[i]) {
							if math.Float32bits(v) != math.Float32bits(Data(refs[i])[j]) {
								t.Fatalf("%s %v threads=%d prefetch=%v: product %d value %d: MatMuls %g, MatMul %g", f, s, threads, pfMin == 0, i, j, v, Data(refs[i])[j])
							}
						}
					}
				}
			}
		}
	}
	// Declined: the float32 kernels, a weight of 48 rows; outs untouched.
	amx := New(2)
	if err := amx.SetBF16Matmul(true); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		be   *Backend
		N    int
	}{{"float32 kernels", New(2), 64}, {"48 rows", amx, 48}} {
		x, _ := c.be.Wrap(randWeights(r, 3*64, 1), 3, 64)
		w0 := newWeight(t, c.be, backend.WeightBF16, randWeights(r, 64*64, 0.1), 64, 64)
		w1 := newWeight(t, c.be, backend.WeightBF16, randWeights(r, c.N*64, 0.1), c.N, 64)
		o0, _ := c.be.Wrap(make([]float32, 3*64), 3, 64)
		o1, _ := c.be.Wrap(make([]float32, 3*c.N), 3, c.N)
		Data(o0)[0] = 7
		if ok, err := c.be.MatMuls([]backend.Tensor{o0, o1}, x, []backend.Tensor{w0, w1}, []backend.Tensor{nil, nil}); ok || err != nil || Data(o0)[0] != 7 {
			t.Errorf("%s: MatMuls = %v, %v (out[0] %g), want false, nil, out untouched", c.name, ok, err, Data(o0)[0])
		}
	}
	// Shapes that do not fit are errors.
	x, _ := amx.Wrap(randWeights(r, 3*64, 1), 3, 64)
	w := newWeight(t, amx, backend.WeightBF16, randWeights(r, 64*64, 0.1), 64, 64)
	o, _ := amx.Alloc(3, 32)
	if _, err := amx.MatMuls([]backend.Tensor{o}, x, []backend.Tensor{w}, []backend.Tensor{nil}); !errors.Is(err, backend.ErrShape) {
		t.Errorf("out of 32 columns for a weight of 64 rows: %v, want a shape error", err)
	}
	if _, err := amx.MatMuls([]backend.Tensor{o}, x, []backend.Tensor{w}, nil); !errors.Is(err, backend.ErrShape) {
		t.Errorf("no biases: %v, want a shape error", err)
	}
}

// TestTranspose16 checks the AVX-512 transpose against transpose16Go on
// distinct values, for one and several 16-column blocks and a row stride
// wider than the columns taken.
func TestTranspose16(t *testing.T) {
	if !amxAvailable() {
		t.Skip(ErrNoAMX)
	}
	for _, c := range [][2]int{{16, 16}, {48, 48}, {64, 32}, {2432, 2432}} {
		ld, n := c[0], c[1]
		src := make([]uint32, 16*ld)
		for i := range src {
			src[i] = uint32(i)*2654435761 + 1
		}
		got, want := make([]uint32, 16*n), make([]uint32, 16*n)
		transpose16(&got[0], &src[0], ld, n)
		transpose16Go(want, src, ld, n)
		if !slices.Equal(got, want) {
			t.Fatalf("ld %d, n %d: transpose16 differs from transpose16Go", ld, n)
		}
	}
}
