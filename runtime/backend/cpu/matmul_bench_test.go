package cpu

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

func BenchmarkMatMul(b *testing.B) {
	for _, s := range []struct {
		name    string
		T, K, N int
	}{
		{"512x512x1536", 512, 512, 1536},
		{"64x3584x3584", 64, 3584, 3584},
		// The built-in model: a canvas through its MLP, a block step's
		// rows through lm_head.
		{"255x192x512", 255, 192, 512},
		{"255x512x192", 255, 512, 192},
		{"64x192x4096", 64, 192, 4096},
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
			c0 := cpuSeconds()
			for b.Loop() {
				be.matmul(out, x, w, nil, s.T, s.K, s.N)
			}
			flops := 2 * float64(s.T*s.K*s.N) * float64(b.N)
			b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			b.ReportMetric(flops/(cpuSeconds()-c0)/1e9, "GFLOP/cpu-s")
		})
	}
}

// TestSIMDMatchesGo compares the SIMD tile kernel with the pure-Go one on
// shapes that exercise every edge (rows, columns and K tails).
func TestSIMDMatchesGo(t *testing.T) {
	if !haveSIMD {
		t.Skip("no SIMD kernels on this CPU or build")
	}
	r := rand.New(rand.NewPCG(5, 5))
	for _, s := range [][3]int{{1, 8, 4}, {3, 8, 4}, {7, 37, 9}, {50, 300, 70}, {4, 7, 4}} {
		T, K, N := s[0], s[1], s[2]
		x := make([]float32, T*K)
		w := make([]float32, N*K)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		for i := range w {
			w[i] = float32(r.NormFloat64())
		}
		a := make([]float32, T*N)
		b := make([]float32, T*N)
		tileMatMul(a, x, w, K, N, 0, T, 0, N, 0, K)
		tileMatMulGo(b, x, w, K, N, 0, T, 0, N, 0, K)
		for i := range a {
			if d := a[i] - b[i]; d > 1e-4 || d < -1e-4 {
				t.Fatalf("%v: element %d SIMD %g, Go %g", s, i, a[i], b[i])
			}
		}
	}
}
