package denoise_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/dream-lsp/dream-lsp/internal/dreamontest"
	"github.com/dream-lsp/dream-lsp/runtime/backend/cpu"
	"github.com/dream-lsp/dream-lsp/runtime/denoise"
	"github.com/dream-lsp/dream-lsp/runtime/kvcache"
	"github.com/dream-lsp/dream-lsp/runtime/model"
	"github.com/dream-lsp/dream-lsp/runtime/sampler"
)

// tinyDreamOn is the tiny DreamOn-shaped model written by
// bench/gpu/dreamon_ref.py (vocabulary up to the expand id 151667).
const tinyDreamOn = "testdata/tiny-dreamon"

// dreamonCase is a golden reference run.
type dreamonCase = dreamontest.Case

// loadTiny loads the tiny DreamOn model on the CPU backend.
func loadTiny(tb testing.TB) *model.Model {
	tb.Helper()
	cfg, ck, err := model.LoadDir(tinyDreamOn)
	if err != nil {
		tb.Fatal(err)
	}
	defer ck.Close()
	m, err := model.Load(cfg, model.CheckpointSource(ck), cpu.New(0))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { m.Close() })
	return m
}

// dreamonRequest is the Request for a golden case (greedy).
func dreamonRequest(c dreamonCase) denoise.Request {
	o := &denoise.DreamOnOptions{
		ExpandTokenID:    151667,
		DeleteTokenID:    151643,
		MaxNewTokens:     c.Options.MaxNewTokens,
		PadDeleteToRight: c.Options.PadDeleteToRight,
	}
	if b := c.Options.ExpandBudget; b != nil {
		o.ExpandBudget = *b
		if *b == 0 {
			o.ExpandBudget = -1
		}
	}
	if n := c.Options.MaxIters; n != nil {
		o.MaxIters = *n
	}
	opts := sampler.Options{Alg: sampler.Alg(c.Options.Alg)}
	if c.Options.TopP != nil {
		opts.TopP = *c.Options.TopP
	}
	return denoise.Request{Canvases: [][]int{c.InputIDs}, Sampler: opts, DreamOn: o}
}

// TestDreamOnGolden replays every greedy DreamOn trace of the reference
// (bench/gpu/dreamon_ref.py) and requires the canvas after each step, the
// final canvas and the middle to match exactly.
func TestDreamOnGolden(t *testing.T) {
	cases := dreamontest.Golden(t)
	m := loadTiny(t)
	var expands, deletes, capped int
	for n, c := range cases {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			req := dreamonRequest(c)
			var trace [][]int
			req.OnStep = func(_ int, cv [][]int) { trace = append(trace, slices.Clone(cv[0])) }
			res, err := denoise.Run(context.Background(), m, req)
			if err != nil {
				t.Fatal(err)
			}
			d := res.DreamOn
			for i := range min(len(trace), len(c.Trace)) {
				if !slices.Equal(trace[i], c.Trace[i].Canvas) {
					t.Fatalf("step %d: canvas\n got %v\nwant %v", i, trace[i], c.Trace[i].Canvas)
				}
				if d.Trace[i].Window != c.Trace[i].Window || d.Trace[i].Blocked != c.Trace[i].Blocked {
					t.Errorf("step %d: window %d blocked %v, want %d %v", i, d.Trace[i].Window, d.Trace[i].Blocked, c.Trace[i].Window, c.Trace[i].Blocked)
				}
			}
			if len(trace) != c.Iterations || res.Steps != c.Iterations {
				t.Errorf("steps %d (trace %d), want %d", res.Steps, len(trace), c.Iterations)
			}
			if !slices.Equal(res.Canvases[0], c.Output) {
				t.Errorf("output\n got %v\nwant %v", res.Canvases[0], c.Output)
			}
			mid := res.Canvases[0][d.MiddleStart : d.MiddleStart+d.MiddleLen]
			if d.MiddleStart != c.MiddleStart || !slices.Equal(mid, c.Middle) {
				t.Errorf("middle at %d %v, want at %d %v", d.MiddleStart, mid, c.MiddleStart, c.Middle)
			}
			if d.MaxLength != c.MaxLength || d.Expansions != c.Events.Expand || d.Deletions != c.Events.Delete {
				t.Errorf("max length %d, %d expansions, %d deletions; want %d, %d, %d", d.MaxLength, d.Expansions, d.Deletions, c.MaxLength, c.Events.Expand, c.Events.Delete)
			}
		})
		if c.Events.Expand > 0 {
			expands++
		}
		if c.Events.Delete > 0 {
			deletes++
		}
		if c.Events.Cap {
			capped++
		}
	}
	// The golden set must exercise what it claims to.
	if expands < 3 || deletes < 3 || capped < 3 || capped == len(cases) {
		t.Errorf("golden set too narrow: %d cases expand, %d delete, %d hit the cap of %d", expands, deletes, capped, len(cases))
	}
}

// dreamonPolicies are the cache policies measured on the golden cases.
var dreamonPolicies = []struct {
	name  string
	cache denoise.CacheOptions
}{
	{"off", denoise.CacheOptions{}},
	{"refresh=1", denoise.CacheOptions{Enabled: true, Policy: kvcache.Policy{Refresh: 1}}},
	{"refresh=4", denoise.CacheOptions{Enabled: true}},
	{"refresh=never", denoise.CacheOptions{Enabled: true, Policy: kvcache.Policy{Refresh: -1}}},
}

// runPolicy runs every golden case under one cache policy and returns how
// many middles equal the reference's and the forward passes by kind.
func runPolicy(tb testing.TB, m denoise.Model, cases []dreamonCase, cache denoise.CacheOptions) (match int, counts denoise.CacheCounts, differ []int) {
	for n, c := range cases {
		req := dreamonRequest(c)
		req.Cache = cache
		res, err := denoise.Run(context.Background(), m, req)
		if err != nil {
			tb.Fatalf("case %d: %v", n, err)
		}
		d := res.DreamOn
		if slices.Equal(res.Canvases[0][d.MiddleStart:d.MiddleStart+d.MiddleLen], c.Middle) {
			match++
		} else {
			differ = append(differ, n)
		}
		counts.Full += d.Cache.Full
		counts.Partial += d.Cache.Partial
		counts.Block += d.Cache.Block
	}
	return match, counts, differ
}

// TestDreamOnCacheRefreshEveryStep: with the dual K/V cache refreshed on
// every step (full passes) every golden middle must equal the reference.
func TestDreamOnCacheRefreshEveryStep(t *testing.T) {
	cases := dreamontest.Golden(t)
	m := loadTiny(t)
	match, counts, differ := runPolicy(t, m, cases, dreamonPolicies[1].cache)
	if match != len(cases) || counts.Partial+counts.Block != 0 {
		t.Errorf("%d/%d middles match (differ: %v); passes %+v", match, len(cases), differ, counts)
	}
}

// TestDreamOnCacheEditPolicy runs the never-refresh policy over the golden
// cases: every run must succeed with one full pass, partial passes after
// length changes and block passes between them.
func TestDreamOnCacheEditPolicy(t *testing.T) {
	cases := dreamontest.Golden(t)
	m := loadTiny(t)
	_, counts, _ := runPolicy(t, m, cases, dreamonPolicies[3].cache)
	if counts.Full != len(cases) || counts.Partial == 0 || counts.Block == 0 {
		t.Errorf("never-refresh passes %+v: want one full pass per case and both partial and block passes", counts)
	}
}

// BenchmarkDreamOnCache measures each cache policy over the golden cases:
// wall time, forward passes by kind, and how many middles still equal the
// uncached reference (go test ./runtime/denoise -run X -bench DreamOnCache).
func BenchmarkDreamOnCache(b *testing.B) {
	cases := dreamontest.Golden(b)
	m := loadTiny(b)
	for _, p := range dreamonPolicies {
		b.Run(p.name, func(b *testing.B) {
			var match int
			var counts denoise.CacheCounts
			for range b.N {
				match, counts, _ = runPolicy(b, m, cases, p.cache)
			}
			b.ReportMetric(float64(match), "match/24")
			b.ReportMetric(float64(counts.Full), "full")
			b.ReportMetric(float64(counts.Partial), "partial")
			b.ReportMetric(float64(counts.Block), "block")
		})
	}
}

// TestDreamOnErrors checks that bad requests get clear errors.
func TestDreamOnErrors(t *testing.T) {
	m := loadTiny(t)
	const mask = 151666
	ok := &denoise.DreamOnOptions{ExpandTokenID: 151667, DeleteTokenID: 151643, MaxNewTokens: 4}
	for name, req := range map[string]denoise.Request{
		"no mask":       {Canvases: [][]int{{1, 2, 3}}, DreamOn: ok},
		"two canvases":  {Canvases: [][]int{{1, mask}, {1, mask}}, DreamOn: ok},
		"cap below":     {Canvases: [][]int{{1, mask, mask, mask, mask, mask}}, DreamOn: ok},
		"origin":        {Canvases: [][]int{{1, mask}}, DreamOn: ok, Sampler: sampler.Options{Alg: sampler.Origin}},
		"bad expand id": {Canvases: [][]int{{1, mask}}, DreamOn: &denoise.DreamOnOptions{ExpandTokenID: mask, DeleteTokenID: 151643, MaxNewTokens: 4}},
		"id range":      {Canvases: [][]int{{1, mask, 1 << 30}}, DreamOn: ok},
	} {
		if req.Sampler.Alg == "" {
			req.Sampler.Alg = sampler.Entropy
		}
		if _, err := denoise.Run(context.Background(), m, req); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := denoise.Run(ctx, m, denoise.Request{Canvases: [][]int{{1, mask}}, DreamOn: ok, Sampler: sampler.Options{Alg: sampler.Entropy}})
	if err == nil {
		t.Error("cancelled context: no error")
	}
}

// TestDreamOnSampled runs golden cases at DreamOn's recommended sampling
// (temperature 0.2, top-p 0.9): a seed gives the same run twice, and the
// canvas never exceeds its cap nor keeps a delete or expand token in the
// middle.
func TestDreamOnSampled(t *testing.T) {
	cases := dreamontest.Golden(t)
	m := loadTiny(t)
	for n, c := range cases[:8] {
		req := dreamonRequest(c)
		req.Sampler = sampler.Options{Alg: sampler.Entropy, Temperature: 0.2, TopP: 0.9, Seed: uint64(n)}
		a, err := denoise.Run(context.Background(), m, req)
		if err != nil {
			t.Fatal(err)
		}
		b, err := denoise.Run(context.Background(), m, req)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(a.Canvases[0], b.Canvases[0]) {
			t.Errorf("case %d: two runs with seed %d differ", n, n)
		}
		d := a.DreamOn
		if len(a.Canvases[0]) > d.MaxLength || d.MaxLength != c.MaxLength {
			t.Errorf("case %d: canvas %d tokens, cap %d (want cap %d)", n, len(a.Canvases[0]), d.MaxLength, c.MaxLength)
		}
		for _, id := range a.Canvases[0][d.MiddleStart : d.MiddleStart+d.MiddleLen] {
			if id == 151643 || id == 151667 {
				t.Errorf("case %d: middle keeps token %d", n, id)
			}
		}
	}
}
