package model_test

import (
	"testing"

	"github.com/dream-lsp/dream-lsp/runtime/backend"
	"github.com/dream-lsp/dream-lsp/runtime/backend/cpu"
	"github.com/dream-lsp/dream-lsp/runtime/model"
)

// preparingBackend records the weights Load asks it to prepare.
type preparingBackend struct {
	backend.Backend
	prepared []backend.Tensor
}

func (b *preparingBackend) PrepareMatMul(w backend.Tensor) { b.prepared = append(b.prepared, w) }

// TestLoadPreparesMatMulWeights: Load readies every weight a matmul
// reads (seven a layer and lm_head) on a backend that can, so the first
// completion does not pay for it, and not the embedding table of an
// untied model, which is only looked up.
func TestLoadPreparesMatMulWeights(t *testing.T) {
	for _, tied := range []bool{false, true} {
		cfg := smallConfig()
		cfg.TieWordEmbeddings = tied
		be := &preparingBackend{Backend: cpu.New(1)}
		m, err := model.Load(cfg, model.RandomSource(cfg, 7), be)
		if err != nil {
			t.Fatal(err)
		}
		if want := 7*cfg.NumLayers + 1; len(be.prepared) != want {
			t.Errorf("tied=%v: %d weights prepared, want %d", tied, len(be.prepared), want)
		}
		seen := map[backend.Tensor]bool{}
		for _, w := range be.prepared {
			if w == nil || seen[w] {
				t.Fatalf("tied=%v: prepared %v twice or nil", tied, w)
			}
			seen[w] = true
		}
		if !seen[m.LinearWeight()] {
			t.Errorf("tied=%v: the first layer's weight was not prepared", tied)
		}
		m.Close()
	}
}
