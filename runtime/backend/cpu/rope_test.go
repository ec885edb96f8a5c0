package cpu

import (
	"math"
	"math/rand/v2"
	"testing"
)

// directRoPE is the computation the table replaces: float64 Sincos per
// position, rounded to float32, then the rotate-half update.
func directRoPE(x []float32, heads, hd int, positions []int, theta float64) []float32 {
	out := append([]float32(nil), x...)
	half := hd / 2
	inv := ropeInvFreq(theta, hd)
	cos, sin := make([]float32, half), make([]float32, half)
	for t, p := range positions {
		ropeRow(float64(p), inv, cos, sin)
		for h := range heads {
			v := out[(t*heads+h)*hd : (t*heads+h+1)*hd]
			for i := range half {
				a, b := v[i], v[i+half]
				v[i] = float32(a*cos[i]) - float32(b*sin[i])
				v[i+half] = float32(b*cos[i]) + float32(a*sin[i])
			}
		}
	}
	return out
}

// TestRoPETableBitIdentical checks the cached path against the direct one
// bit for bit, across table growth, a change of theta or head dimension on
// the same backend, positions the table does not cover, and head sizes
// the vector rotation takes.
func TestRoPETableBitIdentical(t *testing.T) {
	b := New(2)
	r := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		name      string
		heads, hd int
		theta     float64
		positions []int
	}{
		{"first table", 2, 8, 1e4, []int{0, 1, 2, 3, 511}},
		{"grows past 512", 2, 8, 1e4, []int{5, 512, 4000, 3}},
		{"hit after growth", 2, 8, 1e4, []int{7, 7, 0}},
		{"new theta", 3, 8, 1e6, []int{0, 100, 9000}},
		{"new head dim", 1, 48, 1e6, []int{1, 2, 3}},
		{"beyond the table", 1, 8, 1e4, []int{0, maxRoPETable + 5}},
		{"negative position", 1, 8, 1e4, []int{-3, 4}},
		// Half a head a multiple of 8: the vector rotation (ropeHeads).
		{"vector, 2 heads of 16", 2, 16, 1e4, []int{0, 1, 9, 300}},
		{"vector, 14 heads of 64", 14, 64, 1e6, []int{3, 0, 77, 200, 1000}},
		{"vector beyond the table", 2, 16, 1e4, []int{maxRoPETable + 1, 2}},
	}
	for _, c := range cases {
		x := make([]float32, len(c.positions)*c.heads*c.hd)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		want := directRoPE(x, c.heads, c.hd, c.positions, c.theta)
		xt, err := b.Upload(x, len(c.positions), c.heads*c.hd)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.RoPE(xt, c.heads, c.hd, c.positions, c.theta); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got := xt.(*tensor).data
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%s: element %d = %v, want %v (bit-identical)", c.name, i, got[i], want[i])
			}
		}
	}
}

// BenchmarkRoPE times one call over a 512-token canvas with the built-in
// model's shape (4 heads of 48): "table" is the cached path, "direct" the
// per-call Sincos it replaced (positions past the table take it).
func BenchmarkRoPE(b *testing.B) {
	for _, bc := range []struct {
		name string
		base int
	}{{"table", 0}, {"direct", maxRoPETable}} {
		b.Run(bc.name, func(b *testing.B) {
			be := New(1)
			const heads, hd, n = 4, 48, 512
			positions := make([]int, n)
			for i := range positions {
				positions[i] = bc.base + i
			}
			xt, err := be.Upload(make([]float32, n*heads*hd), n, heads*hd)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if err := be.RoPE(xt, heads, hd, positions, 1e4); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
