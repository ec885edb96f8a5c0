package infill_test

import (
	"context"
	"slices"
	"testing"

	"github.com/dream-lsp/dream-lsp/infill"
	"github.com/dream-lsp/dream-lsp/infill/infilltest"
)

// TestScheduleReachesRuntime: the engine's default schedule (capped steps,
// the default algorithm and confidence_threshold's τ and block) is what the
// runtime is asked for; Options and the request's steps override it.
func TestScheduleReachesRuntime(t *testing.T) {
	text := "package p\n\nfunc f() int {\n\treturn 1\n}\n"
	def := 40 // one step per mask, at most DefaultMaxSteps
	if infill.DefaultMaxSteps > 0 {
		def = min(def, infill.DefaultMaxSteps)
	}
	off := len("package p\n\nfunc f() int {\n\treturn ")
	for _, c := range []struct {
		name      string
		opts      infill.Options
		steps     int
		rowSteps  []int
		alg       string
		threshold float64
		block     int
	}{
		{"defaults", infill.Options{}, 0, []int{def}, infill.DefaultAlg, 0, 0},
		{"no cap", infill.Options{MaxSteps: -1}, 0, []int{40}, infill.DefaultAlg, 0, 0},
		{"options", infill.Options{MaxSteps: 5, Alg: "confidence_threshold", Threshold: 0.5, BlockSize: 8}, 0, []int{5}, "confidence_threshold", 0.5, 8},
		{"request steps", infill.Options{MaxSteps: 5}, 30, []int{30}, infill.DefaultAlg, 0, 0},
	} {
		rt := &infilltest.Runtime{}
		e := infill.New(rt, c.opts)
		if _, err := e.Complete(context.Background(), infill.Request{Path: "f.go", Text: text, Offset: off, Length: "fixed=40", Steps: c.steps}); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if len(rt.Calls) != 1 {
			t.Fatalf("%s: %d denoise calls, want 1", c.name, len(rt.Calls))
		}
		got := rt.Calls[0]
		if !slices.Equal(got.RowSteps, c.rowSteps) || got.Steps != slices.Max(c.rowSteps) || got.Alg != c.alg || got.Threshold != c.threshold || got.BlockSize != c.block {
			t.Errorf("%s: asked for steps %d, row steps %v, alg %q, threshold %v, block %d; want %v, %q, %v, %d",
				c.name, got.Steps, got.RowSteps, got.Alg, got.Threshold, got.BlockSize, c.rowSteps, c.alg, c.threshold, c.block)
		}
	}
}
