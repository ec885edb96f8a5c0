package api

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/dream-lsp/dream-lsp/infill"
	"github.com/dream-lsp/dream-lsp/internal/loadtest"
	"github.com/dream-lsp/dream-lsp/runtime/engine"
)

// BenchmarkBatching compares, on the built-in model (one thread), the
// denoising work of the six builtinPrompts (three lengths each) run one
// request at a time with the same six sent at once through the
// continuous batcher (engine.Batcher), as the server runs them.
// Reported: CPU milliseconds per request.
//
//	go test ./infill/api -run '^$' -bench Batching -benchtime 3x
func BenchmarkBatching(b *testing.B) {
	eng := builtinEngine(b)
	rt := builtinRuntime(b, eng)
	rec := &recorder{Runtime: rt}
	fill := infill.New(rec, infill.Options{})
	for _, p := range builtinPrompts {
		if _, err := fill.Fill(context.Background(), infill.FillRequest{Prefix: p[0], Suffix: p[1], BOS: true, Lengths: []int{4, 8, 12}}); err != nil {
			b.Fatal(err)
		}
	}
	reqs := rec.reqs
	bat, err := engine.NewBatcher(eng, engine.BatchOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer bat.Close()
	brt, err := infill.FromEngine(bat)
	if err != nil {
		b.Fatal(err)
	}
	for _, mode := range []string{"alone", "batched"} {
		b.Run(mode, func(b *testing.B) {
			var cpu time.Duration
			for b.Loop() {
				t0 := loadtest.CPUTime()
				if mode == "alone" {
					for _, r := range reqs {
						if _, err := rt.Denoise(context.Background(), r); err != nil {
							b.Fatal(err)
						}
					}
				} else {
					var wg sync.WaitGroup
					for _, r := range reqs {
						wg.Add(1)
						go func() {
							defer wg.Done()
							if _, err := brt.Denoise(context.Background(), r); err != nil {
								b.Error(err)
							}
						}()
					}
					wg.Wait()
				}
				cpu += loadtest.CPUTime() - t0
			}
			b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N*len(reqs)), "cpu-ms/request")
		})
	}
}

// recorder keeps the denoise requests an engine makes.
type recorder struct {
	infill.Runtime
	reqs []infill.DenoiseRequest
}

func (r *recorder) Denoise(ctx context.Context, req infill.DenoiseRequest) (*infill.DenoiseResult, error) {
	r.reqs = append(r.reqs, req)
	return r.Runtime.Denoise(ctx, req)
}
