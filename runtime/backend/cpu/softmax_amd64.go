//go:build amd64 && !purego

package cpu

// scaleMax sets x[i] *= s for i < n and returns the largest result; n must
// be a multiple of 8 and x free of NaN. Needs haveSIMD. Implemented in
// softmax_amd64.s.
//
//go:noescape
func scaleMax(x *float32, n int, s float32) float32

// scaleBy sets x[i] *= s for i < n; n must be a multiple of 8. Needs
// haveSIMD.
//
//go:noescape
func scaleBy(x *float32, n int, s float32)

// siluMul sets out[i] = gate[i] / (1 + expf(−gate[i])) · up[i] for i < n, bit for
// bit as the Go loop over expf does; n must be a multiple of 8. Needs
// haveSIMD. out may be gate or up (each value is read before it is written).
//
//go:noescape
func siluMul(out, gate, up *float32, n int)

// siluMul16 is siluMul 16 lanes at a time, the same bits; n must be a
// multiple of 16. Needs haveAVX512.
//
//go:noescape
func siluMul16(out, gate, up *float32, n int)

// siluMulRows sets, for each of rows rows of 32 values, out's row (ldo
// floats apart, holding up) to silu(gate's row, ldg apart) · up, the
// values siluMul gives, 16 lanes at a time. Needs AVX-512F.
//
//go:noescape
func siluMulRows(out, gate *float32, ldo, ldg, rows int)

// addVec sets out[i] = a[i] + b[i] for i < n; n must be a multiple of 8.
// out may be a or b. Needs haveSIMD.
//
//go:noescape
func addVec(out, a, b *float32, n int)

// scaleMulVec sets out[i] = x[i] * s * w[i] (the products in that order,
// as Go rounds them) for i < n; n must be a multiple of 8. out may be x.
// Needs haveSIMD.
//
//go:noescape
func scaleMulVec(out, x, w *float32, n int, s float32)

// ropeHeads rotates heads consecutive heads of 2·half values in row by
// the angles whose cosines and sines are cos and sin (half values each),
// RoPE's rotate-half layout, with the roundings of RoPE's Go loop; half
// must be a positive multiple of 8. Needs haveSIMD.
//
//go:noescape
func ropeHeads(row, cos, sin *float32, heads, half int)
