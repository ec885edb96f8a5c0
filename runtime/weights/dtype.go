package weights

import (
	"encoding/binary"
	"math"
	"sync"
)

// f16Table maps every half-precision bit pattern to its float32 value
// (256 KiB, built on first use).
var f16Table = sync.OnceValue(func() *[1 << 16]float32 {
	var t [1 << 16]float32
	for h := range t {
		t[h] = F16ToFloat32(uint16(h))
	}
	return &t
})

// DType is a safetensors element type. Only BF16, F16 and F32 are read;
// checkpoints holding any other dtype are rejected when opened.
type DType string

// The dtypes this package reads.
const (
	BF16 DType = "BF16"
	F16  DType = "F16"
	F32  DType = "F32"
)

// Size returns the size of one element in bytes, or 0 for an unsupported
// dtype.
func (d DType) Size() int {
	switch d {
	case BF16, F16:
		return 2
	case F32:
		return 4
	}
	return 0
}

// Supported reports whether d is BF16, F16 or F32.
func (d DType) Supported() bool { return d.Size() != 0 }

// knownDTypes lists the other dtypes of the safetensors format, so that a
// checkpoint holding one gets "unsupported dtype" rather than "corrupt".
var knownDTypes = map[string]bool{
	"BOOL": true, "U8": true, "I8": true, "I16": true, "U16": true, "I32": true, "U32": true,
	"I64": true, "U64": true, "F64": true, "F8_E4M3": true, "F8_E5M2": true, "F8_E8M0": true,
	"F4": true, "F6_E2M3": true, "F6_E3M2": true, "C64": true,
}

// BF16ToFloat32 converts a bfloat16 bit pattern to float32 (exact).
func BF16ToFloat32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// F16ToFloat32 converts an IEEE 754 half-precision bit pattern to float32
// (exact, including subnormals, infinities and NaN).
func F16ToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp != 0: // normal
		return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
	case mant == 0: // signed zero
		return math.Float32frombits(sign)
	}
	// Subnormal: value = mant * 2^-24.
	f := float32(mant) * (1.0 / (1 << 24))
	if sign != 0 {
		f = -f
	}
	return f
}

// DecodeFloat32 converts little-endian src of dtype d into dst, which must
// hold len(src)/d.Size() elements. It reports false when d is unsupported
// or the lengths disagree.
func DecodeFloat32(d DType, src []byte, dst []float32) bool {
	n := d.Size()
	if n == 0 || len(src) != n*len(dst) {
		return false
	}
	switch d {
	case BF16:
		for i := range dst {
			dst[i] = BF16ToFloat32(binary.LittleEndian.Uint16(src[2*i:]))
		}
	case F16:
		tab := f16Table()
		for i := range dst {
			dst[i] = tab[binary.LittleEndian.Uint16(src[2*i:])]
		}
	case F32:
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		}
	}
	return true
}
