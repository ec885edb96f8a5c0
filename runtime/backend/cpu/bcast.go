package cpu

import "unsafe"

// useBcast reports whether small decoded weights are packed for the
// broadcast kernels (mm6x16; mm6x32z on AVX-512): on CPUs with AVX2, and
// on every arm64 CPU (NEON, neon_arm64.s). The dot-product tiles end
// every output with a horizontal sum, which for the built-in model's
// short rows (K = 192) costs about as much as the FMAs; the broadcast
// kernels keep each output in its own lane (1.2-1.3× the 3×4 tiles' rate
// on the built-in model's shapes, BenchmarkBcastVsTile). Each output is
// one FMA chain in K order, so the sums are the same bits on both.
var useBcast = haveVecOps

// packPanels16 lays a row-major [n,k] weight (n a multiple of 16) out as
// mm6x16 reads it: panels of 16 consecutive rows, each K-major (the 16
// values of column j of the panel's rows side by side).
func packPanels16(w []float32, n, k int) []float32 {
	return packSlice16(make([]float32, n*k), w, k, 0, n, 0, k)
}

// packSlice16 packs columns k0..k0+kw of rows n0..n1 (a multiple of 16
// apart) of a row-major [*,K] weight into dst as packPanels16 lays out a
// whole weight: 16-row panels, K-major, 16·kw values apart.
func packSlice16(dst, w []float32, K, n0, n1, k0, kw int) []float32 {
	dst = dst[:(n1-n0)*kw]
	for p := 0; p < (n1-n0)/16; p++ {
		pan := dst[p*16*kw : (p+1)*16*kw]
		for c := range 16 {
			row := w[(n0+16*p+c)*K+k0 : (n0+16*p+c)*K+k0+kw]
			for j, v := range row {
				pan[16*j+c] = v
			}
		}
	}
	return dst
}

// bcastWeight reports whether an [n,k] weight multiplies on the broadcast
// kernels: useBcast, whole 16-row panels, and small enough (decodedMax)
// that a stored weight keeps its packed copy and a float32 one is packed
// per call at a small share of the call's work. The float32 and stored
// paths decide alike, so a weight gives the same sums in either.
func bcastWeight(n, k int) bool {
	return useBcast && n%16 == 0 && k > 0 && n*k <= decodedMax
}

// bcastBlock adds x[t0:t1, xk:xk+k]·wᵀ into out[t0:t1, n0:n0+16·panels]
// on the broadcast kernels, the weight read from w as mm6x16 reads it
// (panels pstride values apart, step j of a panel jstride values on):
// six rows at a time on mm6x16, then three on mm3x16, the rest one at a
// time on mm1x16 (on AVX-512 their 32-column mm*x32z for pairs of
// panels), all of which give a row the same sums. add false stores the
// sums instead of adding them to out (whose old values are then not
// read). Callers check the weight's bounds; k ≥ 1 and panels ≥ 1.
func bcastBlock(out []float32, ldo int, x []float32, ldx, xk int, w *float32, k, pstride, jstride, t0, t1, n0, panels int, add bool) {
	n1 := n0 + 16*panels
	a := 0
	if add {
		a = 1
	}
	i := t0
	pairs := 0
	if haveAVX512 {
		pairs = panels / 2 // 32 columns at a time in 512-bit registers
	}
	// The odd last panel, on the 256-bit kernels. Only formed when there
	// is one: a pointer past the weight's end would be invalid even unused.
	var wLast *float32
	if panels > 2*pairs {
		wLast = (*float32)(unsafe.Add(unsafe.Pointer(w), 4*2*pairs*pstride))
	}
	for ; i+6 <= t1; i += 6 {
		_ = x[(i+5)*ldx+xk+k-1]
		_ = out[(i+5)*ldo+n1-1]
		if pairs > 0 {
			mm6x32z(&x[i*ldx+xk], ldx, w, k, pstride, jstride, &out[i*ldo+n0], ldo, pairs, a)
		}
		if panels > 2*pairs {
			mm6x16(&x[i*ldx+xk], ldx, wLast, k, pstride, jstride, &out[i*ldo+n0+32*pairs], ldo, panels-2*pairs, a)
		}
	}
	if i+3 <= t1 {
		_ = x[(i+2)*ldx+xk+k-1]
		_ = out[(i+2)*ldo+n1-1]
		if pairs > 0 {
			mm3x32z(&x[i*ldx+xk], ldx, w, k, pstride, jstride, &out[i*ldo+n0], ldo, pairs, a)
		}
		if panels > 2*pairs {
			mm3x16(&x[i*ldx+xk], ldx, wLast, k, pstride, jstride, &out[i*ldo+n0+32*pairs], ldo, panels-2*pairs, a)
		}
		i += 3
	}
	for ; i < t1; i++ {
		_ = x[i*ldx+xk+k-1]
		_ = out[i*ldo+n1-1]
		if pairs > 0 {
			mm1x32z(&x[i*ldx+xk], w, k, pstride, jstride, &out[i*ldo+n0], pairs, a)
		}
		if panels > 2*pairs {
			mm1x16(&x[i*ldx+xk], wLast, k, pstride, jstride, &out[i*ldo+n0+32*pairs], panels-2*pairs, a)
		}
	}
}

// bcastRows adds (add false: stores) x[t0:t1, k0:k0+kw]·wᵀ into out[t0:t1, n0:n1] from the
// packed weight wp (packPanels16 of a [N,K] weight; n0 and n1 multiples
// of 16).
func bcastRows(out []float32, ldo int, x []float32, ldx int, wp []float32, K, t0, t1, n0, n1, k0, kw int, add bool) {
	if kw == 0 || n1 <= n0 {
		return
	}
	_ = wp[(n1/16-1)*16*K+16*(k0+kw)-1]
	bcastBlock(out, ldo, x, ldx, k0, &wp[(n0/16)*16*K+16*k0], kw, 16*K, 16, t0, t1, n0, (n1-n0)/16, add)
}

// bcastPanel is bcastRows over a packSlice16 panel of columns n0..n1 and
// the K slice from k0 (kw wide): the same kernels, the same sums.
func bcastPanel(out []float32, ldo int, x []float32, ldx int, panel []float32, kw, t0, t1, n0, n1, k0 int, add bool) {
	if kw == 0 || n1 <= n0 {
		return
	}
	panels := (n1 - n0) / 16
	_ = panel[panels*16*kw-1]
	bcastBlock(out, ldo, x, ldx, k0, &panel[0], kw, 16*kw, 16, t0, t1, n0, panels, add)
}

// gemmNN sets out[i*ldo+j] = Σ_{k<K} x[i*ldx+k]·v[k*ldv+j] for i < T,
// j < N (N a multiple of 16) on the broadcast kernels, reading v's rows
// as they are: attention's P·V straight from V, without the transposed
// copy the dot-product tiles need (useBcast). Single-threaded; each row's
// sums do not depend on the rows beside it.
func gemmNN(out []float32, ldo int, x []float32, ldx int, v []float32, ldv int, T, N, K int) {
	if K == 0 || T == 0 || N == 0 {
		for i := range T {
			clear(out[i*ldo : i*ldo+N])
		}
		return
	}
	_ = v[(K-1)*ldv+N-1]
	bcastBlock(out, ldo, x, ldx, 0, &v[0], K, 16, ldv, 0, T, 0, N/16, false)
}
