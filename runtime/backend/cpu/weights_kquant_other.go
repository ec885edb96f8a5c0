//go:build !amd64 || purego

package cpu

func decodeQ4KBlock(dst *float32, qs *byte, dm *float32) {
	panic("cpu: decodeQ4KBlock without SIMD support")
}

func decodeQ6KBlock(dst *float32, x *byte, ds *float32) {
	panic("cpu: decodeQ6KBlock without SIMD support")
}

func decodeQ5(dst *float32, src *byte, nb int) { panic("cpu: decodeQ5 without SIMD support") }
