//go:build !amd64 || purego

package cpu

// haveAVX512 is false: this build has no AVX-512 kernel.
const haveAVX512 = false

func mm8z(x *float32, ldx int, w *float32, ldw int, out *float32, ldo int, n, groups int) {
	panic("cpu: mm8z without AVX-512 support")
}
