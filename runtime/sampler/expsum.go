package sampler

import "math"

// expSum returns Σ_i math.Exp(float64(row[i]) − m), summed in index order:
// bit for bit the scalar loop, four exponentials at a time where the CPU
// has AVX2 and FMA (the same operations as math.Exp's FMA path, which Go
// takes on such CPUs). A group of four with a lane outside the normal
// range (non-finite, underflow to a subnormal or zero, overflow) goes
// through math.Exp itself.
func expSum(row []float32, m float64) float64 {
	var sum float64
	i := 0
	if haveExpSIMD {
		n4 := len(row) &^ 3
		for i < n4 {
			var k int
			sum, k = expSumAVX2(&row[i], n4-i, m, sum)
			i += k
			if i < n4 {
				for _, r := range row[i : i+4] {
					sum += math.Exp(float64(r) - m)
				}
				i += 4
			}
		}
	}
	for _, r := range row[i:] {
		sum += math.Exp(float64(r) - m)
	}
	return sum
}

// expStore sets e[i] = math.Exp(e[i] − m) for every i and returns their
// sum in index order, bit for bit the scalar loop, four exponentials at a
// time where the CPU has AVX2 and FMA (expStoreAVX2); a group with a lane
// outside the normal range goes through math.Exp itself.
func expStore(e []float64, m float64) float64 {
	var sum float64
	i := 0
	if haveExpSIMD {
		n4 := len(e) &^ 3
		for i < n4 {
			var k int
			sum, k = expStoreAVX2(&e[i], n4-i, m, sum)
			i += k
			if i < n4 {
				for j := i; j < i+4; j++ {
					e[j] = math.Exp(e[j] - m)
					sum += e[j]
				}
				i += 4
			}
		}
	}
	for j := i; j < len(e); j++ {
		e[j] = math.Exp(e[j] - m)
		sum += e[j]
	}
	return sum
}
