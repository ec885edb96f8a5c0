package cpu

import (
	"math"
	"testing"
)

func TestExpf(t *testing.T) {
	var worst float64
	for x := float32(-87.3); x <= 88.7; x += 0.00731 {
		got, want := float64(expf(x)), math.Exp(float64(x))
		if rel := math.Abs(got-want) / want; rel > worst {
			worst = rel
		}
	}
	if worst > 5e-7 {
		t.Fatalf("expf relative error %g > 5e-7", worst)
	}
	if expf(-100) != 0 || !math.IsInf(float64(expf(100)), 1) || expf(0) != 1 {
		t.Fatalf("expf edges: %g %g %g", expf(-100), expf(100), expf(0))
	}
	if v := expf(float32(math.NaN())); v == v {
		t.Fatalf("expf(NaN) = %g", v)
	}
	if v := expf(float32(math.Inf(-1))); v != 0 {
		t.Fatalf("expf(-Inf) = %g", v)
	}
}

func BenchmarkExpf(b *testing.B) {
	xs := make([]float32, 4096)
	for i := range xs {
		xs[i] = float32(i%200) - 150
	}
	var s float32
	b.Run("expf", func(b *testing.B) {
		for b.Loop() {
			for _, x := range xs {
				s += expf(x)
			}
		}
	})
	b.Run("math.Exp", func(b *testing.B) {
		for b.Loop() {
			for _, x := range xs {
				s += float32(math.Exp(float64(x)))
			}
		}
	})
	_ = s
}
