//go:build !arm64 || purego

package cpu

// haveNEON is false: this build has no NEON kernels.
const haveNEON = false

func mm4x4n(x *float32, ldx int, w *float32, ldw int, out *float32, ldo int, n, groups int) {
	panic("cpu: mm4x4n without NEON")
}

func mm1x4n(x *float32, w *float32, ldw int, out *float32, n, groups int) {
	panic("cpu: mm1x4n without NEON")
}
