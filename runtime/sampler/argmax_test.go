package sampler

import (
	"math"
	"math/rand/v2"
	"testing"
)

// scalarArgmax is the loop argmax must reproduce.
func scalarArgmax(row []float32) (float32, int) {
	m, arg := float32(math.Inf(-1)), 0
	for i, r := range row {
		if r > m {
			m, arg = r, i
		}
	}
	return m, arg
}

// TestArgmaxMatchesLoop: argmax gives the loop's value (bits included:
// −0 against 0) and index on random rows of every length around the
// 32-value blocks and on the cases a lane-wise search could get wrong:
// ties in several lanes and sets, NaN, ±∞, all −∞, all NaN, −0 and 0.
func TestArgmaxMatchesLoop(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	var rows [][]float32
	for _, n := range []int{0, 1, 7, 31, 32, 33, 63, 64, 65, 100, 1000, 4096, 151936} {
		row := make([]float32, n)
		for i := range row {
			row[i] = float32(r.NormFloat64() * 4)
		}
		rows = append(rows, row)
	}
	tie := make([]float32, 200)
	for _, i := range []int{150, 9, 77, 40} { // the first occurrence is in the second set of the first block
		tie[i] = 3
	}
	rows = append(rows, tie)
	withNaN := make([]float32, 96)
	for i := range withNaN {
		withNaN[i] = float32(i % 13)
	}
	withNaN[5], withNaN[70] = nan, nan
	rows = append(rows, withNaN)
	allNeg := make([]float32, 70)
	allNaN := make([]float32, 70)
	for i := range allNeg {
		allNeg[i], allNaN[i] = -inf, nan
	}
	rows = append(rows, allNeg, allNaN)
	infs := make([]float32, 64)
	infs[33], infs[60], infs[2] = inf, inf, -inf
	rows = append(rows, infs)
	zeros := make([]float32, 64)
	for i := range zeros {
		zeros[i] = -1
	}
	zeros[40], zeros[9] = 0, float32(math.Copysign(0, -1))
	rows = append(rows, zeros)
	for n, row := range rows {
		gm, ga := argmax(row)
		wm, wa := scalarArgmax(row)
		if ga != wa || math.Float32bits(gm) != math.Float32bits(wm) {
			t.Errorf("row %d (%d values): argmax %v at %d, loop %v at %d", n, len(row), gm, ga, wm, wa)
		}
	}
}

func FuzzArgmax(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, b []byte) {
		row := make([]float32, len(b)/2)
		for i := range row {
			// Few distinct values, so ties are common; 0xff is NaN.
			switch v := b[2*i]; v {
			case 0xff:
				row[i] = float32(math.NaN())
			case 0xfe:
				row[i] = float32(math.Inf(-1))
			default:
				row[i] = float32(v%8) - 4
			}
		}
		gm, ga := argmax(row)
		wm, wa := scalarArgmax(row)
		if ga != wa || math.Float32bits(gm) != math.Float32bits(wm) {
			t.Fatalf("argmax %v at %d, loop %v at %d on %v", gm, ga, wm, wa, row)
		}
	})
}

// TestGreedyTop2MatchesScan: greedyTop2's second probability is the one
// a single top-2 scan gives.
func TestGreedyTop2MatchesScan(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 1))
	nan := float32(math.NaN())
	for n, row := range [][]float32{
		{}, {1}, {2, 2}, {nan, 1, nan}, {nan, nan},
		{5, 3, 7}, {7, 3, 5}, {1, 9, 9, 2},
	} {
		checkTop2(t, n, row)
	}
	for n := range 200 {
		row := make([]float32, 1+r.IntN(300))
		for i := range row {
			row[i] = float32(r.IntN(9)) // ties everywhere
		}
		checkTop2(t, 100+n, row)
	}
}

func checkTop2(t *testing.T, n int, row []float32) {
	t.Helper()
	m1, m2 := float32(math.Inf(-1)), float32(math.Inf(-1))
	arg := 0
	for i, r := range row {
		if r > m1 {
			m1, m2, arg = r, m1, i
		} else if r > m2 {
			m2 = r
		}
	}
	sc, p2 := greedyTop2(row)
	want := math.Exp(float64(m2)-float64(m1)) * sc.conf
	if sc.token != arg || p2 != want && !(math.IsNaN(p2) && math.IsNaN(want)) {
		t.Errorf("row %d %v: token %d p2 %v, scan %d %v", n, row, sc.token, p2, arg, want)
	}
}
