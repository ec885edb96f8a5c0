package cpu

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// fma32 is a·b + c rounded once to float32 (nearest even), as VFMADD231PS
// and NEON's FMLA compute it: the exact value in a wide big.Float first.
func fma32(a, b, c float32) float32 {
	const prec = 600 // wider than any float32 product plus addend needs
	p := new(big.Float).SetPrec(prec).SetFloat64(float64(a))
	p.Mul(p, new(big.Float).SetPrec(prec).SetFloat64(float64(b)))
	p.Add(p, new(big.Float).SetPrec(prec).SetFloat64(float64(c)))
	f, _ := p.Float32()
	return f
}

// TestBcastKernelsAreFMAChains: every broadcast kernel this build has
// (AVX2 on amd64, NEON on arm64) gives each output exactly one float32 FMA
// chain over j from zero, then out + sum when adding. That definition is
// what makes the two architectures' sums the same bits.
func TestBcastKernelsAreFMAChains(t *testing.T) {
	if !haveVecOps {
		t.Skip("no broadcast kernels (AVX2+FMA or NEON) on this CPU or build")
	}
	r := rand.New(rand.NewPCG(16, 4))
	for trial := range 24 {
		k, panels := 1+r.IntN(40), 1+r.IntN(3)
		ldx, ldo := k+r.IntN(3), 16*panels+r.IntN(5)
		x := randWeights(r, 6*ldx, 1)
		var w []float32
		var pstride, jstride int
		if trial%2 == 0 { // packed panels
			pstride, jstride = 16*k, 16
			w = randWeights(r, panels*16*k, 1)
		} else { // row-major [k, n], P·V's layout
			n := 16*panels + r.IntN(7)
			pstride, jstride = 16, n
			w = randWeights(r, k*n, 1)
		}
		add := trial % 4 / 2
		for _, rows := range []int{6, 3, 1} {
			init := randWeights(r, rows*ldo, 1)
			got := append([]float32(nil), init...)
			switch rows {
			case 6:
				mm6x16(&x[0], ldx, &w[0], k, pstride, jstride, &got[0], ldo, panels, add)
			case 3:
				mm3x16(&x[0], ldx, &w[0], k, pstride, jstride, &got[0], ldo, panels, add)
			case 1:
				mm1x16(&x[0], &w[0], k, pstride, jstride, &got[0], panels, add)
			}
			for i := range rows {
				for c := range ldo {
					want := init[i*ldo+c]
					if c < 16*panels {
						p, l := c/16, c%16
						var s float32
						for j := range k {
							s = fma32(x[i*ldx+j], w[p*pstride+j*jstride+l], s)
						}
						want = s
						if add != 0 {
							want = init[i*ldo+c] + s
						}
					}
					if g := got[i*ldo+c]; math.Float32bits(g) != math.Float32bits(want) {
						t.Fatalf("trial %d (k %d, %d panels, %d rows, add %d): out[%d][%d] = %v, the FMA chain %v", trial, k, panels, rows, add, i, c, g, want)
					}
				}
			}
		}
	}
}

// TestNEONTileSums: mm4x4n and mm1x4n give each output exactly their
// documented sum (four lanes of FMA chains, k ≡ lane mod 4, reduced as
// (l0+l1)+(l2+l3), added to out), so a row's sums are the same bits
// whether it runs four at a time or alone.
func TestNEONTileSums(t *testing.T) {
	if !haveNEON {
		t.Skip("no NEON kernels in this build: arm64 only (make arm64-test runs it under qemu-user)")
	}
	r := rand.New(rand.NewPCG(4, 4))
	for trial := range 20 {
		n, groups := 4*(1+r.IntN(12)), 1+r.IntN(4)
		ldx, ldw, ldo := n+r.IntN(5), n+r.IntN(5), 4*groups+r.IntN(3)
		x := randWeights(r, 4*ldx, 1)
		w := randWeights(r, 4*groups*ldw, 1)
		init := randWeights(r, 4*ldo, 1)
		four := append([]float32(nil), init...)
		mm4x4n(&x[0], ldx, &w[0], ldw, &four[0], ldo, n, groups)
		for i := range 4 {
			one := append([]float32(nil), init[i*ldo:(i+1)*ldo]...)
			mm1x4n(&x[i*ldx], &w[0], ldw, &one[0], n, groups)
			for c := range ldo {
				want := init[i*ldo+c]
				if c < 4*groups {
					var lane [4]float32
					for k := range n {
						lane[k%4] = fma32(x[i*ldx+k], w[c*ldw+k], lane[k%4])
					}
					want += (lane[0] + lane[1]) + (lane[2] + lane[3])
				}
				if g := four[i*ldo+c]; math.Float32bits(g) != math.Float32bits(want) {
					t.Fatalf("trial %d (n %d, %d groups): mm4x4n out[%d][%d] = %v, want %v", trial, n, groups, i, c, g, want)
				}
				if g := one[c]; math.Float32bits(g) != math.Float32bits(want) {
					t.Fatalf("trial %d (n %d, %d groups): mm1x4n out[%d] = %v, want %v", trial, n, groups, c, g, want)
				}
			}
		}
	}
}

// expSubSumModel is expSubSum's definition one element at a time: every
// product and sum rounded to float32 as the vector code rounds it (FMA
// steps once), and the sum in eight lanes reduced as
// ((s0+s4)+(s1+s5))+((s2+s6)+(s3+s7)).
func expSubSumModel(x []float32, m float32) ([]float32, float32) {
	bits := math.Float32frombits
	c87, log2e := bits(0xc2ae999a), bits(0x3fb8aa3b)
	c1, c2 := bits(0x3f317200), bits(0x35bfbe8e)
	poly := []float32{bits(0x3c088889), bits(0x3d2aaaab), bits(0x3e2aaaab), 0.5, 1, 1}
	out := make([]float32, len(x))
	var lane [8]float32
	for i, v := range x {
		y := max(float32(v-m), c87)
		k := float32(math.RoundToEven(float64(float32(y * log2e))))
		r := fma32(-k, c1, y)
		r = fma32(-k, c2, r)
		p := bits(0x3ab60b61) // 1/720
		for _, c := range poly {
			p = fma32(p, r, c)
		}
		e := float32(p * bits(uint32(int32(k)+127)<<23))
		out[i] = e
		lane[i%8] = float32(lane[i%8] + e)
	}
	sum := float32(float32(lane[0]+lane[4])+float32(lane[1]+lane[5])) + float32(float32(lane[2]+lane[6])+float32(lane[3]+lane[7]))
	return out, sum
}

// TestExpSubSumIsItsModel: the vector softmax kernels (AVX2 on amd64,
// NEON on arm64) give expSubSumModel's bits, values and sum, so both
// architectures agree; scaleMax and scaleBy give the scalar products and
// the maximum.
func TestExpSubSumIsItsModel(t *testing.T) {
	if !haveVecOps {
		t.Skip("no vector kernels (AVX2 or NEON) on this CPU or build")
	}
	r := rand.New(rand.NewPCG(8, 8))
	for trial := range 30 {
		n := 8 * (1 + r.IntN(40))
		x := make([]float32, n)
		for i := range x {
			switch r.IntN(10) {
			case 0:
				x[i] = float32(math.Inf(-1)) // a masked key
			case 1:
				x[i] = -87 - 2*r.Float32() // around the clamp
			default:
				x[i] = float32(r.NormFloat64() * 8)
			}
		}
		m := float32(math.Inf(-1))
		for _, v := range x {
			m = max(m, v)
		}
		if trial%3 == 0 {
			m += r.Float32() // m above every value also works
		}
		want, wantSum := expSubSumModel(x, m)
		got := append([]float32(nil), x...)
		sum := expSubSum(&got[0], n, m)
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("trial %d: exp(%v−%v) = %v, model %v", trial, x[i], m, got[i], want[i])
			}
			// Against math.Exp of the float32 difference (its rounding
			// is the kernel's input), or 0 below the clamp.
			ref := math.Exp(float64(float32(x[i] - m)))
			if d := math.Abs(float64(got[i]) - ref); d > 1e-6*ref+2e-38 {
				t.Fatalf("trial %d: exp(%v−%v) = %v, math.Exp %v", trial, x[i], m, got[i], ref)
			}
		}
		if math.Float32bits(sum) != math.Float32bits(wantSum) {
			t.Fatalf("trial %d: sum %v, model %v", trial, sum, wantSum)
		}
		s := float32(r.NormFloat64())
		y := append([]float32(nil), x...)
		for i := range y {
			if math.IsInf(float64(y[i]), 0) {
				y[i] = 0 // scaleMax takes no infinities times zero
			}
		}
		z := append([]float32(nil), y...)
		mx := scaleMax(&y[0], n, s)
		scaleBy(&z[0], n, s)
		wmx := float32(math.Inf(-1))
		for i := range y {
			p := float32(x[i] * s)
			if math.IsInf(float64(x[i]), 0) {
				p = 0 * s
			}
			wmx = max(wmx, p)
			if math.Float32bits(y[i]) != math.Float32bits(p) || math.Float32bits(z[i]) != math.Float32bits(p) {
				t.Fatalf("trial %d: %v·%v: scaleMax wrote %v, scaleBy %v, want %v", trial, x[i], s, y[i], z[i], p)
			}
		}
		if mx != wmx {
			t.Fatalf("trial %d: scaleMax %v, max %v", trial, mx, wmx)
		}
	}
}
