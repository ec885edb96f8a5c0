//go:build amd64 && !purego

package cpu

import "golang.org/x/sys/cpu"

// haveF16C reports whether the float16 decoders (VCVTPH2PS: decodeF16,
// decodeQ8) can run.
var haveF16C = haveSIMD && cpu.X86.HasF16C

// decodeBF16 widens n bfloat16 values at src to float32 at dst; n is a
// multiple of 8. Implemented in weights_amd64.s.
//
//go:noescape
func decodeBF16(dst *float32, src *byte, n int)

// decodeF16 widens n float16 values; n is a multiple of 8.
//
//go:noescape
func decodeF16(dst *float32, src *byte, n int)

// decodeQ8 expands nb Q8_0 blocks (34 bytes each) into 32·nb float32.
//
//go:noescape
func decodeQ8(dst *float32, src *byte, nb int)
