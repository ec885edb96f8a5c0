package denoise_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/dream-lsp/dream-lsp/internal/loadtest"
	"github.com/dream-lsp/dream-lsp/runtime/backend/cpu"
	"github.com/dream-lsp/dream-lsp/runtime/builtin"
	"github.com/dream-lsp/dream-lsp/runtime/denoise"
	"github.com/dream-lsp/dream-lsp/runtime/model"
	"github.com/dream-lsp/dream-lsp/runtime/sampler"
)

// BenchmarkStream compares, on the built-in model with one thread
// (DREAM_BENCH_THREADS=N for more), eight
// editor-sized requests (three canvases of a 200-token window with 4, 8
// and 12 masks, one step per middle token, dual K/V cache) run one after
// another through Run with the same eight in one Stream, joining one
// step apart. Reported: CPU and wall milliseconds per request, and the
// cores kept busy (CPU over wall).
//
//	go test ./runtime/denoise -run '^$' -bench Stream -benchtime 3x
func BenchmarkStream(b *testing.B) {
	cfg, ck, err := model.LoadFS(builtin.FS())
	if err != nil {
		b.Fatal(err)
	}
	defer ck.Close()
	threads := 1
	if v := os.Getenv("DREAM_BENCH_THREADS"); v != "" {
		threads, _ = strconv.Atoi(v)
	}
	m, err := model.LoadWith(cfg, model.CheckpointSource(ck), cpu.New(threads), model.LoadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	M := cfg.MaskTokenID
	var reqs []denoise.Request
	for i := range 8 {
		var cs [][]int
		for _, n := range []int{4, 8, 12} {
			var c []int
			for p := range 170 {
				c = append(c, (i*31+p*7)%1000+10)
			}
			for range n {
				c = append(c, M)
			}
			for p := range 60 {
				c = append(c, (i*17+p*5)%1000+10)
			}
			cs = append(cs, c)
		}
		reqs = append(reqs, denoise.Request{Canvases: cs, Steps: 12, RowSteps: []int{4, 8, 12},
			Sampler: sampler.Options{Alg: sampler.Entropy}, Cache: denoise.CacheOptions{Enabled: true}})
	}
	for _, mode := range []string{"alone", "stream"} {
		b.Run(mode, func(b *testing.B) {
			var used, wall time.Duration
			steps := 0
			for b.Loop() {
				c0, w0 := loadtest.CPUTime(), time.Now()
				if mode == "alone" {
					for _, r := range reqs {
						if _, err := denoise.Run(context.Background(), m, r); err != nil {
							b.Fatal(err)
						}
					}
				} else {
					s, err := denoise.NewStream(m, true)
					if err != nil {
						b.Fatal(err)
					}
					for i := 0; ; i++ {
						if i < len(reqs) {
							if _, err := s.Add(context.Background(), reqs[i]); err != nil {
								b.Fatal(err)
							}
						}
						if _, _, err := s.Step(); err != nil {
							b.Fatal(err)
						}
						steps++
						if i >= len(reqs) && len(s.Active()) == 0 {
							break
						}
					}
					s.Close()
				}
				used += loadtest.CPUTime() - c0
				wall += time.Since(w0)
			}
			b.ReportMetric(float64(used.Milliseconds())/float64(b.N*len(reqs)), "cpu-ms/request")
			b.ReportMetric(float64(wall.Milliseconds())/float64(b.N*len(reqs)), "wall-ms/request")
			b.ReportMetric(used.Seconds()/wall.Seconds(), "cores")
			if steps > 0 {
				b.ReportMetric(float64(steps)/float64(b.N), "steps")
			}
		})
	}
}
