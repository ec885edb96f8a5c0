package cpu

import (
	"github.com/dream-lsp/dream-lsp/runtime/backend"
)

// Blocking of out[T,N] = x[T,K]·w[N,K]ᵀ. A task is one (row block, column
// block) tile of out; inside it the K dimension is walked in slices of
// blockK so that the x and w panels of a slice (64 rows of 4 KiB each)
// stay in L2 while the register tiles sweep over them. Both operands are
// read along K, which is contiguous for x and for the [out,in] weights
// alike. 1024 rather than 256: longer runs of each weight row for the
// prefetcher and a quarter of the kernels' reductions; measured 20–30%
// faster for both the AVX2 and the AVX-512 kernels (docs/BENCHMARKS.md).
const (
	blockT = 64 // a multiple of the AVX-512 kernel's 8 rows; 48 re-read each weight panel for 16 rows of a 64-row x
	blockN = 64
	blockK = 1024
)

// MatMul implements backend.Backend.
func (b *Backend) MatMul(out, x, w, bias backend.Tensor) error {
	o, err := own("matmul", out)
	if err != nil {
		return err
	}
	xt, err := own("matmul", x)
	if err != nil {
		return err
	}
	ww, stored, err := checkWeight("matmul", w)
	if err != nil {
		return err
	}
	var wt *tensor
	if !stored {
		if wt, err = own("matmul", w); err != nil {
			return err
		}
	}
	T, K, N := xt.rows, xt.cols, w.Rows()
	if w.Cols() != K || o.rows != T || o.cols != N {
		return backend.ShapeError("matmul", "out [%d,%d] = x [%d,%d] · w [%d,%d]ᵀ", o.rows, o.cols, T, K, w.Rows(), w.Cols())
	}
	if o == xt {
		return backend.ShapeError("matmul", "out aliases x")
	}
	var bd []float32
	if bias != nil {
		bt, err := own("matmul", bias)
		if err != nil {
			return err
		}
		if bt.rows*bt.cols != N {
			return backend.ShapeError("matmul", "bias [%d,%d] for %d outputs", bt.rows, bt.cols, N)
		}
		bd = bt.data
	}
	if stored && b.bf16 && amxUsable(ww) && T > 0 {
		b.matmulAMX(o.data, xt.data, ww, bd, T, K)
		return nil
	}
	if stored {
		b.matmulW(o.data, xt.data, ww, bd, T, K, N)
		return nil
	}
	b.matmul(o.data, xt.data, wt.data, bd, T, K, N)
	return nil
}

// taskTile returns the rows [t0,t1) and columns [n0,n1) of matmul task
// number task, with rowTiles tiles of rows rows down out's T rows and
// blockN-wide column blocks across its N columns.
func taskTile(task, rowTiles, rows, T, N int) (t0, t1, n0, n1 int) {
	t0 = (task % rowTiles) * rows
	n0 = (task / rowTiles) * blockN
	return t0, min(t0+rows, T), n0, min(n0+blockN, N)
}

// initOut sets out[t0:t1, n0:n1] to the bias (or zero) before a task
// accumulates into it. Each task sets its own tile, in parallel and while
// the tile is about to be used (a serial pass over a fresh lm_head output,
// 39 MB at Qwen's vocabulary, was 2% of a denoising step).
func initOut(out, bias []float32, N, t0, t1, n0, n1 int) {
	for i := t0; i < t1; i++ {
		row := out[i*N+n0 : i*N+n1]
		if bias != nil {
			copy(row, bias[n0:n1])
		} else {
			clear(row)
		}
	}
}

// addBias adds bias (nil: nothing) to out[t0:t1, n0:n1] after the sums:
// with one K slice what initOut's bias plus the sums gives (addition
// commutes); with several the bias is the last addition instead of the
// first, in the float32 and stored paths alike.
func addBias(out, bias []float32, N, t0, t1, n0, n1 int) {
	if bias == nil {
		return
	}
	for i := t0; i < t1; i++ {
		row := out[i*N+n0 : i*N+n1]
		for j, v := range bias[n0:n1] {
			row[j] += v
		}
	}
}

// matmul is MatMul on raw slices; it overwrites out.
func (b *Backend) matmul(out, x, w, bias []float32, T, K, N int) {
	tilesT := (T + blockT - 1) / blockT
	tilesN := (N + blockN - 1) / blockN
	if bcastWeight(N, K) {
		// As a stored weight of this size (matmulW): the broadcast kernels,
		// each task packing its own columns' K slice into a panel.
		b.parallelTasks(tilesT*tilesN, func(task int) {
			t0, t1, n0, n1 := taskTile(task, tilesT, blockT, T, N)
			pp := panelPool.Get().(*[]float32)
			for k0 := 0; k0 < K; k0 += blockK {
				kw := min(k0+blockK, K) - k0
				panel := packSlice16(*pp, w, K, n0, n1, k0, kw)
				// The first K slice stores its sums (no clearing pass).
				bcastPanel(out, N, x, K, panel, kw, t0, t1, n0, n1, k0, k0 > 0)
			}
			panelPool.Put(pp)
			addBias(out, bias, N, t0, t1, n0, n1)
		})
		return
	}
	b.parallelTasks(tilesT*tilesN, func(task int) {
		t0, t1, n0, n1 := taskTile(task, tilesT, blockT, T, N)
		initOut(out, bias, N, t0, t1, n0, n1)
		for k0 := 0; k0 < K; k0 += blockK {
			k1 := min(k0+blockK, K)
			tileMatMul(out, x, w, K, N, t0, t1, n0, n1, k0, k1)
		}
	})
}

// tileMatMul adds x[t0:t1, k0:k1]·w[n0:n1, k0:k1]ᵀ into out[t0:t1, n0:n1],
// with the widest SIMD kernels the CPU has (operands.tile).
func tileMatMul(out, x, w []float32, K, N, t0, t1, n0, n1, k0, k1 int) {
	a := operands{out: out, ldo: N, x: x, ldx: K, xk: k0, w: w, ldw: K, wk: k0, kw: k1 - k0}
	a.tile(t0, t1, n0, n1)
}

// tileMatMulGo is the pure-Go tileMatMul.
func tileMatMulGo(out, x, w []float32, K, N, t0, t1, n0, n1, k0, k1 int) {
	a := operands{out: out, ldo: N, x: x, ldx: K, xk: k0, w: w, ldw: K, wk: k0, kw: k1 - k0}
	a.tileGo(t0, t1, n0, n1)
}

// kernel2x4 adds the 2×4 block of dot products x_r·w_c into out, whose
// rows are ldo apart. All slices have the same length. Eight accumulators,
// two x values and one w value fit the 15 usable SSE registers, so nothing
// spills in the inner loop.
func kernel2x4(out []float32, ldo int, x0, x1, w0, w1, w2, w3 []float32) {
	n := len(x0)
	x1 = x1[:n]
	w0, w1, w2, w3 = w0[:n], w1[:n], w2[:n], w3[:n]
	var c00, c01, c02, c03, c10, c11, c12, c13 float32
	for k := range x0 {
		a0, a1 := x0[k], x1[k]
		b := w0[k]
		c00 += a0 * b
		c10 += a1 * b
		b = w1[k]
		c01 += a0 * b
		c11 += a1 * b
		b = w2[k]
		c02 += a0 * b
		c12 += a1 * b
		b = w3[k]
		c03 += a0 * b
		c13 += a1 * b
	}
	r := out[:4]
	r[0] += c00
	r[1] += c01
	r[2] += c02
	r[3] += c03
	r = out[ldo : ldo+4]
	r[0] += c10
	r[1] += c11
	r[2] += c12
	r[3] += c13
}

// kernel1x4 adds x·w0..w3 into out[0:4].
func kernel1x4(out, x, w0, w1, w2, w3 []float32) {
	n := len(x)
	w0, w1, w2, w3 = w0[:n], w1[:n], w2[:n], w3[:n]
	var c0, c1, c2, c3 float32
	for k, a := range x {
		c0 += a * w0[k]
		c1 += a * w1[k]
		c2 += a * w2[k]
		c3 += a * w3[k]
	}
	out = out[:4]
	out[0] += c0
	out[1] += c1
	out[2] += c2
	out[3] += c3
}

// dot returns a·b over len(a) elements, with four partial sums.
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	k := 0
	for ; k+4 <= len(a); k += 4 {
		s0 += a[k] * b[k]
		s1 += a[k+1] * b[k+1]
		s2 += a[k+2] * b[k+2]
		s3 += a[k+3] * b[k+3]
	}
	for ; k < len(a); k++ {
		s0 += a[k] * b[k]
	}
	return (s0 + s1) + (s2 + s3)
}

// gemmNT sets out[i*ldo+j] = Σ_{k<K} x[i*ldx+k]·w[j*ldw+k] for i < T,
// j < N: a strided x·wᵀ for operands that are not whole tensors (the
// per-head slices of attention). It runs on the matmul tile kernels
// (operands.tile: AVX-512 where the CPU has it), so a row's result does not
// depend on the rows beside it. It is single-threaded.
func gemmNT(out []float32, ldo int, x []float32, ldx int, w []float32, ldw int, T, N, K int) {
	for i := range T {
		clear(out[i*ldo : i*ldo+N])
	}
	if K == 0 || T == 0 || N == 0 {
		return
	}
	a := operands{out: out, ldo: ldo, x: x, ldx: ldx, w: w, ldw: ldw, kw: K}
	a.tile(0, T, 0, N)
}

// MatMuls sets outs[i] = x·ws[i]ᵀ (+ biases[i] unless nil) in one pass
// where every weight is on the AMX tiles (SetBF16Matmul): x is rounded
// to bf16 once for all of them, and their column blocks are the tasks of
// one parallel region, so a layer's query, key and value projections
// convert their input once and share one wait instead of three. Every
// value is MatMul's, bit for bit. It reports false, doing nothing, where
// some weight cannot run that way (the float32 kernels, a weight the
// tiles do not take).
func (b *Backend) MatMuls(outs []backend.Tensor, x backend.Tensor, ws, biases []backend.Tensor) (bool, error) {
	if len(ws) != len(outs) || len(biases) != len(ws) {
		return false, backend.ShapeError("matmuls", "%d outputs, %d weights, %d biases", len(outs), len(ws), len(biases))
	}
	if !b.bf16 {
		return false, nil
	}
	prods := make([]amxProduct, len(ws))
	for i, w := range ws {
		ww, stored, err := checkWeight("matmuls", w)
		if err != nil {
			return false, err
		}
		if !stored || !amxUsable(ww) {
			return false, nil
		}
		prods[i].w = ww
	}
	xt, err := own("matmuls", x)
	if err != nil {
		return false, err
	}
	T, K := xt.rows, xt.cols
	for i := range prods {
		w := prods[i].w
		o, err := own("matmuls", outs[i])
		if err != nil {
			return false, err
		}
		if w.cols != K || o.rows != T || o.cols != w.rows {
			return false, backend.ShapeError("matmuls", "out [%d,%d] = x [%d,%d] · w [%d,%d]ᵀ", o.rows, o.cols, T, K, w.rows, w.cols)
		}
		if o == xt {
			return false, backend.ShapeError("matmuls", "out aliases x")
		}
		prods[i].out = o.data
		if biases[i] != nil {
			bt, err := own("matmuls", biases[i])
			if err != nil {
				return false, err
			}
			if bt.rows*bt.cols != w.rows {
				return false, backend.ShapeError("matmuls", "bias [%d,%d] for %d outputs", bt.rows, bt.cols, w.rows)
			}
			prods[i].bias = bt.data
		}
	}
	if T > 0 {
		b.matmulsAMX(prods, xt.data, T, K)
	}
	return true, nil
}

// SwiGLU sets out to silu(x·gateᵀ) ⊙ (x·upᵀ), the MLP's first half, in
// one pass where both weights are on the AMX tiles (SetBF16Matmul): the
// gate product stays in each task's scratch and the up product becomes
// the result where it lands, instead of both going to memory and back;
// every value is the one MatMul, MatMul and SiLUMul give. It reports
// false, changing nothing, where that pass does not apply (the float32
// kernels, a weight the tiles do not take); the caller then runs those
// three operations.
func (b *Backend) SwiGLU(out, x, gate, up backend.Tensor) (bool, error) {
	gw, gs, err := checkWeight("swiglu", gate)
	if err != nil {
		return false, err
	}
	uw, us, err := checkWeight("swiglu", up)
	if err != nil {
		return false, err
	}
	if !b.bf16 || !gs || !us || !amxUsable(gw) || !amxUsable(uw) {
		return false, nil
	}
	o, err := own("swiglu", out)
	if err != nil {
		return false, err
	}
	xt, err := own("swiglu", x)
	if err != nil {
		return false, err
	}
	T, K, N := xt.rows, xt.cols, gw.rows
	if gw.cols != K || uw.cols != K || uw.rows != N || o.rows != T || o.cols != N {
		return false, backend.ShapeError("swiglu", "out [%d,%d] = x [%d,%d] · gate [%d,%d]ᵀ, up [%d,%d]ᵀ", o.rows, o.cols, T, K, gw.rows, gw.cols, uw.rows, uw.cols)
	}
	if o == xt {
		return false, backend.ShapeError("swiglu", "out aliases x")
	}
	if T > 0 {
		b.swiGLUAMX(o.data, xt.data, gw, uw, T, K, N)
	}
	return true, nil
}
