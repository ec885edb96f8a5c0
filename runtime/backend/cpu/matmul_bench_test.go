package cpu

import (
	"math/rand/v2"
	"testing"
)

func BenchmarkMatMul(b *testing.B) {
	for _, s := range []struct {
		name    string
		T, K, N int
	}{
		{"512x512x1536", 512, 512, 1536},
		{"64x3584x3584", 64, 3584, 3584},
	} {
		b.Run(s.name, func(b *testing.B) {
			be := New(0)
			r := rand.New(rand.NewPCG(1, 2))
			x := make([]float32, s.T*s.K)
			w := make([]float32, s.N*s.K)
			for i := range x {
				x[i] = r.Float32()
			}
			for i := range w {
				w[i] = r.Float32()
			}
			out := make([]float32, s.T*s.N)
			for b.Loop() {
				be.matmul(out, x, w, nil, s.T, s.K, s.N)
			}
			b.ReportMetric(2*float64(s.T*s.K*s.N)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
