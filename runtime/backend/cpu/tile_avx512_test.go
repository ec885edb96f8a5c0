package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// TestTileKernelsMatchGo runs every tile kernel this CPU has on random
// sub-tiles (ragged rows, columns and K slices, offset starts) of random
// matrices and compares each sum with the pure-Go kernel within float32
// rounding of the sum's magnitude.
func TestTileKernelsMatchGo(t *testing.T) {
	kernels := []struct {
		name string
		ok   bool
		run  func(a *operands, t0, t1, n0, n1 int)
	}{
		{"avx2", haveSIMD, (*operands).tileSIMD},
		{"avx512", haveAVX512, (*operands).tileAVX512},
		{"neon", haveNEON, (*operands).tileNEON},
		{"dispatch", true, (*operands).tile},
	}
	r := rand.New(rand.NewPCG(7, 11))
	shapes := [][3]int{{4, 16, 4}, {1, 16, 1}, {3, 17, 5}, {4, 31, 7}, {5, 33, 9}, {8, 64, 8}, {13, 100, 19}, {48, 256, 64}, {50, 300, 70}, {7, 512, 66}}
	for range 20 {
		shapes = append(shapes, [3]int{1 + r.IntN(40), 16 + r.IntN(400), 1 + r.IntN(80)})
	}
	for _, k := range kernels {
		if !k.ok {
			t.Logf("%s: not available on this CPU or build", k.name)
			continue
		}
		for _, s := range shapes {
			T, K, N := s[0], s[1], s[2]
			t.Run(fmt.Sprintf("%s/%dx%dx%d", k.name, T, K, N), func(t *testing.T) {
				x := make([]float32, T*K)
				w := make([]float32, N*K)
				abs := make([]float32, T*N) // Σ|x||w|, the rounding scale
				for i := range x {
					x[i] = float32(r.NormFloat64())
				}
				for i := range w {
					w[i] = float32(r.NormFloat64())
				}
				// A sub-tile with offsets, the K slice at least 16 wide.
				t0, n0 := r.IntN(T), r.IntN(N)
				k0 := r.IntN(K - 15)
				kw := 16 + r.IntN(K-k0-15)
				got := make([]float32, T*N)
				want := make([]float32, T*N)
				for i := range got {
					got[i] = float32(i % 5)
					want[i] = got[i]
				}
				a := operands{out: got, ldo: N, x: x, ldx: K, xk: k0, w: w, ldw: K, wk: k0, kw: kw}
				k.run(&a, t0, T, n0, N)
				b := operands{out: want, ldo: N, x: x, ldx: K, xk: k0, w: w, ldw: K, wk: k0, kw: kw}
				b.tileGo(t0, T, n0, N)
				for i := t0; i < T; i++ {
					for j := n0; j < N; j++ {
						for kk := k0; kk < k0+kw; kk++ {
							abs[i*N+j] += float32(math.Abs(float64(x[i*K+kk] * w[j*K+kk])))
						}
					}
				}
				for i := range got {
					tol := 1e-5*abs[i] + 1e-6
					if d := got[i] - want[i]; d > tol || d < -tol {
						t.Fatalf("out[%d] (row %d col %d, tile from %d,%d, K %d+%d): %s %g, Go %g", i, i/N, i%N, t0, n0, k0, kw, k.name, got[i], want[i])
					}
					if (i/N < t0 || i%N < n0) && got[i] != float32(i%5) {
						t.Fatalf("out[%d] outside the tile changed to %g", i, got[i])
					}
				}
			})
		}
	}
}

// TestMM1zMatchesMM8z: the one-row kernel gives every row and column the
// bits mm8z gives it, for every column count (quads, a pair, a single) and
// with partial sums already in out.
func TestMM1zMatchesMM8z(t *testing.T) {
	if !haveAVX512 {
		t.Skip("no AVX-512 kernels on this CPU or build")
	}
	r := rand.New(rand.NewPCG(9, 9))
	for cols := 1; cols <= 11; cols++ {
		for _, K := range []int{16, 48, 1024, 5, 17, 255, 1000} { // with K tails (masked)
			pairs := (cols + 1) / 2
			x := randWeights(r, 8*K, 1)
			w := randWeights(r, 2*pairs*K, 1)
			init := randWeights(r, 8*2*pairs, 1)
			want := append([]float32(nil), init...)
			mm8z(&x[0], K, &w[0], K, &want[0], 2*pairs, K, pairs, 0, 0)
			for row := range 8 {
				got := append([]float32(nil), init[row*2*pairs:(row+1)*2*pairs]...)
				mm1z(&x[row*K], &w[0], K, &got[0], K, cols, uintptr(unsafe.Pointer(&w[0])), row%3)
				for c := range 2 * pairs {
					w := want[row*2*pairs+c]
					if c >= cols {
						w = init[row*2*pairs+c] // past cols: untouched
					}
					if math.Float32bits(got[c]) != math.Float32bits(w) {
						t.Fatalf("cols %d K %d row %d col %d: mm1z %v, mm8z %v", cols, K, row, c, got[c], w)
					}
				}
			}
		}
	}
}

// TestMM3yMatchesDot3x4: the AVX2 kernels whose column loop is in the
// assembly (mm3y, mm1y) give dot3x4's and dot1x4's sums bit for bit, so
// moving a tile onto them changes no result.
func TestMM3yMatchesDot3x4(t *testing.T) {
	if !haveSIMD {
		t.Skip("no AVX2+FMA kernels on this CPU or build")
	}
	r := rand.New(rand.NewPCG(3, 5))
	for trial := range 40 {
		T, N := 1+r.IntN(20), 4+r.IntN(70)
		K := 8 * (1 + r.IntN(80))
		ldx, ldw := K+8*r.IntN(3), K+8*r.IntN(3)
		x := make([]float32, T*ldx)
		w := make([]float32, N*ldw)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		for i := range w {
			w[i] = float32(r.NormFloat64())
		}
		got := make([]float32, T*N)
		want := make([]float32, T*N)
		for i := range got {
			got[i] = float32(r.NormFloat64())
			want[i] = got[i]
		}
		t0, n0 := r.IntN(T), r.IntN(N-3)
		xk, wk := r.IntN(ldx-K+1), r.IntN(ldw-K+1) // the K slice's offsets
		a := operands{out: got, ldo: N, x: x, ldx: ldx, xk: xk, w: w, ldw: ldw, wk: wk, kw: K}
		a.tileSIMDRows(t0, T, n0, N)
		b := operands{out: want, ldo: N, x: x, ldx: ldx, xk: xk, w: w, ldw: ldw, wk: wk, kw: K}
		b.tileSIMDBlocks(t0, T, n0, N)
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("trial %d (%d×%d×%d from row %d col %d): out[%d] = %v, dot3x4 path %v", trial, T, K, N, t0, n0, i, got[i], want[i])
			}
		}
	}
}
