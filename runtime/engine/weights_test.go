package engine_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

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
	data, err := os.ReadFile(filepath.Join(dir, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Generate []struct {
			InputIDs  []int   `json:"input_ids"`
			Alg       string  `json:"alg"`
			Steps     int     `json:"steps"`
			Eps       float64 `json:"eps"`
			OutputIDs []int   `json:"output_ids"`
		} `json:"generate"`
	}
	if err := json.Unmarshal(data, &g); err != nil || len(g.Generate) == 0 {
		t.Fatalf("golden.json: %v", err)
	}
	for _, mode := range model.WeightModes {
		e, err := engine.Open(dir, engine.Options{Threads: 2, Weights: mode})
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		for n, c := range g.Generate {
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
