package engine_test

import (
	"context"
	"slices"
	"testing"

	"github.com/dream-lsp/dream-lsp/internal/sharedpath"
	"github.com/dream-lsp/dream-lsp/runtime/denoise"
	"github.com/dream-lsp/dream-lsp/runtime/engine"
	"github.com/dream-lsp/dream-lsp/runtime/kvcache"
	"github.com/dream-lsp/dream-lsp/runtime/sampler"
)

// TestOptionsCache: the engine's Cache option applies to requests that
// leave Cache unset; refresh-every-step gives the uncached canvases.
func TestOptionsCache(t *testing.T) {
	dir := sharedpath.Path(t, "golden", "models", "tiny-gqa")
	plain, err := engine.Open(dir, engine.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	every, err := engine.Open(dir, engine.Options{Threads: 2, Cache: denoise.CacheOptions{Enabled: true, Policy: kvcache.Policy{Refresh: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	defer every.Close()
	const M = 299
	req := denoise.Request{Canvases: [][]int{{5, 6, M, M, M, M, M, M, 9, 10}}, Steps: 6, Sampler: sampler.Options{Alg: sampler.Entropy}}
	want, err := plain.Denoise(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	got, err := every.Denoise(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Canvases[0], want.Canvases[0]) {
		t.Fatalf("refresh every step: %v, uncached %v", got.Canvases[0], want.Canvases[0])
	}
	// A request's own cache setting wins over the engine's.
	req.Cache = denoise.CacheOptions{Enabled: true, Policy: kvcache.Policy{Refresh: -1}}
	res, err := plain.Denoise(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(res.Canvases[0], M) {
		t.Fatalf("cached run left masks: %v", res.Canvases[0])
	}
}
