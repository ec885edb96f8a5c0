//go:build (!amd64 && !arm64) || purego

package cpu

// haveF16C is false: this build has no SIMD decoders.
const haveF16C = false

func decodeBF16(dst *float32, src *byte, n int) { panic("cpu: decodeBF16 without SIMD support") }
func decodeF16(dst *float32, src *byte, n int)  { panic("cpu: decodeF16 without SIMD support") }
func decodeQ8(dst *float32, src *byte, nb int)  { panic("cpu: decodeQ8 without SIMD support") }
