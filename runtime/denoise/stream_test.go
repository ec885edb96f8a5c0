package denoise_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/dream-lsp/dream-lsp/internal/sharedpath"
	"github.com/dream-lsp/dream-lsp/runtime/backend/cpu"
	"github.com/dream-lsp/dream-lsp/runtime/builtin"
	"github.com/dream-lsp/dream-lsp/runtime/denoise"
	"github.com/dream-lsp/dream-lsp/runtime/kvcache"
	"github.com/dream-lsp/dream-lsp/runtime/model"
	"github.com/dream-lsp/dream-lsp/runtime/sampler"
	"github.com/dream-lsp/dream-lsp/runtime/tokenizer"
)

// streamRequests are requests of different shapes, schedules and
// samplers for a model whose mask id is M, each with the given cache
// options: they join a stream one step apart and must each get exactly
// what Run gives them alone.
func streamRequests(M int, cache denoise.CacheOptions) []denoise.Request {
	reqs := []denoise.Request{
		{Canvases: [][]int{{5, 6, M, M, M, 9, 10}, {5, 6, M, 9, 10}, {5, 6, M, M, M, M, M, 9, 10}}, Steps: 5, RowSteps: []int{3, 1, 5},
			Sampler: sampler.Options{Alg: sampler.Entropy}},
		{Canvases: [][]int{{1, M, 2}}, Steps: 1, Sampler: sampler.Options{Alg: sampler.Origin}},
		{Canvases: [][]int{{7, 8, 9, M, M, M, M, M, M, 11}, {3, M, M, 4}}, Steps: 6,
			Sampler: sampler.Options{Alg: sampler.Origin, Temperature: 0.8, TopP: 0.95, Seed: 7}},
		{Canvases: [][]int{{M, M, M, 4, 5, 6, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}}, Steps: 3,
			Sampler: sampler.Options{Alg: sampler.TopKMargin, Temperature: 0.5, AlgTemp: 0.3, Seed: 3}},
		{Canvases: [][]int{{2, 3, M, M, M, M, M, M, M, M, 4}}, Steps: 8,
			Sampler: sampler.Options{Alg: sampler.ConfidenceThreshold, BlockSize: 3}},
		{Canvases: [][]int{{4, 4, M, M, 4, 4}, {9, M, M, M, M, 9}}, Steps: 4, Sampler: sampler.Options{Alg: sampler.MaskGITPlus}},
	}
	for i := range reqs {
		reqs[i].Cache = cache
	}
	return reqs
}

// runStream adds reqs[i] before step i (one request joins per step
// boundary, as requests arrive while others run) and steps until all
// are done.
func runStream(t *testing.T, m denoise.Model, cached bool, reqs []denoise.Request, ctxs []context.Context) []*denoise.Job {
	t.Helper()
	s, err := denoise.NewStream(m, cached)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	jobs := make([]*denoise.Job, len(reqs))
	most := 0 // most jobs in one forward pass
	defer func() {
		if len(reqs) > 1 && most < 2 {
			t.Errorf("at most %d job in a forward pass: the stream never batched", most)
		}
	}()
	for step := 0; step < 1000; step++ {
		if step < len(reqs) {
			ctx := context.Background()
			if ctxs != nil && ctxs[step] != nil {
				ctx = ctxs[step]
			}
			if jobs[step], err = s.Add(ctx, reqs[step]); err != nil {
				t.Fatalf("add %d: %v", step, err)
			}
		}
		_, st, err := s.Step()
		if err != nil {
			t.Fatal(err)
		}
		most = max(most, st.Jobs)
		if step >= len(reqs) && len(s.Active()) == 0 {
			return jobs
		}
	}
	t.Fatal("the stream did not finish")
	return nil
}

// sameResult compares two results exactly: tokens, confidences (bits)
// and steps.
func sameResult(got, want *denoise.Result) error {
	if got.Steps != want.Steps {
		return fmt.Errorf("steps %d, alone %d", got.Steps, want.Steps)
	}
	for r := range want.Canvases {
		if !slices.Equal(got.Canvases[r], want.Canvases[r]) {
			return fmt.Errorf("canvas %d: %v, alone %v", r, got.Canvases[r], want.Canvases[r])
		}
		for p := range want.Confidence[r] {
			if math.Float32bits(got.Confidence[r][p]) != math.Float32bits(want.Confidence[r][p]) {
				return fmt.Errorf("canvas %d slot %d: confidence %v, alone %v", r, p, got.Confidence[r][p], want.Confidence[r][p])
			}
		}
	}
	return nil
}

// matchAlone checks that job i's result is exactly what Run gives req
// alone, and returns it (nil when the job failed).
func matchAlone(t *testing.T, m denoise.Model, i int, req denoise.Request, job *denoise.Job) *denoise.Result {
	t.Helper()
	want, err := denoise.Run(context.Background(), m, req)
	if err != nil {
		t.Fatal(err)
	}
	got, err := job.Result()
	if err != nil {
		t.Fatalf("request %d: %v", i, err)
	}
	if err := sameResult(got, want); err != nil {
		t.Errorf("request %d: %v", i, err)
	}
	return got
}

// TestStreamEqualsAlone: requests that join a running stream one step
// apart, each with its own steps, sampler, seed and refresh policy, get
// bit for bit what Run gives each alone, cached (several policies) and
// uncached.
func TestStreamEqualsAlone(t *testing.T) {
	m := loadModel(t, sharedpath.Path(t, "golden", "models", "tiny-gqa"))
	const M = 299
	for _, c := range []struct {
		name  string
		cache denoise.CacheOptions
	}{
		{"uncached", denoise.CacheOptions{}},
		{"cached-default", denoise.CacheOptions{Enabled: true}},
		{"cached-refresh-2", denoise.CacheOptions{Enabled: true, Policy: kvcache.Policy{Refresh: 2}}},
		{"cached-on-commit", denoise.CacheOptions{Enabled: true, Policy: kvcache.Policy{Refresh: -1, RefreshOnCommit: 0.5}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			reqs := streamRequests(M, c.cache)
			// Different policies in one stream: each job keeps its own.
			if c.cache.Enabled {
				reqs[3].Cache.Policy = kvcache.Policy{Refresh: 1}
			}
			jobs := runStream(t, m, c.cache.Enabled, reqs, nil)
			for i, req := range reqs {
				got := matchAlone(t, m, i, req, jobs[i])
				for r, cv := range got.Canvases {
					if slices.Contains(cv, M) {
						t.Errorf("request %d canvas %d still has masks: %v", i, r, cv)
					}
				}
			}
		})
	}
}

// TestStreamBuiltinEqualsAlone: the same on the built-in model with
// canvases of editor size (a 200-token prefix, masks, a suffix), eight
// requests joining a step apart, greedy (the api's sampler) and seeded.
func TestStreamBuiltinEqualsAlone(t *testing.T) {
	cfg, ck, err := model.LoadFS(builtin.FS())
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	m, err := model.LoadWith(cfg, model.CheckpointSource(ck), cpu.New(0), model.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	M := cfg.MaskTokenID
	// Canvases of Go code around a blank line (where end-of-text padding
	// is what the model writes), cut at different points.
	tok, err := tokenizer.LoadFS(builtin.FS())
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("../../testdata/latency/lru.go")
	if err != nil {
		t.Fatal(err)
	}
	hole := strings.Index(string(src), "\n\n\t\tdelete(") + 1
	before, after := tok.Encode(string(src[:hole])), tok.Encode(string(src[hole:]))
	canvas := func(seed, pre, masks, suf int) []int {
		c := slices.Clone(before[len(before)-pre+seed:])
		for range masks {
			c = append(c, M)
		}
		return append(c, after[:suf]...)
	}
	var reqs []denoise.Request
	for i := range 8 {
		smp := sampler.Options{Alg: sampler.Entropy}
		if i%3 == 2 {
			smp = sampler.Options{Alg: sampler.Origin, Temperature: 0.7, Seed: uint64(i)}
		}
		smp.EOSTokenID = cfg.EOSTokenID
		pre := 100 + 12*i
		reqs = append(reqs, denoise.Request{
			Canvases: [][]int{canvas(i, pre, 4, 40), canvas(i, pre, 8, 40), canvas(i, pre, 24, 40)},
			Steps:    24, RowSteps: []int{4, 8, 24}, Sampler: smp, Cache: denoise.CacheOptions{Enabled: true},
			// End-of-text padding (infill's default) on some, eosTail on one.
			EOSRuns: i%2 == 1, EOSTail: i == 4})
	}
	jobs := runStream(t, m, true, reqs, nil)
	shorter := 0 // EOSRuns requests that ended before Dream's schedule would
	for i, req := range reqs {
		got := matchAlone(t, m, i, req, jobs[i])
		if req.EOSRuns {
			plain := req
			plain.EOSRuns = false
			ref, err := denoise.Run(context.Background(), m, plain)
			if err != nil {
				t.Fatal(err)
			}
			if got.Steps < ref.Steps {
				shorter++
			}
		}
	}
	if shorter == 0 {
		t.Error("no EOSRuns request ended early: the end-of-text runs were not exercised")
	}
}

// TestStreamCancel: a cancelled job leaves at the next step boundary with
// the context's error; the others finish exactly as alone.
func TestStreamCancel(t *testing.T) {
	m := loadModel(t, sharedpath.Path(t, "golden", "models", "tiny-gqa"))
	const M = 299
	reqs := streamRequests(M, denoise.CacheOptions{Enabled: true})
	ctx, cancel := context.WithCancel(context.Background())
	steps := 0
	reqs[2].OnStep = func(int, [][]int) {
		if steps++; steps == 2 {
			cancel()
		}
	}
	ctxs := make([]context.Context, len(reqs))
	ctxs[2] = ctx
	jobs := runStream(t, m, true, reqs, ctxs)
	if _, err := jobs[2].Result(); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled job: %v", err)
	}
	if steps != 2 {
		t.Errorf("cancelled job ran %d steps, want 2", steps)
	}
	for i, req := range reqs {
		if i == 2 {
			continue
		}
		req.OnStep = nil
		matchAlone(t, m, i, req, jobs[i])
	}
}

// TestStreamRejects: requests the stream cannot take get an error and
// leave it unchanged.
func TestStreamRejects(t *testing.T) {
	m := loadModel(t, sharedpath.Path(t, "golden", "models", "tiny-gqa"))
	s, err := denoise.NewStream(m, true)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const M = 299
	ok := [][]int{{1, M, 2}}
	for _, c := range []struct {
		name string
		req  denoise.Request
	}{
		{"uncached request", denoise.Request{Canvases: ok, Steps: 1}},
		{"reuse", denoise.Request{Canvases: ok, Steps: 1, Cache: denoise.CacheOptions{Enabled: true, Reuse: m.NewCache()}}},
		{"per-block cache", denoise.Request{Canvases: ok, Steps: 1, Cache: denoise.CacheOptions{Enabled: true, Policy: kvcache.Policy{Blocks: true}}}},
		{"dreamon", denoise.Request{Canvases: ok, Steps: 1, Cache: denoise.CacheOptions{Enabled: true}, DreamOn: &denoise.DreamOnOptions{}}},
		{"no steps", denoise.Request{Canvases: ok, Cache: denoise.CacheOptions{Enabled: true}}},
		{"empty canvas", denoise.Request{Canvases: [][]int{{}}, Steps: 1, Cache: denoise.CacheOptions{Enabled: true}}},
		{"bad token", denoise.Request{Canvases: [][]int{{1, -3, M}}, Steps: 1, Cache: denoise.CacheOptions{Enabled: true}}},
		{"too long", denoise.Request{Canvases: [][]int{make([]int, 5000)}, Steps: 1, Cache: denoise.CacheOptions{Enabled: true}}},
		{"row steps", denoise.Request{Canvases: ok, Steps: 1, RowSteps: []int{1, 2}, Cache: denoise.CacheOptions{Enabled: true}}},
	} {
		if _, err := s.Add(context.Background(), c.req); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
	if n := len(s.Active()); n != 0 {
		t.Errorf("%d jobs after rejected adds", n)
	}
}

// rowCounter counts the canvas rows a model computes.
type rowCounter struct {
	*model.Model
	rows, passes int
}

func (c *rowCounter) Forward(in []model.Input) ([][]float32, error) {
	for _, x := range in {
		c.rows += len(x.IDs)
	}
	c.passes++
	return c.Model.Forward(in)
}

func (c *rowCounter) Prefill(k *kvcache.Cache, in []model.Input) ([][]float32, error) {
	for _, x := range in {
		c.rows += len(x.IDs)
	}
	c.passes++
	return c.Model.Prefill(k, in)
}

func (c *rowCounter) ForwardBlocks(k *kvcache.Cache, b []model.Block) ([][]float32, error) {
	for _, x := range b {
		c.rows += len(x.IDs)
	}
	c.passes++
	return c.Model.ForwardBlocks(k, b)
}

// TestStreamSameWork: the stream computes exactly the rows the requests
// compute alone (batching saves passes, never adds rows), in fewer
// passes.
func TestStreamSameWork(t *testing.T) {
	m := loadModel(t, sharedpath.Path(t, "golden", "models", "tiny-gqa"))
	for _, cache := range []denoise.CacheOptions{{}, {Enabled: true}} {
		reqs := streamRequests(299, cache)
		alone := &rowCounter{Model: m}
		for i := range reqs {
			if _, err := denoise.Run(context.Background(), alone, reqs[i]); err != nil {
				t.Fatal(err)
			}
		}
		batched := &rowCounter{Model: m}
		runStream(t, batched, cache.Enabled, reqs, nil)
		if batched.rows != alone.rows || batched.passes >= alone.passes {
			t.Errorf("cache %v: stream %d rows in %d passes, alone %d rows in %d passes", cache.Enabled, batched.rows, batched.passes, alone.rows, alone.passes)
		}
	}
}
