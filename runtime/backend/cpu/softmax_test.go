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
	if !haveVecOps {
		t.Skip("no vector kernels (AVX2 or NEON) on this CPU or build")
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

// TestSiLUMulSIMDMatchesGo: the vector SiLU·up gives the Go loop's bits on
// random gates and on every edge of expf (its clamps at −87.3 and 88.7,
// the 2·2^127 branch, ±0, ±Inf, NaN), also when out is the gate or up;
// and siluMul16 and siluMulRows (AVX-512) the same bits.
func TestSiLUMulSIMDMatchesGo(t *testing.T) {
	if !haveVecOps {
		t.Skip("no vector kernels (AVX2 or NEON) on this CPU or build")
	}
	r := rand.New(rand.NewPCG(4, 1))
	g := randWeights(r, 4096, 6)
	for i := range 512 {
		g[i] = float32(r.NormFloat64() * 60)
	}
	edges := []float32{87.3, -87.3, 88.7, -88.7, 88.4, -88.4, -88.5, -88.69, 87.29, -87.31, 0, float32(math.Copysign(0, -1)),
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 1e-30, -1e-30, 100, -100, 1e30, -1e30}
	for i, e := range edges {
		g[512+i] = e
		g[600+i] = math.Nextafter32(e, 0)
		g[700+i] = math.Nextafter32(e, float32(math.Inf(1)))
	}
	u := randWeights(r, len(g), 1)
	got := make([]float32, len(g))
	siluMul(&got[0], &g[0], &u[0], len(g))
	if haveAVX512 {
		// siluMulRows: the same bits from 32-value rows of the gate, up
		// (and out) in rows 48 values apart.
		const ldo = 48
		rows := len(g) / 32
		out := make([]float32, rows*ldo)
		for i := range rows {
			copy(out[i*ldo:i*ldo+32], u[i*32:])
		}
		siluMulRows(&out[0], &g[0], ldo, 32, rows)
		for i := range rows {
			for j := range 32 {
				if v, want := out[i*ldo+j], got[i*32+j]; math.Float32bits(v) != math.Float32bits(want) && !(v != v && want != want) {
					t.Fatalf("gate %v up %v: siluMulRows %v, siluMul %v", g[i*32+j], u[i*32+j], v, want)
				}
			}
			for j := 32; j < ldo; j++ {
				if out[i*ldo+j] != 0 {
					t.Fatalf("siluMulRows wrote past row %d's 32 values", i)
				}
			}
		}
	}
	same := append([]float32(nil), g...)
	siluMul(&same[0], &same[0], &u[0], len(same))
	wide, wideUp := make([]float32, len(g)), append([]float32(nil), u...)
	if haveAVX512 {
		siluMul16(&wide[0], &g[0], &u[0], len(g))
		siluMul16(&wideUp[0], &g[0], &wideUp[0], len(g)) // out is up
	} else {
		copy(wide, got)
		copy(wideUp, got)
	}
	for i, x := range g {
		want := x / (1 + expf(-x)) * u[i]
		for _, v := range []float32{got[i], same[i], wide[i], wideUp[i]} {
			if math.Float32bits(v) != math.Float32bits(want) && !(v != v && want != want) {
				t.Fatalf("gate %v (%#08x) up %v: SIMD %v, Go %v", x, math.Float32bits(x), u[i], v, want)
			}
		}
	}
}

// TestSiLUMulSplits: the SiLUMul operation, which runs 16 lanes, then 8,
// then the Go loop over what is left of each parallel chunk, gives the Go
// loop's bits at every split.
func TestSiLUMulSplits(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 2))
	be := New(2)
	for _, n := range []int{1, 7, 8, 15, 16, 17, 24, 31, 33, 40, 1<<14 + 24, 3<<14 + 13} {
		g, u := randWeights(r, n, 8), randWeights(r, n, 1)
		gt, _ := be.Wrap(g, 1, n)
		ut, _ := be.Wrap(u, 1, n)
		out, _ := be.Alloc(1, n)
		if err := be.SiLUMul(out, gt, ut); err != nil {
			t.Fatal(err)
		}
		for i, x := range g {
			if want, v := x/(1+expf(-x))*u[i], Data(out)[i]; math.Float32bits(v) != math.Float32bits(want) {
				t.Fatalf("n=%d value %d: %v, Go %v", n, i, v, want)
			}
		}
	}
}

// TestAddAndRMSNormSIMDMatchGo: Add and RMSNorm's vector loops give the
// bits of the scalar loops they replace, for widths with and without a
// tail, out aliasing an input or not.
func TestAddAndRMSNormSIMDMatchGo(t *testing.T) {
	if !haveVecOps {
		t.Skip("no vector kernels (AVX2 or NEON) on this CPU or build")
	}
	r := rand.New(rand.NewPCG(4, 1))
	be := New(2)
	for _, sh := range [][2]int{{1, 1}, {3, 7}, {2, 8}, {5, 9}, {4, 33}, {33, 192}, {3, 896}, {7, 1001}} {
		T, D := sh[0], sh[1]
		av, bv, wv := randWeights(r, T*D, 3), randWeights(r, T*D, 3), randWeights(r, D, 2)
		wantAdd := make([]float32, T*D)
		for i := range wantAdd {
			wantAdd[i] = av[i] + bv[i]
		}
		wantNorm := make([]float32, T*D)
		for i := range T {
			var ss float64
			for _, v := range av[i*D : (i+1)*D] {
				ss += float64(v) * float64(v)
			}
			scale := float32(1 / math.Sqrt(ss/float64(D)+1e-6))
			for j, v := range av[i*D : (i+1)*D] {
				wantNorm[i*D+j] = v * scale * wv[j]
			}
		}
		a, _ := be.Wrap(append([]float32(nil), av...), T, D)
		b, _ := be.Wrap(append([]float32(nil), bv...), T, D)
		w, _ := be.Wrap(wv, 1, D)
		out, _ := be.Alloc(T, D)
		check := func(what string, got, want []float32) {
			t.Helper()
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("[%d,%d] %s: value %d is %v, the scalar loop gives %v", T, D, what, i, got[i], want[i])
				}
			}
		}
		if err := be.RMSNorm(out, a, w, 1e-6); err != nil {
			t.Fatal(err)
		}
		check("RMSNorm", Data(out), wantNorm)
		if err := be.Add(out, a, b); err != nil {
			t.Fatal(err)
		}
		check("Add", Data(out), wantAdd)
		if err := be.Add(a, a, b); err != nil { // out aliasing a
			t.Fatal(err)
		}
		check("Add in place", Data(a), wantAdd)
		if err := be.RMSNorm(b, b, w, 1e-6); err != nil { // out aliasing x
			t.Fatal(err)
		}
		for i := range T {
			var ss float64
			for _, v := range bv[i*D : (i+1)*D] {
				ss += float64(v) * float64(v)
			}
			scale := float32(1 / math.Sqrt(ss/float64(D)+1e-6))
			for j, v := range bv[i*D : (i+1)*D] {
				wantNorm[i*D+j] = v * scale * wv[j]
			}
		}
		check("RMSNorm in place", Data(b), wantNorm)
	}
}
