package api

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/dream-lsp/dream-lsp/infill"
)

// cpuTime is the process's user+system CPU time: on a shared machine it
// measures the work, where wall time measures the neighbours too.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkBatching compares, on the built-in model, the denoising work of
// the six builtinPrompts (three lengths each) run one request at a time
// with the same six joined into one call, as the batcher joins them.
// Reported: CPU milliseconds per request.
//
//	go test ./infill/api -run '^$' -bench Batching -benchtime 3x
func BenchmarkBatching(b *testing.B) {
	rt := builtinRuntime(b)
	var reqs []infill.DenoiseRequest
	rec := &recorder{Runtime: rt}
	eng := infill.New(rec, infill.Options{})
	for _, p := range builtinPrompts {
		if _, err := eng.Fill(context.Background(), infill.FillRequest{Prefix: p[0], Suffix: p[1], BOS: true, Lengths: []int{4, 8, 12}}); err != nil {
			b.Fatal(err)
		}
	}
	reqs = rec.reqs
	joined := infill.DenoiseRequest{Alg: reqs[0].Alg}
	for _, r := range reqs {
		joined.Steps = max(joined.Steps, r.Steps)
		for i, c := range r.Canvases {
			joined.Canvases = append(joined.Canvases, c)
			joined.RowSteps = append(joined.RowSteps, r.RowSteps[i])
		}
	}
	for _, mode := range []string{"alone", "joined"} {
		b.Run(mode, func(b *testing.B) {
			var cpu time.Duration
			for b.Loop() {
				t0 := cpuTime()
				if mode == "alone" {
					for _, r := range reqs {
						if _, err := rt.Denoise(context.Background(), r); err != nil {
							b.Fatal(err)
						}
					}
				} else if _, err := rt.Denoise(context.Background(), joined); err != nil {
					b.Fatal(err)
				}
				cpu += cpuTime() - t0
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
