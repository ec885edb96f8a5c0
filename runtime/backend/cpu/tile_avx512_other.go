//go:build !amd64 || purego

package cpu

// haveAVX512 is false: this build has no AVX-512 kernel.
const haveAVX512 = false

func dot4x4z(x0, x1, x2, x3, w0, w1, w2, w3 *float32, n int, out *[16]float32) {
	panic("cpu: dot4x4z without AVX-512 support")
}
