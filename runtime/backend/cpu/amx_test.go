package cpu

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/dream-lsp/dream-lsp/runtime/backend"
	"github.com/dream-lsp/dream-lsp/runtime/weights"
)

// bf16RNE is the reference rounding of VCVTNE2PS2BF16: nearest even,
// subnormal inputs as zero (the instruction's DAZ), a NaN quieted.
func bf16RNE(f float32) uint16 {
	u := math.Float32bits(f)
	switch {
	case f != f:
		return uint16(u>>16) | 0x40
	case u&0x7f800000 == 0:
		return uint16(u>>16) & 0x8000
	}
	u += 0x7fff + (u>>16)&1
	return uint16(u >> 16)
}

func TestCvtBF16(t *testing.T) {
	if !amxAvailable() {
		t.Skip("no AMX-BF16 tiles on this CPU (or a purego build): the bf16 matmul is not used here")
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
		if want := bf16RNE(f); dst[i] != want {
			t.Fatalf("value %d (%#08x): got %#04x, want %#04x", i, math.Float32bits(f), dst[i], want)
		}
	}
}

// TestAMXMatMul checks the AMX product against float64 sums of the same
// bf16-rounded activations and weights, on shapes that cover partial
// 32-row blocks, one and several row groups, and bias; and that it stays
// within bf16's rounding of the exact float32 product.
func TestAMXMatMul(t *testing.T) {
	be := New(2)
	if err := be.SetBF16Matmul(true); err != nil {
		if !errors.Is(err, ErrNoAMX) {
			t.Fatal(err)
		}
		t.Skip("no AMX-BF16 tiles on this CPU (or a purego build): ", err)
	}
	exact := New(2)
	r := rand.New(rand.NewPCG(9, 9))
	for _, s := range [][3]int{{1, 32, 32}, {17, 64, 96}, {32, 192, 64}, {45, 192, 96}, {100, 512, 192}, {320, 896, 128}} {
		T, K, N := s[0], s[1], s[2]
		for _, withBias := range []bool{false, true} {
			xv := randWeights(r, T*K, 1)
			wv := randWeights(r, N*K, 0.05)
			w := newWeight(t, be, backend.WeightBF16, wv, N, K)
			wExact := newWeight(t, exact, backend.WeightBF16, wv, N, K)
			x, _ := be.Wrap(xv, T, K)
			var bias backend.Tensor
			var bv []float32
			if withBias {
				bv = randWeights(r, N, 1)
				bias, _ = be.Wrap(bv, 1, N)
			}
			got, _ := be.Alloc(T, N)
			ref, _ := exact.Alloc(T, N)
			if err := be.MatMul(got, x, w, bias); err != nil {
				t.Fatal(err)
			}
			if err := exact.MatMul(ref, x, wExact, bias); err != nil {
				t.Fatal(err)
			}
			g, e := Data(got), Data(ref)
			for i := range T {
				for j := range N {
					var sum, mag float64
					for k := range K {
						xk := float64(weights.BF16ToFloat32(bf16RNE(xv[i*K+k])))
						wk := float64(w.rowValue(j, k))
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
					// Rounding each activation to bf16 moves a sum by at
					// most 2⁻⁸ of its magnitude.
					if d := math.Abs(v - float64(e[i*N+j])); d > mag/256+1e-5 {
						t.Fatalf("%v bias=%v [%d,%d]: AMX %g, float32 %g: beyond bf16 rounding (magnitude %g)", s, withBias, i, j, v, e[i*N+j], mag)
					}
				}
			}
		}
	}
}

// TestAMXFallbacks: weights the tiles cannot take (columns not a multiple
// of 32, other formats) run the float32 kernels, sums identical to a
// backend without AMX.
func TestAMXFallbacks(t *testing.T) {
	be := New(2)
	if err := be.SetBF16Matmul(true); err != nil {
		t.Skip("no AMX-BF16 tiles on this CPU (or a purego build): ", err)
	}
	plain := New(2)
	r := rand.New(rand.NewPCG(4, 4))
	for _, c := range []struct {
		f       backend.WeightFormat
		T, K, N int
	}{{backend.WeightBF16, 5, 40, 32}, {backend.WeightBF16, 5, 64, 48}, {backend.WeightQ8_0, 5, 64, 64}, {backend.WeightF16, 5, 64, 64}} {
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
		t.Skip("this CPU has AMX-BF16: the refusal is tested on CPUs without it")
	}
	be := New(1)
	if err := be.SetBF16Matmul(true); !errors.Is(err, ErrNoAMX) {
		t.Fatalf("SetBF16Matmul(true) without AMX: %v, want ErrNoAMX", err)
	}
	if be.BF16Matmul() {
		t.Fatal("BF16Matmul reports true after a refusal")
	}
}

// rowValue is the weight's value [r, k] as float32 (the reference decoder).
func (w *wtensor) rowValue(r, k int) float32 {
	var v [1]float32
	w.decodeRowGo(v[:], r, k, k+1)
	return v[0]
}
