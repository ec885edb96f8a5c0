package denoise

import (
	"slices"
	"testing"
)

func TestEOSTail(t *testing.T) {
	const M, E, V = 9, 8, 10 // mask, eos, vocabulary
	// logits for each wanted slot: a one-hot-ish row on token tok.
	row := func(tok int) []float32 {
		l := make([]float32, V)
		l[tok] = 5
		return l
	}
	for _, c := range []struct {
		name   string
		orig   []int
		canvas []int
		want   []int
		padded int
		out    []int
	}{
		{"pads after the first eos", []int{1, M, M, M, M, 2}, []int{1, 3, E, M, M, 2}, []int{3, 4}, 2, []int{1, 3, E, E, E, 2}},
		{"no eos yet", []int{1, M, M, M, 2}, []int{1, 3, M, M, 2}, []int{2, 3}, 0, []int{1, 3, M, M, 2}},
		{"eos at the end only", []int{M, M, M}, []int{M, M, E}, []int{0, 1}, 0, []int{M, M, E}},
		{"each run on its own", []int{M, M, 1, M, M}, []int{E, M, 1, 4, M}, []int{1, 4}, 1, []int{E, E, 1, 4, M}},
		{"content after the eos stays", []int{M, M, M, M}, []int{E, 3, M, M}, []int{2, 3}, 2, []int{E, 3, E, E}},
	} {
		canvas := slices.Clone(c.canvas)
		conf := make([]float32, len(canvas))
		var logits []float32
		for range c.want {
			logits = append(logits, row(3)...)
		}
		n := eosTail(canvas, conf, c.orig, c.want, logits, V, M, E)
		if n != c.padded || !slices.Equal(canvas, c.out) {
			t.Errorf("%s: padded %d, canvas %v; want %d, %v", c.name, n, canvas, c.padded, c.out)
		}
		for p := range canvas {
			if canvas[p] == E && c.canvas[p] == M && !(conf[p] > 0 && conf[p] < 0.01) {
				t.Errorf("%s: slot %d padded with confidence %v, want p(eos) under a one-hot row on another token", c.name, p, conf[p])
			}
		}
	}
}
