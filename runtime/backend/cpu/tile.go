package cpu

import "sync"

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
	pf       *prefetcher // nil: no prefetching
}

// prefetcher spreads software prefetches of the weight bytes a task will
// decode next over the kernel calls of the current one: lines of 64 bytes
// from addr, at most per before each register block. The stored-format
// matmul is otherwise stalled on memory while it decodes a panel; this way
// the bytes stream in while the FMAs run. Prefetching never faults, so
// addresses are plain numbers.
type prefetcher struct {
	addr uintptr
	left int // lines not yet prefetched
	per  int // lines per register block
}

// take returns the address and the lines per block for a call covering
// blocks register blocks, and advances past them.
func (p *prefetcher) take(blocks int) (uintptr, int) {
	if p == nil || p.left <= 0 || blocks <= 0 {
		return 0, 0
	}
	per := min(p.per, (p.left+blocks-1)/blocks)
	a := p.addr
	p.addr += uintptr(64 * per * blocks)
	p.left -= per * blocks
	return a, per
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
	if a.kw%8 == 0 && n1-n0 >= 4 {
		a.tileSIMDRows(t0, t1, n0, n1)
		return
	}
	a.tileSIMDBlocks(t0, t1, n0, n1)
}

// tileSIMDBlocks is tileSIMD one dot3x4 (dot1x4) register block at a time,
// with the K tail and leftover columns in Go.
func (a *operands) tileSIMDBlocks(t0, t1, n0, n1 int) {
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

// tileSIMDRows is tileSIMD for a K slice without a tail past the last
// multiple of 8: the 4-column groups of each 3-row (then 1-row) block run
// in one mm3y (mm1y) call, with the same sums; leftover columns as
// tileSIMD's.
func (a *operands) tileSIMDRows(t0, t1, n0, n1 int) {
	N, out := a.ldo, a.out
	groups := (n1 - n0) / 4
	n4 := n0 + 4*groups
	w0 := &a.w[(n0-a.wrow)*a.ldw+a.wk]
	i := t0
	for ; i+3 <= t1; i += 3 {
		// The slices bound-check the last row and column the kernel touches.
		_ = a.xr(i + 2)
		_ = a.wr(n4 - 1)
		_ = out[(i+2)*N+n4-1]
		mm3y(&a.x[i*a.ldx+a.xk], a.ldx, w0, a.ldw, &out[i*N+n0], N, a.kw, groups)
		for j := n4; j < n1; j++ {
			wj := a.wr(j)
			for r := range 3 {
				out[(i+r)*N+j] += dot(a.xr(i+r), wj)
			}
		}
	}
	for ; i < t1; i++ {
		xi := a.xr(i)
		_ = a.wr(n4 - 1)
		_ = out[i*N+n4-1]
		mm1y(&xi[0], w0, a.ldw, &out[i*N+n0], a.kw, groups)
		for j := n4; j < n1; j++ {
			out[i*N+j] += dot(xi, a.wr(j))
		}
	}
}

// tile adds the tile's products with the widest kernels this CPU has:
// AVX-512 8×2 tiles, AVX2 3×4 tiles, NEON 4×4 tiles, or pure Go.
func (a *operands) tile(t0, t1, n0, n1 int) {
	switch {
	case haveAVX512 && a.kw >= 16:
		a.tileAVX512(t0, t1, n0, n1)
	case haveSIMD && a.kw >= 8:
		a.tileSIMD(t0, t1, n0, n1)
	case haveNEON && a.kw >= 4:
		a.tileNEON(t0, t1, n0, n1)
	default:
		a.tileGo(t0, t1, n0, n1)
	}
}

// tileNEON covers the tile's 4-column groups with mm4x4n, four rows at a
// time, and the rows past the last multiple of four with mm1x4n, whose
// sums are mm4x4n's: a row gets the same bits wherever it sits in the
// tile. The K tail past the last multiple of 4 is then added in Go, and
// leftover columns are Go dot products. Needs kw ≥ 4.
func (a *operands) tileNEON(t0, t1, n0, n1 int) {
	N, out := a.ldo, a.out
	kn := a.kw &^ 3
	groups := (n1 - n0) / 4
	n4 := n0 + 4*groups
	if groups > 0 {
		// The slices bound-check the last row and column the kernels touch.
		_ = a.xr(t1 - 1)
		_ = a.wr(n4 - 1)
		_ = out[(t1-1)*N+n4-1]
		w0 := &a.w[(n0-a.wrow)*a.ldw+a.wk]
		i := t0
		for ; i+4 <= t1; i += 4 {
			mm4x4n(&a.x[i*a.ldx+a.xk], a.ldx, w0, a.ldw, &out[i*N+n0], N, kn, groups)
		}
		for ; i < t1; i++ {
			mm1x4n(&a.x[i*a.ldx+a.xk], w0, a.ldw, &out[i*N+n0], kn, groups)
		}
		if kn < a.kw {
			for i := t0; i < t1; i++ {
				xt := a.xr(i)[kn:]
				for j := n0; j < n4; j++ {
					out[i*N+j] += dot(xt, a.wr(j)[kn:])
				}
			}
		}
	}
	for j := n4; j < n1; j++ {
		wj := a.wr(j)
		for i := t0; i < t1; i++ {
			out[i*N+j] += dot(a.xr(i), wj)
		}
	}
}

// mm1zRows is the most leftover rows (past the last multiple of eight)
// that run one at a time on mm1z rather than in a zero-padded mm8z block:
// mm1z streams the weight once per row at about half mm8z's rate, the
// padded block computes eight rows for these few.
const mm1zRows = 3

// tileAVX512 covers the tile's column pairs with mm8z (16-wide FMA over K,
// eight rows per call; the K tail past the last multiple of 16 as one
// more masked 16-lane step) and hands a last odd column to tileSIMD.
// Every row gets mm8z's sums: the rows after the last multiple of eight
// run on mm1z (same accumulation and reduction, one row) or, from
// mm1zRows+1 on, are copied into a zero-padded block of eight (with their
// partial sums), so a row's sums are bit-identical wherever it sits in the
// tile and whatever rows share it (batched canvases give the same result
// as one alone). Needs kw ≥ 16.
func (a *operands) tileAVX512(t0, t1, n0, n1 int) {
	kn := a.kw // the kernels read the K tail past a multiple of 16 masked
	N, out := a.ldo, a.out
	n2 := n0 + (n1-n0)&^1
	if n2 > n0 {
		_ = a.x[(t1-1)*a.ldx+a.xk+a.kw-1]
		_ = a.wr(n2 - 1)
		_ = out[(t1-1)*N+n2-1]
		w := a.wr(n0)
		groups := (n2 - n0) / 2
		for i := t0; i < t1; i += 8 {
			rows := min(8, t1-i)
			switch {
			case rows == 8:
				x := a.xr(i)
				pf, per := a.pf.take(groups)
				mm8z(&x[0], a.ldx, &w[0], a.ldw, &out[i*N+n0], N, kn, groups, pf, per)
			case rows <= mm1zRows:
				for r := i; r < i+rows; r++ {
					x := a.xr(r)
					pf, per := a.pf.take((n2 - n0) / 4)
					mm1z(&x[0], &w[0], a.ldw, &out[r*N+n0], kn, n2-n0, pf, per)
				}
			default:
				mm8zPadded(a, i, rows, n0, n2, kn, groups)
			}
		}
	}
	if n2 < n1 {
		a.tileSIMD(t0, t1, n2, n1)
	}
}

// mm8zPadded runs mm8z on rows i..i+rows-1 (fewer than eight) through a
// scratch block: their K slice and partial sums copied in, zero rows after
// them, the sums copied back.
func mm8zPadded(a *operands, i, rows, n0, n2, kn, groups int) {
	width := n2 - n0
	buf := padPool.Get().(*[]float32)
	need := 8*kn + 8*width
	if cap(*buf) < need {
		*buf = make([]float32, need)
	}
	s := (*buf)[:need]
	clear(s)
	xs, os := s[:8*kn], s[8*kn:]
	for r := range rows {
		copy(xs[r*kn:(r+1)*kn], a.xr(i + r)[:kn])
		copy(os[r*width:(r+1)*width], a.out[(i+r)*a.ldo+n0:(i+r)*a.ldo+n2])
	}
	w := a.wr(n0)
	pf, per := a.pf.take(groups)
	mm8z(&xs[0], kn, &w[0], a.ldw, &os[0], width, kn, groups, pf, per)
	for r := range rows {
		copy(a.out[(i+r)*a.ldo+n0:(i+r)*a.ldo+n2], os[r*width:(r+1)*width])
	}
	padPool.Put(buf)
}

var padPool = sync.Pool{New: func() any { return new([]float32) }}

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
