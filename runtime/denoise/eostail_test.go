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

func TestEOSRuns(t *testing.T) {
	const M, E, V = 9, 8, 10 // mask, eos, vocabulary
	for _, c := range []struct {
		name   string
		orig   []int
		canvas []int
		want   []int
		toks   []int // each scored slot's greedy token this step
		filled int
		out    []int
	}{
		{"pads leftwards from the run's end", []int{1, M, M, M, M, 2}, []int{1, M, M, M, E, 2}, []int{1, 2, 3}, []int{3, E, E}, 2, []int{1, M, E, E, E, 2}},
		{"stops at the first slot that is not eos", []int{M, M, M, M}, []int{M, M, M, E}, []int{0, 1, 2}, []int{E, 3, E}, 1, []int{M, M, E, E}},
		{"stops at committed content", []int{M, M, M, M}, []int{M, 3, M, E}, []int{0, 2}, []int{E, E}, 1, []int{M, 3, E, E}},
		{"no eos at the end: nothing", []int{M, M, M, 1}, []int{M, E, M, 1}, []int{0, 2}, []int{E, E}, 0, []int{M, E, M, 1}},
		{"each run on its own", []int{M, M, 1, M, M, M}, []int{M, E, 1, M, M, E}, []int{0, 3, 4}, []int{E, 3, E}, 2, []int{E, E, 1, M, E, E}},
		{"a whole run", []int{1, M, M, M}, []int{1, M, M, E}, []int{1, 2}, []int{E, E}, 2, []int{1, E, E, E}},
	} {
		canvas := slices.Clone(c.canvas)
		conf := make([]float32, len(canvas))
		var logits []float32
		for _, tok := range c.toks {
			l := make([]float32, V)
			l[tok] = 5
			logits = append(logits, l...)
		}
		n := eosRuns(canvas, conf, c.orig, c.want, M, E, eosFromLogits(logits, V))
		if n != c.filled || !slices.Equal(canvas, c.out) {
			t.Errorf("%s: filled %d, canvas %v; want %d, %v", c.name, n, canvas, c.filled, c.out)
		}
		for p := range canvas {
			if canvas[p] == E && c.canvas[p] == M && !(conf[p] > 0.9) {
				t.Errorf("%s: slot %d filled with confidence %v, want p(eos) of a row peaked on eos", c.name, p, conf[p])
			}
		}
	}
}
