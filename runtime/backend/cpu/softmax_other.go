//go:build !amd64 || purego

package cpu

func siluMul16(out, gate, up *float32, n int) { panic("cpu: siluMul16 without SIMD support") }
func siluMulRows(out, gate *float32, ldo, ldg, rows int) {
	panic("cpu: siluMulRows without SIMD support")
}
