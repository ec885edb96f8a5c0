package denoise_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"

	"github.com/dream-lsp/dream-lsp/runtime/backend/cpu"
	"github.com/dream-lsp/dream-lsp/runtime/builtin"
	"github.com/dream-lsp/dream-lsp/runtime/denoise"
	"github.com/dream-lsp/dream-lsp/runtime/engine"
	"github.com/dream-lsp/dream-lsp/runtime/kvcache"
	"github.com/dream-lsp/dream-lsp/runtime/model"
	"github.com/dream-lsp/dream-lsp/runtime/sampler"
)

// infillCanvas is prefix + masked middle + suffix of random tokens.
func infillCanvas(cfg model.Config, tokens, masked int) []int {
	rng := rand.New(rand.NewPCG(3, 3))
	ids := make([]int, tokens)
	lo := (tokens - masked) / 2
	for i := range ids {
		ids[i] = rng.IntN(min(cfg.VocabSize, 150000) - 8)
		if i >= lo && i < lo+masked {
			ids[i] = cfg.MaskTokenID
		}
	}
	return ids
}

var benchModes = []struct {
	name  string
	cache denoise.CacheOptions
}{
	{"uncached", denoise.CacheOptions{}},
	{"cached-R2", denoise.CacheOptions{Enabled: true, Policy: kvcache.Policy{Refresh: 2}}},
	{"cached-R4", denoise.CacheOptions{Enabled: true, Policy: kvcache.Policy{Refresh: 4}}},
	{"cached-R8", denoise.CacheOptions{Enabled: true, Policy: kvcache.Policy{Refresh: 8}}},
	{"cached-once", denoise.CacheOptions{Enabled: true, Policy: kvcache.Policy{Refresh: -1}}},
}

func benchDenoise(b *testing.B, run func(denoise.Request) error, cfg model.Config, tokens, masked int) {
	ids := infillCanvas(cfg, tokens, masked)
	for _, steps := range []int{8, 16} {
		for _, mode := range benchModes {
			b.Run(fmt.Sprintf("tokens=%d/masked=%d/steps=%d/%s", tokens, masked, steps, mode.name), func(b *testing.B) {
				req := denoise.Request{Canvases: [][]int{ids}, Steps: steps,
					Sampler: sampler.Options{Alg: sampler.MaskGITPlus}, Cache: mode.cache}
				c0 := cpuSeconds()
				for b.Loop() {
					if err := run(req); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric((cpuSeconds()-c0)*1000/float64(b.N), "cpu-ms/op")
			})
		}
	}
}

// BenchmarkDenoiseCache compares uncached denoising with the dual K/V
// cache under several refresh periods, on the synthetic ~30M config
// (512-token canvas) and the built-in model (256 tokens, its maximum).
//
//	go test ./runtime/denoise -run '^$' -bench DenoiseCache -benchtime 3x
func BenchmarkDenoiseCache(b *testing.B) {
	b.Run("synthetic-30M", func(b *testing.B) {
		cfg := model.BenchConfig()
		m, err := model.Load(cfg, model.RandomSource(cfg, 1), cpu.New(0))
		if err != nil {
			b.Fatal(err)
		}
		defer m.Close()
		benchDenoise(b, func(req denoise.Request) error {
			_, err := denoise.Run(context.Background(), m, req)
			return err
		}, cfg, 512, 32)
	})
	b.Run("builtin", func(b *testing.B) {
		e, err := engine.OpenFS(builtin.FS(), engine.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer e.Close()
		cfg := e.Config()
		benchDenoise(b, func(req denoise.Request) error {
			_, err := e.Denoise(context.Background(), req)
			return err
		}, cfg, min(512, cfg.MaxPositionEmbeddings), 32)
	})
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

// BenchmarkDenoiseCacheReuse measures a typing session on the synthetic
// ~30M config: requests alternate between two 512-token infill canvases
// that differ by one token typed at the end of the prefix, with the
// default refresh policy, with and without CacheOptions.Reuse (one op =
// one request).
//
//	go test ./runtime/denoise -run '^$' -bench DenoiseCacheReuse -benchtime 4x
func BenchmarkDenoiseCacheReuse(b *testing.B) {
	cfg := model.BenchConfig()
	m, err := model.Load(cfg, model.RandomSource(cfg, 1), cpu.New(0))
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	a := infillCanvas(cfg, 512, 32)
	lo := (512 - 32) / 2
	typed := append(append(append([]int(nil), a[:lo]...), 7), a[lo:len(a)-1]...) // one token typed, same length
	for _, steps := range []int{8, 16} {
		for _, reuse := range []bool{false, true} {
			b.Run(fmt.Sprintf("tokens=512/masked=32/steps=%d/reuse=%v", steps, reuse), func(b *testing.B) {
				opts := denoise.CacheOptions{Enabled: true}
				if reuse {
					opts.Reuse = m.NewCache()
					defer opts.Reuse.Free()
				}
				c0 := cpuSeconds()
				i := 0
				for b.Loop() {
					c := a
					if i%2 == 1 {
						c = typed
					}
					i++
					req := denoise.Request{Canvases: [][]int{c}, Steps: steps, Sampler: sampler.Options{Alg: sampler.MaskGITPlus}, Cache: opts}
					if _, err := denoise.Run(context.Background(), m, req); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric((cpuSeconds()-c0)*1000/float64(b.N), "cpu-ms/op")
			})
		}
	}
}
