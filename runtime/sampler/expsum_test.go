package sampler

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestExpSumMatchesScalar: expSum is bit for bit the scalar loop over
// math.Exp, on random rows and on rows whose groups of four hit every
// fallback (−∞, NaN, +∞, results that underflow to subnormals or zero,
// overflow), with lengths that leave a tail.
func TestExpSumMatchesScalar(t *testing.T) {
	scalar := func(row []float32, m float64) float64 {
		var s float64
		for _, r := range row {
			s += math.Exp(float64(r) - m)
		}
		return s
	}
	r := rand.New(rand.NewPCG(6, 6))
	check := func(name string, row []float32, m float64) {
		t.Helper()
		got, want := expSum(row, m), scalar(row, m)
		if math.Float64bits(got) != math.Float64bits(want) && !(got != got && want != want) {
			t.Fatalf("%s (len %d, m %v): %v (%#x), scalar %v (%#x)", name, len(row), m, got, math.Float64bits(got), want, math.Float64bits(want))
		}
	}
	for _, n := range []int{0, 1, 3, 4, 5, 8, 1001, 152064} {
		row := make([]float32, n)
		for i := range row {
			row[i] = float32(r.NormFloat64() * 5)
		}
		check("random", row, 2.5)
		check("random, m 0", row, 0)
	}
	// Every exponent the plain path covers, and its edges.
	sweep := make([]float32, 0, 1<<16)
	for x := -760.0; x <= 12; x += 0.0137 {
		sweep = append(sweep, float32(x))
	}
	// One value at a time, so that a wrong lane cannot hide in a sum.
	for _, x := range sweep {
		row := []float32{x, x, x, x}
		check("sweep", row, 0)
	}
	check("sweep row", sweep, -3)
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	for _, special := range []float32{float32(math.Inf(-1)), nan, inf, -745, -708.5, -707, 709, 709.8, 1e30, -1e30} {
		row := make([]float32, 23)
		for i := range row {
			row[i] = float32(r.NormFloat64())
		}
		row[9] = special
		check("special", row, 0)
		check("special, m 1", row, 1)
	}
}

// TestExpStoreMatchesScalar: expStore leaves every value and the sum bit
// for bit as the scalar loop over math.Exp does, on random rows and on
// rows whose groups of four hit every fallback, with lengths that leave a
// tail.
func TestExpStoreMatchesScalar(t *testing.T) {
	same := func(a, b float64) bool {
		return math.Float64bits(a) == math.Float64bits(b) || (a != a && b != b)
	}
	check := func(name string, in []float64, m float64) {
		t.Helper()
		got := append([]float64(nil), in...)
		want := append([]float64(nil), in...)
		gs := expStore(got, m)
		var ws float64
		for i, v := range want {
			want[i] = math.Exp(v - m)
			ws += want[i]
		}
		if !same(gs, ws) {
			t.Fatalf("%s (len %d, m %v): sum %v, scalar %v", name, len(in), m, gs, ws)
		}
		for i := range want {
			if !same(got[i], want[i]) {
				t.Fatalf("%s (len %d, m %v): e[%d] = exp(%v) is %v, scalar %v", name, len(in), m, i, in[i], got[i], want[i])
			}
		}
	}
	r := rand.New(rand.NewPCG(7, 7))
	for _, n := range []int{0, 1, 3, 4, 5, 8, 1001, 4096} {
		row := make([]float64, n)
		for i := range row {
			row[i] = float64(float32(r.NormFloat64() * 5))
		}
		check("random", row, 2.5)
		check("random, m 0", row, 0)
	}
	for x := -760.0; x <= 12; x += 0.0137 {
		check("sweep", []float64{x, x, x, x}, 0)
	}
	for _, special := range []float64{math.Inf(-1), math.NaN(), math.Inf(1), -745, -708.5, -707, 709, 709.8, 1e30, -1e30} {
		row := make([]float64, 23)
		for i := range row {
			row[i] = r.NormFloat64()
		}
		row[9] = special
		check("special", row, 0)
		check("special, m 1", row, 1)
	}
}
