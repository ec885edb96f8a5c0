//go:build !amd64 || purego

package cpu

// haveAVX512 is false: this build has no AVX-512 kernel.
const haveAVX512 = false

func mm8z(x *float32, ldx int, w *float32, ldw int, out *float32, ldo int, n, groups int, pf uintptr, pfper int) {
	panic("cpu: mm8z without AVX-512 support")
}

func mm1z(x *float32, w *float32, ldw int, out *float32, n, cols int, pf uintptr, pfper int) {
	panic("cpu: mm1z without AVX-512 support")
}

func decodeBF16Z(dst *float32, src *byte, n int) { panic("cpu: decodeBF16Z without AVX-512 support") }
func decodeQ8Z(dst *float32, src *byte, nb int)  { panic("cpu: decodeQ8Z without AVX-512 support") }

func mm6x32z(x *float32, ldx int, wp *float32, k, pstride, jstride int, out *float32, ldo int, pairs int, add int) {
	panic("cpu: mm6x32z without AVX-512 support")
}

func mm3x32z(x *float32, ldx int, wp *float32, k, pstride, jstride int, out *float32, ldo int, pairs int, add int) {
	panic("cpu: mm3x32z without AVX-512 support")
}

func mm1x32z(x *float32, wp *float32, k, pstride, jstride int, out *float32, pairs int, add int) {
	panic("cpu: mm1x32z without AVX-512 support")
}
