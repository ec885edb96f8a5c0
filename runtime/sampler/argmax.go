package sampler

import "math"

// argmax returns row's largest value and the index of its first
// occurrence, exactly as the loop `if r > m { m, arg = r, i }` from m = −∞,
// arg = 0 does (NaNs never win; an all −∞ or NaN row gives −∞ and 0). On a
// CPU with AVX2 it compares 32 values at a time (argmaxAVX2) and reduces
// the lanes here; the tail goes through the loop itself.
func argmax(row []float32) (float32, int) {
	m, arg := float32(math.Inf(-1)), 0
	i := 0
	if haveExpSIMD && len(row) >= 32 {
		n := len(row) &^ 31
		var vals [32]float32
		var idx [32]int32
		argmaxAVX2(&row[0], n, &vals, &idx)
		for l, v := range vals {
			// A lane that never took a value keeps −∞ and index −1.
			if idx[l] >= 0 && (v > m || v == m && int(idx[l]) < arg) {
				m, arg = v, int(idx[l])
			}
		}
		i = n
	}
	for ; i < len(row); i++ {
		if r := row[i]; r > m {
			m, arg = r, i
		}
	}
	return m, arg
}
