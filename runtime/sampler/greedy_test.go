package sampler

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestGreedyOneMatchesFull: the greedy fast path gives the general path's
// token, probability and confidence bit for bit (ties to the first index,
// −∞ logits, a NaN row).
func TestGreedyOneMatchesFull(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 1))
	const vocab = 5000
	rows := [][]float32{}
	for range 20 {
		row := make([]float32, vocab)
		for i := range row {
			row[i] = float32(r.NormFloat64() * 4)
		}
		rows = append(rows, row)
	}
	tie := make([]float32, vocab)
	tie[7], tie[4000] = 3, 3
	rows = append(rows, tie)
	inf := append([]float32(nil), rows[0]...)
	inf[10], inf[11] = float32(math.Inf(-1)), float32(math.Inf(-1))
	rows = append(rows, inf)
	nan := append([]float32(nil), rows[1]...)
	nan[20] = float32(math.NaN())
	rows = append(rows, nan)
	for _, alg := range []Alg{MaskGITPlus, ConfidenceThreshold} {
		s, err := New(Options{Alg: alg}, 4, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !s.greedy(vocab) {
			t.Fatalf("%s at temperature 0 does not take the greedy path", alg)
		}
		buf := make([]float64, vocab)
		for n, row := range rows {
			got, want := greedyOne(row), s.sampleFull(row, buf, -1)
			same := got.token == want.token && math.Float32bits(got.prob) == math.Float32bits(want.prob) &&
				(math.Float64bits(got.conf) == math.Float64bits(want.conf) || got.conf != got.conf && want.conf != want.conf)
			if !same {
				t.Fatalf("%s row %d: greedy %+v, full %+v", alg, n, got, want)
			}
		}
	}
	for _, o := range []Options{{Alg: Entropy}, {Alg: TopKMargin}, {Alg: MaskGITPlus, Temperature: 0.5}, {Alg: MaskGITPlus, TopP: 0.9},
		{Alg: MaskGITPlus, TopK: 5}, {Alg: MaskGITPlus, EOSPenalty: 1, EOSTokenID: 3}} {
		s, err := New(o, 4, 0)
		if err != nil {
			t.Fatal(err)
		}
		if s.greedy(vocab) {
			t.Errorf("%+v takes the greedy path", o)
		}
	}
}
