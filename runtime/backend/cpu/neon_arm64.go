//go:build arm64 && !purego

package cpu

// NEON (Advanced SIMD) is part of every arm64 CPU Go runs on, so its
// kernels need no feature check: Apple silicon, Graviton, Ampere and the
// Raspberry Pi 4 and 5 all multiply with them.

// haveVecOps: the kernels amd64 has in AVX2 (the broadcast matmuls, the
// elementwise ones, decodeBF16) run here in NEON on every arm64 CPU.
const haveVecOps = true

// haveNEON: the dot-product tiles (mm4x4n, mm1x4n) run on every arm64 CPU.
const haveNEON = true

// mm6x16 adds a 6-row × 16·panels-column block of x·wᵀ into out, exactly
// as the amd64 kernel of the same name does (dot_amd64.go): each output
// one FMA chain over j in its own lane, started from zero, then added to
// out (add ≠ 0) or stored. The sums are the amd64 kernels' bit for bit.
// k ≥ 1. Implemented in neon_arm64.s.
//
//go:noescape
func mm6x16(x *float32, ldx int, wp *float32, k, pstride, jstride int, out *float32, ldo int, panels int, add int)

// mm1x16 is mm6x16 for one x row.
//
//go:noescape
func mm1x16(x *float32, wp *float32, k, pstride, jstride int, out *float32, panels int, add int)

// mm3x16 is mm6x16 for three x rows.
//
//go:noescape
func mm3x16(x *float32, ldx int, wp *float32, k, pstride, jstride int, out *float32, ldo int, panels int, add int)

// mm4x4n adds a 4-row × 4·groups-column block of x·wᵀ into out: for
// g < groups, r < 4, c < 4,
// out[r*ldo+4g+c] += Σ_{k<n} x[r*ldx+k]·w[(4g+c)*ldw+k].
// Each sum runs in four lanes (lane l takes k ≡ l mod 4, one FMA at a
// time) reduced as (l0+l1)+(l2+l3), then added to out. n must be a
// positive multiple of 4 and groups at least 1. Implemented in
// neon_arm64.s.
//
//go:noescape
func mm4x4n(x *float32, ldx int, w *float32, ldw int, out *float32, ldo int, n, groups int)

// mm1x4n is mm4x4n for one x row, with the same sums.
//
//go:noescape
func mm1x4n(x *float32, w *float32, ldw int, out *float32, n, groups int)

// scaleMax sets x[i] *= s for i < n and returns the largest result; n must
// be a positive multiple of 8 and x free of NaN. Implemented in
// neon_arm64.s.
//
//go:noescape
func scaleMax(x *float32, n int, s float32) float32

// scaleBy sets x[i] *= s for i < n; n must be a positive multiple of 8.
//
//go:noescape
func scaleBy(x *float32, n int, s float32)

// expSubSum sets x[i] = exp(x[i]−m) for i < n and returns their sum: the
// amd64 kernel's operations in the same order (Cody–Waite reduction with
// FMA, the degree-6 polynomial by FMA, 2^n in the exponent bits; eight
// running sums reduced as ((s0+s4)+(s1+s5))+((s2+s6)+(s3+s7))), so the
// same bits on both. n must be a positive multiple of 8 and m at least
// every x[i].
//
//go:noescape
func expSubSum(x *float32, n int, m float32) float32

// siluMul sets out[i] = gate[i] / (1 + expf(−gate[i])) · up[i] for i < n,
// bit for bit as the Go loop over expf does (the same float32 operations
// in the same order, no FMA, expf's edges as selects); n must be a
// positive multiple of 8. out may be gate or up. Implemented in
// neon_arm64.s.
//
//go:noescape
func siluMul(out, gate, up *float32, n int)

// addVec sets out[i] = a[i] + b[i] for i < n; n must be a positive
// multiple of 8. out may be a or b.
//
//go:noescape
func addVec(out, a, b *float32, n int)

// scaleMulVec sets out[i] = x[i] * s * w[i] (the products in that order,
// each rounded) for i < n; n must be a positive multiple of 8. out may
// be x.
//
//go:noescape
func scaleMulVec(out, x, w *float32, n int, s float32)

// ropeHeads rotates heads consecutive heads of 2·half values in row by
// the angles whose cosines and sines are cos and sin (half values each),
// every product and sum rounded on its own, as RoPE's Go loop and the
// amd64 kernel do; half must be a positive multiple of 8.
//
//go:noescape
func ropeHeads(row, cos, sin *float32, heads, half int)

// The decoders below: bf16 by interleaving with zeros, float16 by FCVTL
// (base ARMv8, so every arm64 CPU; haveF16C names the capability after
// the x86 extension the amd64 decoders need).
const haveF16C = true

// decodeBF16 widens n bfloat16 values at src to float32 at dst; n is a
// positive multiple of 8. Implemented in neon_arm64.s.
//
//go:noescape
func decodeBF16(dst *float32, src *byte, n int)

// decodeF16 widens n float16 values; n is a positive multiple of 8.
//
//go:noescape
func decodeF16(dst *float32, src *byte, n int)

// decodeQ8 expands nb Q8_0 blocks (34 bytes each: a float16 scale, 32
// int8) into 32·nb float32, each value float32(q)·scale as the Go
// reference rounds it.
//
//go:noescape
func decodeQ8(dst *float32, src *byte, nb int)
