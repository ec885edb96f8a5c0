package cpu

// operands locates the x and w rows of one K slice of a matmul tile: row
// i of x is x[i*ldx+xk : +kw], row j of w is w[(j−wrow)*ldw+wk : +kw], and
// out[i*ldo+j] accumulates their product. The float32 matmul points w at
// the whole weight; the stored-format matmul at a decoded panel. Both run
// the same kernels, so their sums are identical.
type operands struct {
	out      []float32
	ldo      int
	x        []float32
	ldx, xk  int
	w        []float32
	ldw      int
	wrow, wk int
	kw       int
}

func (a *operands) xr(i int) []float32 { return a.x[i*a.ldx+a.xk : i*a.ldx+a.xk+a.kw] }
func (a *operands) wr(j int) []float32 {
	o := (j-a.wrow)*a.ldw + a.wk
	return a.w[o : o+a.kw]
}

// tileSIMD adds the tile's products with 3×4 register tiles of 8-wide FMA
// accumulators (dot3x4), 1×4 for leftover rows, and scalar Go for leftover
// columns and the K tail past the last multiple of 8.
func (a *operands) tileSIMD(t0, t1, n0, n1 int) {
	kn := a.kw &^ 7
	N, out := a.ldo, a.out
	var acc [12]float32
	var acc4 [4]float32
	i := t0
	for ; i+3 <= t1; i += 3 {
		xs := [3][]float32{a.xr(i), a.xr(i + 1), a.xr(i + 2)}
		j := n0
		for ; j+4 <= n1; j += 4 {
			ws := [4][]float32{a.wr(j), a.wr(j + 1), a.wr(j + 2), a.wr(j + 3)}
			dot3x4(&xs[0][0], &xs[1][0], &xs[2][0], &ws[0][0], &ws[1][0], &ws[2][0], &ws[3][0], kn, &acc)
			for r := range 3 {
				o := out[(i+r)*N+j : (i+r)*N+j+4]
				for c := range 4 {
					s := acc[r*4+c]
					if kn < len(xs[r]) {
						s += dot(xs[r][kn:], ws[c][kn:])
					}
					o[c] += s
				}
			}
		}
		for ; j < n1; j++ {
			wj := a.wr(j)
			for r := range 3 {
				out[(i+r)*N+j] += dot(xs[r], wj)
			}
		}
	}
	for ; i < t1; i++ {
		xi := a.xr(i)
		j := n0
		for ; j+4 <= n1; j += 4 {
			ws := [4][]float32{a.wr(j), a.wr(j + 1), a.wr(j + 2), a.wr(j + 3)}
			dot1x4(&xi[0], &ws[0][0], &ws[1][0], &ws[2][0], &ws[3][0], kn, &acc4)
			o := out[i*N+j : i*N+j+4]
			for c := range 4 {
				s := acc4[c]
				if kn < len(xi) {
					s += dot(xi[kn:], ws[c][kn:])
				}
				o[c] += s
			}
		}
		for ; j < n1; j++ {
			out[i*N+j] += dot(xi, a.wr(j))
		}
	}
}

// tile adds the tile's products with the widest kernels this CPU has:
// AVX-512 4×4 tiles, AVX2 3×4 tiles, or pure Go.
func (a *operands) tile(t0, t1, n0, n1 int) {
	switch {
	case haveAVX512 && a.kw >= 16:
		a.tileAVX512(t0, t1, n0, n1)
	case haveSIMD && a.kw >= 8:
		a.tileSIMD(t0, t1, n0, n1)
	default:
		a.tileGo(t0, t1, n0, n1)
	}
}

// tileAVX512 covers the tile's whole 4×4 blocks with mm4z (16-wide FMA
// over K, one call per four rows; the K tail past the last multiple of 16
// in scalar Go) and hands the leftover rows and columns to tileSIMD.
// Needs kw ≥ 16.
func (a *operands) tileAVX512(t0, t1, n0, n1 int) {
	kn := a.kw &^ 15
	N, out := a.ldo, a.out
	t8 := t0 + (t1-t0)&^7
	n2 := n0 + (n1-n0)&^1
	if n2 > n0 && t8 > t0 {
		_ = a.x[(t8-1)*a.ldx+a.xk+a.kw-1]
		_ = a.wr(n2 - 1)
		_ = out[(t8-1)*N+n2-1]
		w := a.wr(n0)
		for i := t0; i < t8; i += 8 {
			x := a.xr(i)
			mm8z(&x[0], a.ldx, &w[0], a.ldw, &out[i*N+n0], N, kn, (n2-n0)/2)
			if kn < a.kw {
				for r := i; r < i+8; r++ {
					xr := a.xr(r)[kn:]
					for j := n0; j < n2; j++ {
						out[r*N+j] += dot(xr, a.wr(j)[kn:])
					}
				}
			}
		}
		if n2 < n1 {
			a.tileSIMD(t0, t8, n2, n1)
		}
		t0 = t8
	}
	t4 := t0 + (t1-t0)&^3
	n4 := n0 + (n1-n0)&^3
	if n4 > n0 && t4 > t0 {
		// The last element each call touches, so the slicing checks bounds.
		_ = a.x[(t4-1)*a.ldx+a.xk+a.kw-1]
		_ = a.wr(n4 - 1)
		_ = out[(t4-1)*N+n4-1]
		w := a.wr(n0)
		for i := t0; i < t4; i += 4 {
			x := a.xr(i)
			mm4z(&x[0], a.ldx, &w[0], a.ldw, &out[i*N+n0], N, kn, (n4-n0)/4)
			if kn < a.kw {
				for r := i; r < i+4; r++ {
					xr := a.xr(r)[kn:]
					for j := n0; j < n4; j++ {
						out[r*N+j] += dot(xr, a.wr(j)[kn:])
					}
				}
			}
		}
	}
	if n4 < n1 && t0 < t4 {
		a.tileSIMD(t0, t4, n4, n1)
	}
	if t4 < t1 {
		a.tileSIMD(t4, t1, n0, n1)
	}
}

// tileGo is tileSIMD in pure Go (2×4 and 1×4 register tiles).
func (a *operands) tileGo(t0, t1, n0, n1 int) {
	N, out := a.ldo, a.out
	i := t0
	for ; i+2 <= t1; i += 2 {
		x0, x1 := a.xr(i), a.xr(i+1)
		j := n0
		for ; j+4 <= n1; j += 4 {
			kernel2x4(out[i*N+j:], N, x0, x1, a.wr(j), a.wr(j+1), a.wr(j+2), a.wr(j+3))
		}
		for ; j < n1; j++ {
			wj := a.wr(j)
			out[i*N+j] += dot(x0, wj)
			out[(i+1)*N+j] += dot(x1, wj)
		}
	}
	for ; i < t1; i++ {
		xi := a.xr(i)
		j := n0
		for ; j+4 <= n1; j += 4 {
			kernel1x4(out[i*N+j:i*N+j+4], xi, a.wr(j), a.wr(j+1), a.wr(j+2), a.wr(j+3))
		}
		for ; j < n1; j++ {
			out[i*N+j] += dot(xi, a.wr(j))
		}
	}
}
