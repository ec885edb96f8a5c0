package engine_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dream-lsp/dream-lsp/runtime/builtin"
	"github.com/dream-lsp/dream-lsp/runtime/denoise"
	"github.com/dream-lsp/dream-lsp/runtime/engine"
	"github.com/dream-lsp/dream-lsp/runtime/sampler"
)

// batchRequests are editor-sized requests for the built-in model: three
// canvases each (lengths 4, 8, 12 as the language server sends), prefixes
// of different lengths, greedy and seeded samplers.
func batchRequests(e *engine.Engine, n int) []denoise.Request {
	M := e.Config().MaskTokenID
	canvas := func(seed, pre, masks int) []int {
		var c []int
		for i := range pre {
			c = append(c, (seed*31+i*7)%1000+10)
		}
		for range masks {
			c = append(c, M)
		}
		for i := range 30 {
			c = append(c, (seed*17+i*5)%1000+10)
		}
		return c
	}
	var reqs []denoise.Request
	for i := range n {
		smp := sampler.Options{Alg: sampler.Entropy}
		if i%3 == 1 {
			smp = sampler.Options{Alg: sampler.Origin, Temperature: 0.7, TopP: 0.9, Seed: uint64(i)}
		}
		pre := 60 + 17*i
		reqs = append(reqs, denoise.Request{Canvases: [][]int{canvas(i, pre, 4), canvas(i, pre, 8), canvas(i, pre, 12)},
			Steps: 12, RowSteps: []int{4, 8, 12}, Sampler: smp})
	}
	return reqs
}

func openBuiltin(t *testing.T) *engine.Engine {
	t.Helper()
	e, err := engine.OpenFS(builtin.FS(), engine.Options{Cache: denoise.CacheOptions{Enabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// TestBatcherEqualsAlone: concurrent requests through a Batcher, arriving
// a little apart so they join a running stream, get exactly the tokens
// and confidences Engine.Denoise gives each alone; steps did carry
// several requests.
func TestBatcherEqualsAlone(t *testing.T) {
	e := openBuiltin(t)
	reqs := batchRequests(e, 6)
	want := make([]*denoise.Result, len(reqs))
	for i, r := range reqs {
		res, err := e.Denoise(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = res
	}
	var mu sync.Mutex
	most, steps := 0, 0
	b, err := engine.NewBatcher(e, engine.BatchOptions{Observe: func(s engine.BatchStep) {
		mu.Lock()
		most = max(most, s.Jobs)
		steps++
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	got := make([]*denoise.Result, len(reqs))
	var wg sync.WaitGroup
	for i, r := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := b.Denoise(context.Background(), r)
			if err != nil {
				t.Errorf("request %d: %v", i, err)
				return
			}
			got[i] = res
		}()
		time.Sleep(15 * time.Millisecond)
	}
	wg.Wait()
	for i := range reqs {
		if got[i] == nil {
			continue
		}
		for r := range want[i].Canvases {
			if !slices.Equal(got[i].Canvases[r], want[i].Canvases[r]) || !slices.Equal(got[i].Confidence[r], want[i].Confidence[r]) {
				t.Errorf("request %d canvas %d: batched %v, alone %v", i, r, got[i].Canvases[r], want[i].Canvases[r])
			}
		}
	}
	// Observe runs on the batcher's goroutine after a step's results are
	// handed out, so it may still be running: read under its lock.
	mu.Lock()
	gotMost, gotSteps := most, steps
	mu.Unlock()
	if gotMost < 2 {
		t.Errorf("at most %d request in a step: nothing was batched", gotMost)
	}
	t.Logf("%d requests in %d steps, up to %d a step", len(reqs), gotSteps, gotMost)
}

// TestBatcherCancelAndClose: a cancelled request returns its context's
// error while the others finish; after Close, Denoise is refused.
func TestBatcherCancelAndClose(t *testing.T) {
	e := openBuiltin(t)
	reqs := batchRequests(e, 3)
	b, err := engine.NewBatcher(e, engine.BatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	steps := 0
	reqs[1].OnStep = func(int, [][]int) {
		if steps++; steps == 3 {
			cancel()
		}
	}
	errs := make([]error, len(reqs))
	var wg sync.WaitGroup
	for i, r := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := context.Background()
			if i == 1 {
				c = ctx
			}
			_, errs[i] = b.Denoise(c, r)
		}()
	}
	wg.Wait()
	if !errors.Is(errs[1], context.Canceled) || errs[0] != nil || errs[2] != nil {
		t.Errorf("errors %v, want nil, context.Canceled, nil", errs)
	}
	b.Close()
	if _, err := b.Denoise(context.Background(), reqs[0]); !errors.Is(err, engine.ErrBatcherClosed) {
		t.Errorf("after Close: %v", err)
	}
}
