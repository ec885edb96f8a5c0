//go:build (!amd64 && !arm64) || purego

package cpu

// haveVecOps is false: this build has neither the AVX2 nor the NEON
// kernels.
const haveVecOps = false

func mm6x16(x *float32, ldx int, wp *float32, k, pstride, jstride int, out *float32, ldo int, panels int, add int) {
	panic("cpu: mm6x16 without SIMD support")
}

func mm1x16(x *float32, wp *float32, k, pstride, jstride int, out *float32, panels int, add int) {
	panic("cpu: mm1x16 without SIMD support")
}

func mm3x16(x *float32, ldx int, wp *float32, k, pstride, jstride int, out *float32, ldo int, panels int, add int) {
	panic("cpu: mm3x16 without SIMD support")
}

func scaleMax(x *float32, n int, s float32) float32 { panic("cpu: scaleMax without SIMD support") }
func scaleBy(x *float32, n int, s float32)          { panic("cpu: scaleBy without SIMD support") }
func expSubSum(x *float32, n int, m float32) float32 {
	panic("cpu: expSubSum without SIMD support")
}
func siluMul(out, gate, up *float32, n int) { panic("cpu: siluMul without SIMD support") }
func addVec(out, a, b *float32, n int)      { panic("cpu: addVec without SIMD support") }
func scaleMulVec(out, x, w *float32, n int, s float32) {
	panic("cpu: scaleMulVec without SIMD support")
}
func ropeHeads(row, cos, sin *float32, heads, half int) {
	panic("cpu: ropeHeads without SIMD support")
}
