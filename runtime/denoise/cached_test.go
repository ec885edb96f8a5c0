package denoise_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/dream-lsp/dream-lsp/internal/goldentest"
	"github.com/dream-lsp/dream-lsp/internal/sharedpath"
	"github.com/dream-lsp/dream-lsp/runtime/denoise"
	"github.com/dream-lsp/dream-lsp/runtime/kvcache"
	"github.com/dream-lsp/dream-lsp/runtime/model"
	"github.com/dream-lsp/dream-lsp/runtime/sampler"
)

// countingModel counts the cached model's full and block passes and
// records every block pass's blocks.
type countingModel struct {
	*model.Model
	prefills, blocks int
	calls            [][]model.Block
}

func (c *countingModel) Prefill(k *kvcache.Cache, in []model.Input) ([][]float32, error) {
	c.prefills++
	return c.Model.Prefill(k, in)
}

func (c *countingModel) ForwardBlocks(k *kvcache.Cache, b []model.Block) ([][]float32, error) {
	c.blocks++
	rec := make([]model.Block, len(b))
	for i, x := range b {
		rec[i] = model.Block{Seq: x.Seq, Start: x.Start, IDs: slices.Clone(x.IDs), Want: slices.Clone(x.Want)}
	}
	c.calls = append(c.calls, rec)
	return c.Model.ForwardBlocks(k, b)
}

// finishedAgreement checks that res, a run of case n over input for steps
// steps, kept every pinned slot and, when it ran every step, left no
// mask; it returns how many masked slots agree with ref, out of how many.
func finishedAgreement(t *testing.T, n int, input []int, res *denoise.Result, steps, mask int, ref []int) (agree, total int) {
	t.Helper()
	for j, id := range input {
		got := res.Canvases[0][j]
		if id != mask {
			if got != id {
				t.Fatalf("case %d: pinned slot %d changed", n, j)
			}
			continue
		}
		if got == mask && res.Steps == steps {
			t.Fatalf("case %d: slot %d still masked after all steps", n, j)
		}
		total++
		if got == ref[j] {
			agree++
		}
	}
	return agree, total
}

// TestCachedRefreshEveryStepMatchesGolden: with a refresh on every step
// the cached mode must replay every golden greedy trace exactly. With the
// default policy it must still finish every canvas, never touch pinned
// slots, and skip full passes; its agreement with the golden output is
// logged (the golden models are random, so it is not asserted).
func TestCachedRefreshEveryStepMatchesGolden(t *testing.T) {
	root := sharedpath.Path(t, "golden", "models")
	for _, name := range []string{"tiny-gqa", "tiny-mha-sharded", "tiny-qwen-vocab"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(root, name)
			cases := goldentest.ReadTraces(t, dir, 0)
			if len(cases) == 0 {
				t.Fatal("no generate cases")
			}
			cm := &countingModel{Model: loadModel(t, dir)}
			mask := cm.Config().MaskTokenID
			agree, total := 0, 0
			for n, c := range cases {
				var trace [][]int
				req := denoise.Request{
					Canvases: [][]int{c.InputIDs},
					Steps:    c.Steps,
					Sampler:  sampler.Options{Alg: sampler.Alg(c.Alg), Temperature: c.Temperature, Eps: c.Eps},
					OnStep:   func(_ int, cv [][]int) { trace = append(trace, slices.Clone(cv[0])) },
					Cache:    denoise.CacheOptions{Enabled: true, Policy: kvcache.Policy{Refresh: 1}},
				}
				res, err := denoise.Run(context.Background(), cm, req)
				if err != nil {
					t.Fatalf("case %d: %v", n, err)
				}
				if cm.blocks != 0 {
					t.Fatalf("case %d: refresh every step ran %d block passes", n, cm.blocks)
				}
				for i, want := range c.Trace {
					got := res.Canvases[0]
					if i < len(trace) {
						got = trace[i]
					}
					if !slices.Equal(got, want) {
						t.Fatalf("case %d: step %d:\n got %v\nwant %v", n, i, got, want)
					}
				}
				if !slices.Equal(res.Canvases[0], c.OutputIDs) {
					t.Fatalf("case %d: output differs from golden", n)
				}

				req.Cache.Policy = kvcache.Policy{}
				req.OnStep = nil
				cm.prefills, cm.blocks = 0, 0
				res, err = denoise.Run(context.Background(), cm, req)
				if err != nil {
					t.Fatalf("case %d default policy: %v", n, err)
				}
				if c.Steps > kvcache.DefaultRefresh && cm.blocks == 0 {
					t.Errorf("case %d: default policy over %d steps ran no block pass", n, c.Steps)
				}
				a, tot := finishedAgreement(t, n, c.InputIDs, res, c.Steps, mask, c.OutputIDs)
				agree, total = agree+a, total+tot
				cm.prefills, cm.blocks = 0, 0
			}
			t.Logf("%s: default policy agrees with the uncached golden output on %d/%d tokens", name, agree, total)
		})
	}
}

// TestCachedPolicySchedulesPasses checks which steps are full passes.
func TestCachedPolicySchedulesPasses(t *testing.T) {
	cm := &countingModel{Model: loadModel(t, sharedpath.Path(t, "golden", "models", "tiny-gqa"))}
	const M = 299
	row := []int{5, 6, M, M, M, M, M, M, M, M, 9, 10}
	for _, tc := range []struct {
		policy           kvcache.Policy
		prefills, blocks int
	}{
		{kvcache.Policy{Refresh: 4}, 2, 6},
		{kvcache.Policy{Refresh: -1}, 1, 7},
		{kvcache.Policy{Refresh: 1}, 8, 0},
		{kvcache.Policy{Refresh: -1, RefreshOnCommit: 0.5}, 3, 5}, // one commit per step: refresh at 0, 4 (4 of 8 done), 6 (2 of 4)
	} {
		cm.prefills, cm.blocks = 0, 0
		res, err := denoise.Run(context.Background(), cm, denoise.Request{
			Canvases: [][]int{row}, Steps: 8, Sampler: sampler.Options{Alg: sampler.MaskGITPlus},
			Cache: denoise.CacheOptions{Enabled: true, Policy: tc.policy},
		})
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(res.Canvases[0], M) {
			t.Errorf("%+v: masks left: %v", tc.policy, res.Canvases[0])
		}
		if cm.prefills != tc.prefills || cm.blocks != tc.blocks {
			t.Errorf("%+v: %d full and %d block passes, want %d and %d", tc.policy, cm.prefills, cm.blocks, tc.prefills, tc.blocks)
		}
	}
}

// TestCachedBatchRowsIndependent: rows batched in cached mode give the
// same canvases as each row alone in cached mode.
func TestCachedBatchRowsIndependent(t *testing.T) {
	m := loadModel(t, sharedpath.Path(t, "golden", "models", "tiny-gqa"))
	const M = 299
	rows := [][]int{
		{5, 6, M, M, M, 9, 10},
		{1, M, 2},
		{7, 8, 9, M, M, M, M, M, M, 11},
		{3, 4},
		{M, M, M, 4, 5, 6},
	}
	req := denoise.Request{Canvases: rows, Steps: 5, Sampler: sampler.Options{Alg: sampler.Entropy},
		Cache: denoise.CacheOptions{Enabled: true, Policy: kvcache.Policy{Refresh: 3}}}
	batch, err := denoise.Run(context.Background(), m, req)
	if err != nil {
		t.Fatal(err)
	}
	for r, row := range rows {
		req.Canvases = [][]int{row}
		one, err := denoise.Run(context.Background(), m, req)
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
}

func TestCachedNeedsCachedModel(t *testing.T) {
	cfg := model.Config{VocabSize: 10, MaskTokenID: 9}
	_, err := denoise.Run(context.Background(), badModel{cfg, 2}, denoise.Request{
		Canvases: [][]int{{1, 9, 9, 2}}, Steps: 2, Sampler: sampler.Options{Alg: sampler.MaskGITPlus},
		Cache: denoise.CacheOptions{Enabled: true},
	})
	if !errors.Is(err, denoise.ErrNoCache) {
		t.Fatalf("err = %v, want ErrNoCache", err)
	}
}

// TestCachedReuseAcrossRuns: with CacheOptions.Reuse, a second request
// whose canvas starts like the first one's skips step 0's full pass.
func TestCachedReuseAcrossRuns(t *testing.T) {
	cm := &countingModel{Model: loadModel(t, sharedpath.Path(t, "golden", "models", "tiny-gqa"))}
	const M = 299
	first := []int{5, 6, 7, 8, 9, 10, 11, 12, M, M, M, M, 20, 21, 22}
	typed := []int{5, 6, 7, 8, 9, 10, 11, 12, 13, M, M, M, M, 20, 21, 22} // one token typed
	other := []int{1, 6, 7, 8, 9, 10, 11, 12, M, M, M, M, 20, 21, 22}     // nothing in common
	cache := cm.NewCache()
	defer cache.Free()
	run := func(c []int) *denoise.Result {
		t.Helper()
		cm.prefills, cm.blocks = 0, 0
		res, err := denoise.Run(context.Background(), cm, denoise.Request{
			Canvases: [][]int{c}, Steps: 4, Sampler: sampler.Options{Alg: sampler.MaskGITPlus},
			Cache: denoise.CacheOptions{Enabled: true, Policy: kvcache.Policy{Refresh: -1}, Reuse: cache},
		})
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(res.Canvases[0], M) {
			t.Fatalf("masks left: %v", res.Canvases[0])
		}
		for j, id := range c {
			if id != M && res.Canvases[0][j] != id {
				t.Fatalf("pinned slot %d changed", j)
			}
		}
		return res
	}
	run(first)
	if cm.prefills != 1 || cm.blocks != 3 {
		t.Fatalf("first run: %d full, %d block passes; want 1 and 3", cm.prefills, cm.blocks)
	}
	run(typed)
	if cm.prefills != 0 || cm.blocks != 4 {
		t.Errorf("typed-ahead run: %d full, %d block passes; want 0 and 4 (step 0 reuses the prefix)", cm.prefills, cm.blocks)
	}
	if got := cache.Tokens()[:9]; !slices.Equal(got, typed[:9]) {
		t.Errorf("cache tokens %v after the run, want the canvas's prefix", got)
	}
	run(other)
	if cm.prefills != 1 {
		t.Errorf("unrelated canvas: %d full passes, want 1", cm.prefills)
	}
}
