//go:build (!amd64 && !arm64) || purego

package cpu

// haveBcast is false: this build has no broadcast kernels.
const haveBcast = false

func mm6x16(x *float32, ldx int, wp *float32, k, pstride, jstride int, out *float32, ldo int, panels int, add int) {
	panic("cpu: mm6x16 without SIMD support")
}

func mm1x16(x *float32, wp *float32, k, pstride, jstride int, out *float32, panels int, add int) {
	panic("cpu: mm1x16 without SIMD support")
}

func mm3x16(x *float32, ldx int, wp *float32, k, pstride, jstride int, out *float32, ldo int, panels int, add int) {
	panic("cpu: mm3x16 without SIMD support")
}
