package cpu

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestBcastRows: the broadcast kernels are within float rounding of a
// float64 reference, and a row's sums are bit for bit the same whatever
// rows are computed beside it (six at a time or alone).
func TestBcastRows(t *testing.T) {
	if !haveVecOps {
		t.Skip("no broadcast kernels (AVX2+FMA or NEON) on this CPU or build")
	}
	r := rand.New(rand.NewPCG(9, 9))
	for trial := range 30 {
		T, N, K := 1+r.IntN(20), 16*(1+r.IntN(6)), 1+r.IntN(300)
		x := randWeights(r, T*K, 1)
		w := randWeights(r, N*K, 1)
		wp := packPanels16(w, N, K)
		k0 := r.IntN(K)
		kw := 1 + r.IntN(K-k0) // a K slice, as matmul's blockK cuts
		n0 := 16 * r.IntN(N/16)
		// Storing (add false) into garbage: the old values are not read.
		got := nanSlice(T * N)
		bcastRows(got, N, x, K, wp, K, 0, T, n0, N, k0, kw, false)
		// Adding onto values already there: exactly those plus the sums.
		pre := randWeights(r, T*N, 1)
		sum := append([]float32(nil), pre...)
		bcastRows(sum, N, x, K, wp, K, 0, T, n0, N, k0, kw, true)
		for i := range T {
			alone := nanSlice(N)
			bcastRows(alone, N, x[i*K:(i+1)*K], K, wp, K, 0, 1, n0, N, k0, kw, false)
			for j := n0; j < N; j++ {
				if math.Float32bits(alone[j]) != math.Float32bits(got[i*N+j]) {
					t.Fatalf("trial %d: row %d col %d: %v in a batch, %v alone", trial, i, j, got[i*N+j], alone[j])
				}
				if want := pre[i*N+j] + got[i*N+j]; math.Float32bits(sum[i*N+j]) != math.Float32bits(want) {
					t.Fatalf("trial %d: [%d,%d] added onto %v: %v, want %v", trial, i, j, pre[i*N+j], sum[i*N+j], want)
				}
				var ref, mag float64
				for k := k0; k < k0+kw; k++ {
					p := float64(x[i*K+k]) * float64(w[j*K+k])
					ref += p
					mag += math.Abs(p)
				}
				if d := math.Abs(float64(got[i*N+j]) - ref); d > 1e-5*mag+1e-6 {
					t.Fatalf("trial %d: [%d,%d] = %v, float64 %v", trial, i, j, got[i*N+j], ref)
				}
			}
			for j := range n0 {
				if !math.IsNaN(float64(got[i*N+j])) || sum[i*N+j] != pre[i*N+j] {
					t.Fatalf("trial %d: [%d,%d] left of the columns written changed", trial, i, j)
				}
			}
		}
	}
}

func BenchmarkBcastVsTile(b *testing.B) {
	for _, s := range [][3]int{{255, 192, 512}, {255, 512, 192}, {64, 192, 4096}, {30, 192, 192}} {
		T, K, N := s[0], s[1], s[2]
		r := rand.New(rand.NewPCG(1, 2))
		x := randWeights(r, T*K, 1)
		w := randWeights(r, N*K, 1)
		wp := packPanels16(w, N, K)
		out := make([]float32, T*N)
		flops := 2 * float64(T*K*N)
		b.Run("tile/"+shapeName(s), func(b *testing.B) {
			for b.Loop() {
				a := operands{out: out, ldo: N, x: x, ldx: K, w: w, ldw: K, kw: K}
				a.tile(0, T, 0, N)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		b.Run("bcast/"+shapeName(s), func(b *testing.B) {
			for b.Loop() {
				bcastRows(out, N, x, K, wp, K, 0, T, 0, N, 0, K, false)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

func shapeName(s [3]int) string {
	return itoa(s[0]) + "x" + itoa(s[1]) + "x" + itoa(s[2])
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// TestGemmNN: P·V on the broadcast kernels straight from V agrees with the
// transposed dot-product path within float rounding, row by row alike.
func TestGemmNN(t *testing.T) {
	if !haveVecOps {
		t.Skip("no broadcast kernels (AVX2+FMA or NEON) on this CPU or build")
	}
	r := rand.New(rand.NewPCG(4, 4))
	for trial := range 20 {
		T, N, K := 1+r.IntN(30), 16*(1+r.IntN(4)), 1+r.IntN(300)
		ldv := N + 16*r.IntN(3)
		x := randWeights(r, T*K, 1)
		v := randWeights(r, K*ldv, 1)
		vT := make([]float32, N*K)
		for k := range K {
			for j := range N {
				vT[j*K+k] = v[k*ldv+j]
			}
		}
		got := nanSlice(T * N) // gemmNN sets out: no value of it is read
		want := make([]float32, T*N)
		gemmNN(got, N, x, K, v, ldv, T, N, K)
		gemmNT(want, N, x, K, vT, K, T, N, K)
		for i := range T {
			alone := make([]float32, N)
			gemmNN(alone, N, x[i*K:], K, v, ldv, 1, N, K)
			for j := range N {
				if math.Float32bits(alone[j]) != math.Float32bits(got[i*N+j]) {
					t.Fatalf("trial %d: row %d col %d: %v in a batch, %v alone", trial, i, j, got[i*N+j], alone[j])
				}
				var mag float64
				for k := range K {
					mag += math.Abs(float64(x[i*K+k]) * float64(v[k*ldv+j]))
				}
				if d := math.Abs(float64(got[i*N+j]) - float64(want[i*N+j])); d > 1e-5*mag+1e-6 {
					t.Fatalf("trial %d: [%d,%d] = %v, gemmNT %v", trial, i, j, got[i*N+j], want[i*N+j])
				}
			}
		}
	}
}

// TestMM6x32zMatchesMM6x16: the 512-bit kernels (six, three and one
// rows) give mm6x16's sums bit for bit (each output's FMAs in the same order), from packed panels and
// from a row-major matrix (P·V's layout), with partial sums in out.
func TestMM6x32zMatchesMM6x16(t *testing.T) {
	if !haveAVX512 {
		t.Skip("no AVX-512 kernels on this CPU or build")
	}
	r := rand.New(rand.NewPCG(6, 32))
	for trial := range 30 {
		k, pairs := 1+r.IntN(300), 1+r.IntN(3)
		ldx, ldo := k+r.IntN(5), 32*pairs+16*r.IntN(2)
		x := randWeights(r, 6*ldx, 1)
		var w []float32
		var pstride, jstride int
		if trial%2 == 0 { // packed panels
			pstride, jstride = 16*k, 16
			w = randWeights(r, 2*pairs*16*k, 1)
		} else { // row-major [k, n]
			n := 32*pairs + 16*r.IntN(2)
			pstride, jstride = 16, n
			w = randWeights(r, k*n, 1)
		}
		init := randWeights(r, 6*ldo, 1)
		want := append([]float32(nil), init...)
		mm6x16(&x[0], ldx, &w[0], k, pstride, jstride, &want[0], ldo, 2*pairs, 1)
		for _, rows := range []int{6, 3, 1} {
			got := append([]float32(nil), init...)
			switch rows {
			case 6:
				mm6x32z(&x[0], ldx, &w[0], k, pstride, jstride, &got[0], ldo, pairs, 1)
			case 3:
				mm3x32z(&x[0], ldx, &w[0], k, pstride, jstride, &got[0], ldo, pairs, 1)
			case 1:
				mm1x32z(&x[0], &w[0], k, pstride, jstride, &got[0], pairs, 1)
			}
			for i := range rows * ldo {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) && i%ldo < 32*pairs {
					t.Fatalf("trial %d (k %d, %d pairs, %d rows): out[%d] = %v, mm6x16 %v", trial, k, pairs, rows, i, got[i], want[i])
				}
			}
		}
	}
}

// nanSlice is n NaNs: a buffer whose old values must not show.
func nanSlice(n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(math.NaN())
	}
	return s
}
