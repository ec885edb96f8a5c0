package cpu

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSoftmaxRowSIMDMatchesGo: softmaxRow's vector scale, maximum and
// normalisation give the bits of the scalar loops they replace, for
// lengths with and without a tail.
func TestSoftmaxRowSIMDMatchesGo(t *testing.T) {
	if !haveSIMD {
		t.Skip("no SIMD kernels on this CPU or build")
	}
	r := rand.New(rand.NewPCG(2, 9))
	for _, n := range []int{1, 7, 8, 9, 16, 23, 24, 65, 320, 1001} {
		x := randWeights(r, n, 4)
		got := append([]float32(nil), x...)
		softmaxRow(got, 0.125, nil, 0)
		// The scalar reference: the same steps one element at a time.
		want := append([]float32(nil), x...)
		m := float32(math.Inf(-1))
		for j := range want {
			want[j] *= 0.125
			m = max(m, want[j])
		}
		sum := expSub(want, m)
		inv := 1 / sum
		for j := range want {
			want[j] *= inv
		}
		for j := range got {
			if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
				t.Fatalf("n %d element %d: %v, scalar %v", n, j, got[j], want[j])
			}
		}
		y := append([]float32(nil), x...)
		if n >= 8 {
			if mx := scaleMax(&y[0], n&^7, 3); mx != slicesMax(y[:n&^7]) {
				t.Fatalf("n %d: scaleMax %v, max %v", n, mx, slicesMax(y[:n&^7]))
			}
		}
	}
}

func slicesMax(v []float32) float32 {
	m := float32(math.Inf(-1))
	for _, x := range v {
		m = max(m, x)
	}
	return m
}
