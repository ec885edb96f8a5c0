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

func TestExpSubMatchesExpf(t *testing.T) {
	v := make([]float32, 203)
	for i := range v {
		v[i] = float32(i%37)*-2.5 + float32(i%5)*0.1
	}
	v[3] = float32(math.Inf(-1))
	v[100] = -200
	m := float32(0.4)
	want := make([]float32, len(v))
	var wantSum float64
	for i, x := range v {
		want[i] = expf(x - m)
		wantSum += float64(want[i])
	}
	got := append([]float32(nil), v...)
	sum := expSub(got, m)
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); d > 5e-7*float64(want[i])+1e-37 {
			t.Fatalf("element %d (x=%g): %g, want %g", i, v[i], got[i], want[i])
		}
	}
	if math.Abs(float64(sum)-wantSum) > 1e-6*wantSum {
		t.Fatalf("sum %g, want %g", sum, wantSum)
	}
}
