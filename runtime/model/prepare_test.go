package model_test

import (
	"math"
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

// decliningMatMuls is the CPU backend with MatMuls declining, so the
// model projects q, k and v with three MatMuls.
type decliningMatMuls struct{ *cpu.Backend }

func (decliningMatMuls) MatMuls(outs []backend.Tensor, x backend.Tensor, ws, biases []backend.Tensor) (bool, error) {
	return false, nil
}

// countingMatMuls is the CPU backend counting the MatMuls passes it ran.
type countingMatMuls struct {
	*cpu.Backend
	passes *int
}

func (c countingMatMuls) MatMuls(outs []backend.Tensor, x backend.Tensor, ws, biases []backend.Tensor) (bool, error) {
	done, err := c.Backend.MatMuls(outs, x, ws, biases)
	if done {
		*c.passes++
	}
	return done, err
}

// TestQKVInOnePass: on the AMX tiles a layer's q, k and v projections
// run as one MatMuls pass, and the logits are the three MatMuls' bit for
// bit.
func TestQKVInOnePass(t *testing.T) {
	if !cpu.AMXAvailable() {
		t.Skip("no AMX-BF16 tiles or AVX512-BF16 on this CPU (or a purego build): MatMuls declines without them")
	}
	cfg := smallConfig()
	ids := make([]int, 45)
	for i := range ids {
		ids[i] = (7 * i) % 290
	}
	in := []model.Input{{IDs: ids, Want: []int{3, 20, 44}}}
	var logits [2][][]float32
	passes := 0
	for i, mk := range []func() backend.Backend{
		func() backend.Backend { b := cpu.New(2); b.SetBF16Matmul(true); return countingMatMuls{b, &passes} },
		func() backend.Backend { b := cpu.New(2); b.SetBF16Matmul(true); return decliningMatMuls{b} },
	} {
		m, err := model.LoadWith(cfg, model.RandomBF16Source(cfg, 7), mk(), model.LoadOptions{Weights: model.WeightsAuto})
		if err != nil {
			t.Fatal(err)
		}
		if logits[i], err = m.Forward(in); err != nil {
			t.Fatal(err)
		}
		m.Close()
	}
	if passes != cfg.NumLayers {
		t.Fatalf("%d MatMuls passes for %d layers", passes, cfg.NumLayers)
	}
	for j, v := range logits[0][0] {
		if math.Float32bits(v) != math.Float32bits(logits[1][0][j]) {
			t.Fatalf("logit %d: one pass %g, three MatMuls %g", j, v, logits[1][0][j])
		}
	}
}
