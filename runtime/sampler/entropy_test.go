package sampler

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestEntropyMatchesScalar: entropy is bit for bit the scalar loop over
// math.Log on softmax rows (zeros from filters, tiny and near-1 values,
// the maximum at 1), with lengths that leave a tail, and on values that
// sweep every binade the logarithm sees.
func TestEntropyMatchesScalar(t *testing.T) {
	scalar := func(e []float64, inv float64) float64 {
		var h float64
		for _, ei := range e {
			if ei == 0 {
				continue
			}
			q := ei * inv
			h += q * math.Log(q+1e-10)
		}
		return h
	}
	check := func(name string, e []float64, inv float64) {
		t.Helper()
		got, want := entropy(e, inv), scalar(e, inv)
		if math.Float64bits(got) != math.Float64bits(want) && !(got != got && want != want) {
			t.Fatalf("%s (len %d, inv %v): %v (%#x), scalar %v (%#x)", name, len(e), inv, got, math.Float64bits(got), want, math.Float64bits(want))
		}
	}
	r := rand.New(rand.NewPCG(3, 8))
	for _, n := range []int{0, 1, 3, 4, 5, 7, 8, 1001, 4096, 151936} {
		for _, spread := range []float64{0.1, 3, 30} {
			e := make([]float64, n)
			var sum float64
			for i := range e {
				e[i] = math.Exp(-math.Abs(r.NormFloat64() * spread))
				if r.IntN(5) == 0 {
					e[i] = 0 // dropped by top-p or top-k
				}
				sum += e[i]
			}
			if n > 0 {
				e[r.IntN(n)] = 1
				sum++
			}
			check("softmax row", e, 1/max(sum, 1))
		}
	}
	// One value at a time (four lanes alike), so a wrong lane cannot hide
	// in a sum: q from 1 down through every binade to 0.
	for q := 1.0; q > 1e-300; q *= 0.71 {
		for _, v := range []float64{q, math.Nextafter(q, 0), math.Nextafter(q, 2)} {
			v = min(v, 1)
			check("sweep", []float64{v, v, v, v}, 1)
			check("sweep, inv 0.5", []float64{v, 0, v, 1}, 0.5)
		}
	}
	// q + 1e−10 exactly √2/2 times a power of two: the edge where the
	// logarithm halves its mantissa (math.Log tests f1 ≤ √2/2 there).
	edges := 0
	for k := 0; k > -30; k-- {
		x := math.Ldexp(7.07106781186547524401e-01, k)
		q := x - 1e-10
		for range 64 {
			q = math.Nextafter(q, 0)
		}
		for range 128 {
			if q >= 0 && q+1e-10 == x {
				check("√2/2 edge", []float64{q, q, q, q}, 1)
				edges++
			}
			q = math.Nextafter(q, 1)
		}
	}
	if edges == 0 {
		t.Fatal("no q with q + 1e−10 = √2/2·2^k found")
	}
	check("a NaN", []float64{0.5, math.NaN(), 1, 0.25, 0.1}, 0.5)
	check("inv above 1 (scalar)", []float64{0.5, 0.5, 0.5, 0.5}, 2)
}
