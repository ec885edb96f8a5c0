package model_test

import (
	"math/rand/v2"
	"syscall"
	"testing"

	"github.com/dream-lsp/dream-lsp/runtime/backend/cpu"
	"github.com/dream-lsp/dream-lsp/runtime/model"
)

// BenchmarkForward runs the CPU forward pass of the ~30M-parameter
// synthetic Dream config (model.BenchConfig) over a 512-token canvas with
// lm_head on 64 masked rows, and reports GFLOP/s (model.ForwardFLOPs).
//
//	go test ./runtime/model -run '^$' -bench Forward -benchtime 3x
func BenchmarkForward(b *testing.B) {
	cfg := model.BenchConfig()
	m, err := model.Load(cfg, model.RandomSource(cfg, 1), cpu.New(0))
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	const tokens, masked = 512, 64
	rng := rand.New(rand.NewPCG(2, 2))
	ids := make([]int, tokens)
	for i := range ids {
		ids[i] = rng.IntN(cfg.VocabSize - 3)
	}
	var want []int
	for p := tokens - masked; p < tokens; p++ {
		ids[p] = cfg.MaskTokenID
		want = append(want, p)
	}
	in := []model.Input{{IDs: ids, Want: want}}
	b.ReportMetric(float64(model.NumParams(cfg))/1e6, "Mparams")
	c0 := cpuSeconds()
	for b.Loop() {
		if _, err := m.Forward(in); err != nil {
			b.Fatal(err)
		}
	}
	flops := model.ForwardFLOPs(cfg, tokens, masked) * float64(b.N)
	b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	// Per second of process CPU time (all threads): stable on a shared machine.
	if c := cpuSeconds() - c0; c > 0 {
		b.ReportMetric(flops/c/1e9, "GFLOP/cpu-s")
	}
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}
