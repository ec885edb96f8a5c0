//go:build !amd64 || purego

package cpu

func decodeKBlock(dst *float32, qs *byte, dm *float32, qh *byte) {
	panic("cpu: decodeKBlock without SIMD support")
}

func decodeQ6KBlock(dst *float32, x *byte, ds *float32) {
	panic("cpu: decodeQ6KBlock without SIMD support")
}

func decode32(dst *float32, src *byte, nb, stride, qs, qh int, m bool, sub int, grid *int8) {
	panic("cpu: decode32 without SIMD support")
}

func decode2bit(dst *float32, qs, hm *byte, a, b *float32) {
	panic("cpu: decode2bit without SIMD support")
}

func decodeGrid(dst *float32, qs *byte, dl *float32, grid *int8) {
	panic("cpu: decodeGrid without SIMD support")
}

func expandGrid(dst *float32, grid *uint8, entries *uint16, signs *uint8, scale, delta, levels *float32, shift uint, width int) {
	panic("cpu: expandGrid without SIMD support")
}
