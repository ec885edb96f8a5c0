//go:build amd64 && !purego

package cpu

import "golang.org/x/sys/cpu"

// haveSIMD reports whether the AVX2+FMA dot-product kernels in
// dot_amd64.s can run on this CPU. The pure-Go kernels are used otherwise
// (and on every build with the purego tag).
var haveSIMD = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// haveVecOps reports whether the vector kernels amd64 and arm64 both
// have can run: the broadcast matmuls (mm6x16, mm3x16, mm1x16), the
// elementwise ones (softmax's scaleMax, expSubSum and scaleBy; siluMul,
// addVec, scaleMulVec, ropeHeads) and decodeBF16. They are AVX2+FMA code
// here.
var haveVecOps = haveSIMD

// dot3x4 sets out[r*4+c] = Σ_{k<n} x_r[k]·w_c[k] for three x rows and four
// w rows; n must be a multiple of 8. Implemented in dot_amd64.s.
//
//go:noescape
func dot3x4(x0, x1, x2, w0, w1, w2, w3 *float32, n int, out *[12]float32)

// dot1x4 sets out[c] = Σ_{k<n} x[k]·w_c[k]; n must be a multiple of 8.
//
//go:noescape
func dot1x4(x, w0, w1, w2, w3 *float32, n int, out *[4]float32)

// expSubSum sets x[i] = exp(x[i]−m) for i < n and returns their sum; n
// must be a multiple of 8 and m at least every x[i] (softmax). Same
// accuracy as expf. Implemented in dot_amd64.s.
//
//go:noescape
func expSubSum(x *float32, n int, m float32) float32

// mm3y adds a 3-row × 4·groups-column block of x·wᵀ into out: for
// g < groups, r < 3, c < 4, out[r*ldo+4g+c] += Σ_{k<n} x[r*ldx+k]·w[(4g+c)*ldw+k],
// every sum accumulated and reduced as dot3x4's. The column loop is in
// the assembly, so one call covers a tile's width (the per-block Go work
// of dot3x4's callers cost a fifth of a small model's forward pass). n
// must be a multiple of 8 and groups at least 1. Implemented in
// tile_avx2_amd64.s.
//
//go:noescape
func mm3y(x *float32, ldx int, w *float32, ldw int, out *float32, ldo int, n, groups int)

// mm1y is mm3y for one x row, with dot1x4's sums.
//
//go:noescape
func mm1y(x *float32, w *float32, ldw int, out *float32, n, groups int)

// mm6x16 adds a 6-row × 16·panels-column block of x·wᵀ into out from a
// weight packed in 16-row panels, K-major (packPanels16: pstride values
// apart, jstride 16), or from a row-major [k, n] matrix (pstride 16,
// jstride its row stride): for p < panels, r < 6, c < 16,
// out[r*ldo+16p+c] += Σ_{j<k} x[r*ldx+j]·wp[p*pstride+j*jstride+c].
// Every output accumulates in its own lane, one j at a time (FMA), so
// there are no horizontal sums; mm1x16 gives a lone row the same sums.
// With add = 0 the sums are stored instead of added to out (out's old
// values are not read: the caller need not clear it). k must be at least
// 1. Implemented in bcast_avx2_amd64.s.
//
//go:noescape
func mm6x16(x *float32, ldx int, wp *float32, k, pstride, jstride int, out *float32, ldo int, panels int, add int)

// mm1x16 is mm6x16 for one x row.
//
//go:noescape
func mm1x16(x *float32, wp *float32, k, pstride, jstride int, out *float32, panels int, add int)

// mm3x16 is mm6x16 for three x rows (the rows a block of six leaves).
//
//go:noescape
func mm3x16(x *float32, ldx int, wp *float32, k, pstride, jstride int, out *float32, ldo int, panels int, add int)
