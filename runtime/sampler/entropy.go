package sampler

import "math"

// entropy returns Σ q·log(q + 1e−10) over the e_i ≠ 0, q = e_i·inv, summed
// in index order: Dream's negative entropy of the softmax e·inv. Where the
// CPU has AVX2 it takes four logarithms at a time with math.Log's own
// operations (entropyAVX2), so the result is the scalar loop's bit for
// bit; a zero e_i adds q·log(1e−10) = −0 there, which leaves every sum as
// skipping it does. That needs every q in [0, 1], which holds for the
// sampler's e (exponentials of logits minus their maximum, 1 at the
// maximum, so inv ≤ 1); other inputs take the scalar loop.
func entropy(e []float64, inv float64) float64 {
	var h float64
	i := 0
	if haveExpSIMD && inv > 0 && inv <= 1 && len(e) >= 4 {
		i = len(e) &^ 3
		h = entropyAVX2(&e[0], i, inv, 0)
	}
	for _, ei := range e[i:] {
		if ei == 0 {
			continue // 0·log(1e-10)
		}
		q := ei * inv
		h += q * math.Log(q+1e-10)
	}
	return h
}
