package engine_test

import (
	"context"
	"slices"
	"testing"

	"github.com/dream-lsp/dream-lsp/internal/goldentest"
	"github.com/dream-lsp/dream-lsp/internal/sharedpath"
	"github.com/dream-lsp/dream-lsp/runtime/denoise"
	"github.com/dream-lsp/dream-lsp/runtime/engine"
	"github.com/dream-lsp/dream-lsp/runtime/model"
	"github.com/dream-lsp/dream-lsp/runtime/sampler"
)

// TestOpenWeightModes opens a golden model in every weight mode: the
// lossless ones (the checkpoint is bf16) reproduce every golden greedy
// output, q8_0 runs to completion; an unknown mode is refused.
func TestOpenWeightModes(t *testing.T) {
	dir := sharedpath.Path(t, "golden", "models", "tiny-mha-sharded")
	cases := goldentest.ReadGenerate(t, dir, 1)
	for _, mode := range model.WeightModes {
		e, err := engine.Open(dir, engine.Options{Threads: 2, Weights: mode})
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		for n, c := range cases {
			res, err := e.Denoise(context.Background(), denoise.Request{
				Canvases: [][]int{c.InputIDs}, Steps: c.Steps,
				Sampler: sampler.Options{Alg: sampler.Alg(c.Alg), Eps: c.Eps},
			})
			if err != nil {
				t.Fatalf("%s case %d: %v", mode, n, err)
			}
			if mode != model.WeightsQ8_0 && !slices.Equal(res.Canvases[0], c.OutputIDs) {
				t.Fatalf("%s case %d:\n got %v\nwant %v", mode, n, res.Canvases[0], c.OutputIDs)
			}
		}
		if err := e.Close(); err != nil {
			t.Fatalf("%s: Close: %v", mode, err)
		}
	}
	if _, err := engine.Open(dir, engine.Options{Weights: "q4_k"}); err == nil {
		t.Fatal("weights q4_k: no error")
	}
}
