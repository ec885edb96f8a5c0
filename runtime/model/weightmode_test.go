package model_test

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/dream-lsp/dream-lsp/internal/goldentest"
	"github.com/dream-lsp/dream-lsp/internal/sharedpath"
	"github.com/dream-lsp/dream-lsp/runtime/backend/cpu"
	"github.com/dream-lsp/dream-lsp/runtime/denoise"
	"github.com/dream-lsp/dream-lsp/runtime/model"
	"github.com/dream-lsp/dream-lsp/runtime/sampler"
)

// readForward returns the forward cases of dir's golden.json.
func readForward(t *testing.T, dir string) []goldenForward {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Forward []goldenForward `json:"forward"`
	}
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	return g.Forward
}

// Tolerances of q8_0 on the golden tiny models (random weights, so many
// near-ties): logit error is max |error| / max |logit| against the float64
// reference over every golden forward case; top-1 agreement is the share
// of forward positions whose argmax matches the reference's; greedy
// agreement is the share of masked slots whose final token matches the
// golden trace's (free-running: one early difference changes everything
// after it). Measured 2026-12-02: logit error 0.0123 (tiny-gqa) and 0.0099
// (tiny-mha-sharded); top-1 99.2% and 100%; greedy 69.8%, 92.0% and 100%
// (tiny-qwen-vocab, mostly too narrow for 32-value blocks).
const (
	q8LogitTol     = 0.02
	q8Top1MinPct   = 95
	q8GreedyMinPct = 60
)

// logitAgreement compares logits with the reference w (rows of V): the
// largest |error| over the largest |reference logit|, and how many of the
// rows' argmaxes agree.
func logitAgreement(got, w []float32, V int) (worst float64, top1, rows int) {
	var scale float64
	for _, v := range w {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	for i := range w {
		worst = math.Max(worst, math.Abs(float64(got[i])-float64(w[i]))/scale)
	}
	for r := range len(w) / V {
		rows++
		if argmax(got[r*V:(r+1)*V]) == argmax(w[r*V:(r+1)*V]) {
			top1++
		}
	}
	return worst, top1, rows
}

// runTrace runs one golden greedy case and returns its trace.
func runTrace(t *testing.T, m *model.Model, c goldentest.Generate) ([][]int, []int) {
	t.Helper()
	var trace [][]int
	res, err := denoise.Run(context.Background(), m, denoise.Request{
		Canvases: [][]int{c.InputIDs},
		Steps:    c.Steps,
		Sampler:  sampler.Options{Alg: sampler.Alg(c.Alg), Temperature: c.Temperature, Eps: c.Eps},
		OnStep:   func(_ int, cv [][]int) { trace = append(trace, slices.Clone(cv[0])) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return trace, res.Canvases[0]
}

func loadMode(t *testing.T, dir string, mode model.WeightMode) *model.Model {
	t.Helper()
	cfg, ck, err := model.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ck.Close() }) // stored weights use the mapping in place
	m, err := model.LoadWith(cfg, model.CheckpointSource(ck), cpu.New(2), model.LoadOptions{Weights: mode})
	if err != nil {
		t.Fatalf("LoadWith(%s, %s): %v", dir, mode, err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// TestWeightModesGolden loads every golden model in every weight mode.
// The golden checkpoints are stored in bf16, so auto and bf16 keep them
// as stored and must give the float32 path's logits bit for bit and the
// golden greedy traces exactly; q8_0 must stay within the tolerances above.
func TestWeightModesGolden(t *testing.T) {
	root := sharedpath.Path(t, "golden", "models")
	for _, name := range []string{"tiny-gqa", "tiny-mha-sharded", "tiny-qwen-vocab"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(root, name)
			forward := readForward(t, dir)
			gen := goldentest.ReadTraces(t, dir, 0)
			var want map[string][]float32
			if len(forward) > 0 {
				want = readF32Safetensors(t, filepath.Join(dir, "golden_logits.safetensors"))
			}
			ref := loadMode(t, dir, model.WeightsF32)
			for _, mode := range model.WeightModes {
				m := loadMode(t, dir, mode)
				var worst float64
				top1, rows := 0, 0
				for _, c := range forward {
					in := []model.Input{{IDs: c.InputIDs, Want: allPositions(len(c.InputIDs))}}
					got, err := m.Forward(in)
					if err != nil {
						t.Fatal(err)
					}
					f32, err := ref.Forward(in)
					if err != nil {
						t.Fatal(err)
					}
					w := want[c.LogitsTensor]
					for i := range w {
						if mode != model.WeightsQ8_0 && math.Float32bits(got[0][i]) != math.Float32bits(f32[0][i]) {
							t.Fatalf("%s %s: logit %d = %g, float32 path %g: want identical", mode, c.Name, i, got[0][i], f32[0][i])
						}
					}
					e, agree, n := logitAgreement(got[0], w, m.Config().VocabSize)
					worst, top1, rows = math.Max(worst, e), top1+agree, rows+n
				}
				if len(forward) > 0 {
					pct := 100 * float64(top1) / float64(rows)
					t.Logf("%s: max logit error %.3g of the logit range, top-1 agreement %d/%d (%.1f%%)", mode, worst, top1, rows, pct)
					if mode == model.WeightsQ8_0 && (worst > q8LogitTol || pct < q8Top1MinPct) {
						t.Errorf("q8_0: logit error %.3g (tolerance %g), top-1 %.1f%% (minimum %d%%)", worst, q8LogitTol, pct, q8Top1MinPct)
					}
				}
				same, slots := 0, 0
				for n, c := range gen {
					trace, out := runTrace(t, m, c)
					if mode != model.WeightsQ8_0 {
						for i := range min(len(trace), len(c.Trace)) {
							if !slices.Equal(trace[i], c.Trace[i]) {
								t.Fatalf("%s: case %d step %d:\n got %v\nwant %v", mode, n, i, trace[i], c.Trace[i])
							}
						}
					}
					for j, id := range c.InputIDs {
						if id == m.Config().MaskTokenID {
							slots++
							if out[j] == c.OutputIDs[j] {
								same++
							}
						}
					}
				}
				pct := 100 * float64(same) / float64(slots)
				t.Logf("%s: greedy agreement %d/%d masked slots (%.1f%%)", mode, same, slots, pct)
				if mode != model.WeightsQ8_0 && same != slots {
					t.Errorf("%s: greedy outputs differ from the golden ones", mode)
				}
				if mode == model.WeightsQ8_0 && pct < q8GreedyMinPct {
					t.Errorf("q8_0: greedy agreement %.1f%% < %d%%", pct, q8GreedyMinPct)
				}
			}
		})
	}
}

// TestWeightModesFloat32Source converts a float32 source (random weights
// at a Qwen-like scale) to bf16 and q8_0 at load and compares the logits
// with the float32 model's: relative error and argmax agreement.
func TestWeightModesFloat32Source(t *testing.T) {
	cfg := model.BenchConfig()
	cfg.NumLayers, cfg.VocabSize = 2, 1024
	cfg.MaskTokenID, cfg.BOSTokenID, cfg.EOSTokenID, cfg.PadTokenID = 1023, 1021, 1022, 1022
	cfg.EOSTokenIDs = []int{1022}
	src := model.RandomSource(cfg, 3)
	ids := make([]int, 96)
	for i := range ids {
		ids[i] = (i * 37) % 1000
	}
	in := []model.Input{{IDs: ids, Want: allPositions(len(ids))}}
	ref, err := model.Load(cfg, src, cpu.New(2))
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	f32, err := ref.Forward(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		mode     model.WeightMode
		tol      float64 // max |error| / max |logit|
		minAgree float64 // argmax agreement, %
	}{
		// Measured 2026-12-02: bf16 0.0057 and 97.9%, q8_0 0.0189 and
		// 95.8% of 96 rows (random weights: near-ties everywhere).
		{model.WeightsBF16, 0.02, 90},
		{model.WeightsQ8_0, 0.04, 88},
	} {
		m, err := model.LoadWith(cfg, src, cpu.New(2), model.LoadOptions{Weights: tc.mode})
		if err != nil {
			t.Fatal(err)
		}
		if f := cpu.WeightFormat(m.LinearWeight()); string(f) != string(tc.mode) {
			t.Fatalf("%s: q weight kept as %s", tc.mode, f)
		}
		out, err := m.Forward(in)
		m.Close()
		if err != nil {
			t.Fatal(err)
		}
		V := cfg.VocabSize
		var scale, worst float64
		agree := 0
		for r := range len(ids) {
			a, b := f32[0][r*V:(r+1)*V], out[0][r*V:(r+1)*V]
			for i := range a {
				scale = math.Max(scale, math.Abs(float64(a[i])))
				worst = math.Max(worst, math.Abs(float64(a[i]-b[i])))
			}
			if argmax(a) == argmax(b) {
				agree++
			}
		}
		rel, pct := worst/scale, 100*float64(agree)/float64(len(ids))
		t.Logf("%s: max logit error %.3g of the range, argmax agreement %d/%d (%.1f%%)", tc.mode, rel, agree, len(ids), pct)
		if rel > tc.tol || pct < tc.minAgree {
			t.Errorf("%s: error %.3g (tolerance %g), agreement %.1f%% (minimum %g%%)", tc.mode, rel, tc.tol, pct, tc.minAgree)
		}
	}
}

func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}
