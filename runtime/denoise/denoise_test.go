package denoise_test

import (
	"context"
	"errors"
	"fmt"
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

func loadModel(t *testing.T, dir string) *model.Model {
	t.Helper()
	cfg, ck, err := model.LoadDir(dir)
	if err != nil {
		t.Fatalf("LoadDir(%s): %v", dir, err)
	}
	defer ck.Close()
	m, err := model.Load(cfg, model.CheckpointSource(ck), cpu.New(0))
	if err != nil {
		t.Fatalf("Load(%s): %v", dir, err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// TestGoldenTraces replays every greedy trace of the golden models and
// requires the canvas after each step to match.
func TestGoldenTraces(t *testing.T) {
	root := sharedpath.Path(t, "golden", "models")
	for _, name := range []string{"tiny-gqa", "tiny-mha-sharded", "tiny-qwen-vocab"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(root, name)
			cases := goldentest.ReadTraces(t, dir, 1)
			m := loadModel(t, dir)
			for n, c := range cases {
				var trace [][]int
				req := denoise.Request{
					Canvases: [][]int{c.InputIDs},
					Steps:    c.Steps,
					Sampler:  sampler.Options{Alg: sampler.Alg(c.Alg), Temperature: c.Temperature, Eps: c.Eps},
					OnStep: func(step int, canvases [][]int) {
						trace = append(trace, slices.Clone(canvases[0]))
					},
				}
				res, err := denoise.Run(context.Background(), m, req)
				if err != nil {
					t.Fatalf("case %d: %v", n, err)
				}
				desc := fmt.Sprintf("case %d (%s, %d steps, %d tokens)", n, c.Alg, c.Steps, len(c.InputIDs))
				if len(trace) > len(c.Trace) {
					t.Fatalf("%s: ran %d steps, golden has %d", desc, len(trace), len(c.Trace))
				}
				for i, want := range c.Trace {
					got := res.Canvases[0] // after an early exit the canvas stays final
					if i < len(trace) {
						got = trace[i]
					}
					if !slices.Equal(got, want) {
						t.Fatalf("%s: step %d:\n got %v\nwant %v", desc, i, got, want)
					}
				}
				if !slices.Equal(res.Canvases[0], c.OutputIDs) {
					t.Fatalf("%s: output\n got %v\nwant %v", desc, res.Canvases[0], c.OutputIDs)
				}
				mask := m.Config().MaskTokenID
				for j, id := range c.InputIDs {
					conf := res.Confidence[0][j]
					if id != mask && conf != 0 {
						t.Fatalf("%s: pinned slot %d has confidence %g", desc, j, conf)
					}
					if id == mask && res.Canvases[0][j] != mask && !(conf > 0 && conf <= 1) {
						t.Fatalf("%s: committed slot %d has confidence %g", desc, j, conf)
					}
				}
			}
		})
	}
}

// TestBatchRowsIndependent checks that rows of different lengths and mask
// counts denoised together give the same canvases as one at a time.
func TestBatchRowsIndependent(t *testing.T) {
	dir := sharedpath.Path(t, "golden", "models", "tiny-gqa")
	m := loadModel(t, dir)
	const M = 299
	rows := [][]int{
		{5, 6, M, M, M, 9, 10},
		{1, M, 2},
		{7, 8, 9, M, M, M, M, M, M, 11},
		{3, 4}, // nothing to do
	}
	opts := sampler.Options{Alg: sampler.Entropy}
	batch, err := denoise.Run(context.Background(), m, denoise.Request{Canvases: rows, Steps: 4, Sampler: opts})
	if err != nil {
		t.Fatal(err)
	}
	for r, row := range rows {
		one, err := denoise.Run(context.Background(), m, denoise.Request{Canvases: [][]int{row}, Steps: 4, Sampler: opts})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(one.Canvases[0], batch.Canvases[r]) {
			t.Errorf("row %d: batched %v, alone %v", r, batch.Canvases[r], one.Canvases[0])
		}
		if slices.Contains(batch.Canvases[r], M) {
			t.Errorf("row %d still has masks: %v", r, batch.Canvases[r])
		}
	}
	if batch.Steps != 4 {
		t.Errorf("Steps = %d, want 4", batch.Steps)
	}
	if rows[0][2] != M {
		t.Error("Run modified the request's canvases")
	}
}

// TestRowSteps: each canvas runs its own schedule in the batch (the same
// result as alone with that many steps) and leaves it when done; the loop
// runs the largest count. Bad counts are refused.
func TestRowSteps(t *testing.T) {
	dir := sharedpath.Path(t, "golden", "models", "tiny-gqa")
	m := loadModel(t, dir)
	const M = 299
	rows := [][]int{
		{5, 6, M, M, 9},
		{7, 8, 9, M, M, M, M, M, M, 11},
		{1, M, M, M, 2},
	}
	rowSteps := []int{2, 6, 0} // 0: Steps
	opts := sampler.Options{Alg: sampler.MaskGITPlus}
	var perStep [][]int // masks left per canvas after each step
	batch, err := denoise.Run(context.Background(), m, denoise.Request{Canvases: rows, Steps: 3, RowSteps: rowSteps, Sampler: opts,
		OnStep: func(step int, cs [][]int) {
			left := make([]int, len(cs))
			for r, c := range cs {
				for _, id := range c {
					if id == M {
						left[r]++
					}
				}
			}
			perStep = append(perStep, left)
		}})
	if err != nil {
		t.Fatal(err)
	}
	for r, row := range rows {
		n := rowSteps[r]
		if n == 0 {
			n = 3
		}
		one, err := denoise.Run(context.Background(), m, denoise.Request{Canvases: [][]int{row}, Steps: n, Sampler: opts})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(one.Canvases[0], batch.Canvases[r]) {
			t.Errorf("row %d: batched %v, alone with %d steps %v", r, batch.Canvases[r], n, one.Canvases[0])
		}
	}
	if batch.Steps != 6 || len(perStep) != 6 {
		t.Fatalf("Steps = %d with %d step hooks, want 6", batch.Steps, len(perStep))
	}
	if perStep[1][0] != 0 || perStep[2][2] != 0 || perStep[1][1] == 0 {
		t.Errorf("masks left per step %v: canvas 0 must be done after step 2, canvas 2 after step 3", perStep)
	}
	// The dual K/V cache follows rows leaving the batch early.
	cached, err := denoise.Run(context.Background(), m, denoise.Request{Canvases: rows, Steps: 3, RowSteps: rowSteps, Sampler: opts,
		Cache: denoise.CacheOptions{Enabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	for r, c := range cached.Canvases {
		if slices.Contains(c, M) {
			t.Errorf("cached run: row %d still has masks: %v", r, c)
		}
	}
	for _, bad := range [][]int{{1, 2}, {1, -1, 1}} {
		if _, err := denoise.Run(context.Background(), m, denoise.Request{Canvases: rows, Steps: 3, RowSteps: bad, Sampler: opts}); err == nil {
			t.Errorf("RowSteps %v accepted", bad)
		}
	}
}

// TestEarlyExit: with more steps than a row needs, the loop stops once no
// mask is left (confidence_threshold at τ = 0 commits everything at once).
func TestEarlyExit(t *testing.T) {
	dir := sharedpath.Path(t, "golden", "models", "tiny-gqa")
	m := loadModel(t, dir)
	const M = 299
	calls := 0
	res, err := denoise.Run(context.Background(), m, denoise.Request{
		Canvases: [][]int{{5, M, M, M, 6}},
		Steps:    10,
		Sampler:  sampler.Options{Alg: sampler.ConfidenceThreshold, Threshold: 1e-9},
		OnStep:   func(int, [][]int) { calls++ },
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Steps != 1 || calls != 1 {
		t.Fatalf("Steps = %d, OnStep calls = %d; want 1 and 1", res.Steps, calls)
	}
	// No masks at all: zero steps.
	res, err = denoise.Run(context.Background(), m, denoise.Request{Canvases: [][]int{{5, 6}}, Steps: 3, Sampler: sampler.Options{Alg: sampler.MaskGITPlus}})
	if err != nil || res.Steps != 0 {
		t.Fatalf("no masks: Steps = %d, err = %v; want 0, nil", res.Steps, err)
	}
}

// TestConfidenceThresholdBlocksInOrder: with Fast-dLLM blocks of 2 and τ
// near 0, each step fills exactly the next block of the middle, left to
// right, whatever the model's confidences elsewhere; with blocks off
// (BlockSize -1) everything commits in the first step.
func TestConfidenceThresholdBlocksInOrder(t *testing.T) {
	dir := sharedpath.Path(t, "golden", "models", "tiny-gqa")
	m := loadModel(t, dir)
	const M = 299
	canvas := []int{5, M, M, M, M, M, M, M, M, 6}
	var filled []int // masks left after each step
	res, err := denoise.Run(context.Background(), m, denoise.Request{
		Canvases: [][]int{canvas},
		Steps:    8,
		Sampler:  sampler.Options{Alg: sampler.ConfidenceThreshold, Threshold: 1e-9, BlockSize: 2},
		OnStep: func(step int, cs [][]int) {
			left := 0
			for j, id := range cs[0] {
				if id == M {
					left++
					if j <= 2*(step+1) {
						t.Errorf("step %d: position %d of block %d still masked", step, j, (j-1)/2)
					}
				} else if j > 2*(step+1) && j < len(cs[0])-1 {
					t.Errorf("step %d: position %d of a later block committed early", step, j)
				}
			}
			filled = append(filled, left)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Steps != 4 || !slices.Equal(filled, []int{6, 4, 2, 0}) {
		t.Fatalf("Steps = %d, masks left per step %v; want 4 steps leaving [6 4 2 0]", res.Steps, filled)
	}
	res, err = denoise.Run(context.Background(), m, denoise.Request{
		Canvases: [][]int{canvas},
		Steps:    8,
		Sampler:  sampler.Options{Alg: sampler.ConfidenceThreshold, Threshold: 1e-9, BlockSize: -1},
	})
	if err != nil || res.Steps != 1 {
		t.Fatalf("one block: Steps = %d, err = %v; want 1, nil", res.Steps, err)
	}
}

// TestCancelBetweenSteps cancels from the step hook and expects ctx.Err()
// before the next forward pass.
func TestCancelBetweenSteps(t *testing.T) {
	dir := sharedpath.Path(t, "golden", "models", "tiny-gqa")
	m := loadModel(t, dir)
	const M = 299
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	steps := 0
	_, err := denoise.Run(ctx, m, denoise.Request{
		Canvases: [][]int{{5, M, M, M, M, M, M, M, M, 6}},
		Steps:    8,
		Sampler:  sampler.Options{Alg: sampler.MaskGITPlus},
		OnStep: func(step int, _ [][]int) {
			steps++
			if step == 1 {
				cancel()
			}
		},
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if steps != 2 {
		t.Fatalf("ran %d steps after cancelling at step 1, want 2", steps)
	}
}

func TestRejectsBadRequests(t *testing.T) {
	dir := sharedpath.Path(t, "golden", "models", "tiny-gqa")
	m := loadModel(t, dir)
	ok := sampler.Options{Alg: sampler.MaskGITPlus}
	for name, req := range map[string]denoise.Request{
		"zero steps":   {Canvases: [][]int{{1, 299}}, Steps: 0, Sampler: ok},
		"no canvases":  {Steps: 1, Sampler: ok},
		"empty canvas": {Canvases: [][]int{{}}, Steps: 1, Sampler: ok},
		"bad id":       {Canvases: [][]int{{1, 300}}, Steps: 1, Sampler: ok},
		"bad alg":      {Canvases: [][]int{{1, 299}}, Steps: 1, Sampler: sampler.Options{Alg: "nope"}},
	} {
		if _, err := denoise.Run(context.Background(), m, req); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// badModel returns logits of the wrong size.
type badModel struct {
	cfg  model.Config
	rows int // logits rows returned per canvas
}

func (b badModel) Config() model.Config { return b.cfg }
func (b badModel) Forward(in []model.Input) ([][]float32, error) {
	out := make([][]float32, len(in))
	for i := range out {
		out[i] = make([]float32, b.rows*b.cfg.VocabSize)
	}
	return out, nil
}

func TestRejectsBadModelOutput(t *testing.T) {
	cfg := model.Config{VocabSize: 10, MaskTokenID: 9}
	for _, rows := range []int{0, 1, 5} {
		_, err := denoise.Run(context.Background(), badModel{cfg, rows}, denoise.Request{
			Canvases: [][]int{{1, 9, 9, 2}}, Steps: 2, Sampler: sampler.Options{Alg: sampler.MaskGITPlus},
		})
		if err == nil {
			t.Errorf("%d logits rows for 2 masks: no error", rows)
		}
	}
}
