//go:build !amd64 || purego

package cpu

func addVec(out, a, b *float32, n int) { panic("cpu: addVec without SIMD support") }
func ropeHeads(row, cos, sin *float32, heads, half int) {
	panic("cpu: ropeHeads without SIMD support")
}
func scaleMulVec(out, x, w *float32, n int, s float32) {
	panic("cpu: scaleMulVec without SIMD support")
}

func siluMul16(out, gate, up *float32, n int) { panic("cpu: siluMul16 without SIMD support") }
func siluMulRows(out, gate *float32, ldo, ldg, rows int) {
	panic("cpu: siluMulRows without SIMD support")
}
