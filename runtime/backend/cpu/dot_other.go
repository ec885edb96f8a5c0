//go:build !amd64 || purego

package cpu

// haveSIMD is false: this build has no SIMD kernels.
const haveSIMD = false

func dot3x4(x0, x1, x2, w0, w1, w2, w3 *float32, n int, out *[12]float32) {
	panic("cpu: dot3x4 without SIMD support")
}

func dot1x4(x, w0, w1, w2, w3 *float32, n int, out *[4]float32) {
	panic("cpu: dot1x4 without SIMD support")
}

func mm3y(x *float32, ldx int, w *float32, ldw int, out *float32, ldo int, n, groups int) {
	panic("cpu: mm3y without SIMD support")
}

func mm1y(x *float32, w *float32, ldw int, out *float32, n, groups int) {
	panic("cpu: mm1y without SIMD support")
}
