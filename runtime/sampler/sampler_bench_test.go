package sampler

import (
	"math/rand/v2"
	"syscall"
	"testing"
)

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

// BenchmarkStep samples 64 masked slots over Qwen's 152,064-token
// vocabulary, as one denoising step of a Dream model does.
func BenchmarkStep(b *testing.B) {
	const slots, vocab = 64, 152064
	r := rand.New(rand.NewPCG(1, 1))
	lg := make([]float32, slots*vocab)
	for i := range lg {
		lg[i] = float32(r.NormFloat64() * 3)
	}
	for _, o := range []Options{
		{Alg: MaskGITPlus},
		{Alg: Entropy},
		{Alg: Entropy, Temperature: 0.2, TopP: 0.95},
	} {
		name := string(o.Alg)
		if o.TopP > 0 {
			name += "+temp+top_p"
		}
		b.Run(name, func(b *testing.B) {
			s, err := New(o, 8, 0)
			if err != nil {
				b.Fatal(err)
			}
			c0 := cpuSeconds()
			for b.Loop() {
				if _, err := s.Step(0, lg, vocab); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric((cpuSeconds()-c0)*1e3/float64(b.N), "cpu-ms/op")
		})
	}
	// Fast-dLLM's per-block schedule: two blocks of 32 slots, the second
	// not yet active (under the dual cache, the last refresh's rows).
	blocks := make([]int, slots)
	for j := range blocks {
		blocks[j] = j / 32
	}
	b.Run("confidence_threshold/blocks", func(b *testing.B) {
		s, err := New(Options{Alg: ConfidenceThreshold}, slots, 0)
		if err != nil {
			b.Fatal(err)
		}
		c0 := cpuSeconds()
		for b.Loop() {
			if _, err := s.StepBlocks(1, lg, vocab, blocks); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric((cpuSeconds()-c0)*1e3/float64(b.N), "cpu-ms/op")
	})
}
