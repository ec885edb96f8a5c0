package quant

import (
	"encoding/binary"
	"math"

	"github.com/dream-lsp/dream-lsp/runtime/backend"
	"github.com/dream-lsp/dream-lsp/runtime/weights"
)

// The 32-value block formats besides Q8_0 and Q5_0 that Dream GGUF files
// come in (Q4_0, Q4_1, Q5_1 and IQ4_NL files, and the fallbacks
// llama-quantize picks for rows that are not whole super-blocks). Each
// decoder follows ggml's dequantize_row_* operation for operation, every
// product rounded to float32 before the next operation, so the values
// equal ggml's and gguf-py's bit for bit. In all four, byte j of the 16
// quant bytes holds value j in its low nibble and value j+16 in its high
// nibble.

// DequantizeQ4_0 expands Q4_0 blocks (d float16, 16 bytes of nibbles; 18
// bytes): q (0–15) becomes d·(q−8), IQ4_NL's decoding with the grid
// −8…7.
func DequantizeQ4_0(dst []float32, src []byte) { nibbleBlocks(dst, src, &q4Values) }

// q4Values is Q4_0's grid: q − 8.
var q4Values = [16]int8{-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7}

// DequantizeQ4_1 expands Q4_1 blocks (d and m float16, 16 bytes of
// nibbles; 20 bytes): q becomes d·q + m.
func DequantizeQ4_1(dst []float32, src []byte) {
	nb := len(dst) / backend.Q8BlockSize
	_ = src[nb*20-1]
	for b := range nb {
		x := (*[20]byte)(src[b*20:])
		y := (*[32]float32)(dst[b*32:])
		d := weights.F16ToFloat32(binary.LittleEndian.Uint16(x[0:]))
		m := weights.F16ToFloat32(binary.LittleEndian.Uint16(x[2:]))
		for j, v := range (*[16]byte)(x[4:]) {
			y[j] = float32(d*float32(v&0xf)) + m
			y[j+16] = float32(d*float32(v>>4)) + m
		}
	}
}

// DequantizeQ5_1 expands Q5_1 blocks (d and m float16, 32 fifth bits as a
// little-endian uint32, 16 bytes of nibbles; 24 bytes): q (0–31, bit i of
// the uint32 the fifth bit of value i) becomes d·q + m.
func DequantizeQ5_1(dst []float32, src []byte) {
	nb := len(dst) / backend.Q8BlockSize
	_ = src[nb*24-1]
	for b := range nb {
		x := (*[24]byte)(src[b*24:])
		y := (*[32]float32)(dst[b*32:])
		d := weights.F16ToFloat32(binary.LittleEndian.Uint16(x[0:]))
		m := weights.F16ToFloat32(binary.LittleEndian.Uint16(x[2:]))
		qh := binary.LittleEndian.Uint32(x[4:])
		for j, v := range (*[16]byte)(x[8:]) {
			q0 := v&0xf | byte(qh>>j&1)<<4
			q1 := v>>4 | byte(qh>>(j+16)&1)<<4
			y[j] = float32(d*float32(q0)) + m
			y[j+16] = float32(d*float32(q1)) + m
		}
	}
}

// iq4Values is IQ4_NL's and IQ4_XS's non-linear grid (ggml's
// kvalues_iq4nl): a 4-bit index q stands for iq4Values[q].
var iq4Values = [16]int8{-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113}

// DequantizeIQ4_NL expands IQ4_NL blocks (d float16, 16 bytes of 4-bit
// grid indices; 18 bytes): index q becomes d·iq4Values[q].
func DequantizeIQ4_NL(dst []float32, src []byte) { nibbleBlocks(dst, src, &iq4Values) }

// nibbleBlocks expands 18-byte blocks of a float16 d and 16 bytes of
// 4-bit indices into grid: d·grid[q].
func nibbleBlocks(dst []float32, src []byte, grid *[16]int8) {
	nb := len(dst) / backend.Q8BlockSize
	_ = src[nb*18-1]
	for b := range nb {
		x := (*[18]byte)(src[b*18:])
		y := (*[32]float32)(dst[b*32:])
		d := weights.F16ToFloat32(binary.LittleEndian.Uint16(x[0:]))
		for j, v := range (*[16]byte)(x[2:]) {
			y[j] = d * float32(grid[v&0xf])
			y[j+16] = d * float32(grid[v>>4])
		}
	}
}

// PutScales sets the scales of one block of the GGUF-only format f
// (block: its bytes) to scale's values, where every bit pattern of those
// bytes is not a usable value (the tests fill the rest of a block at
// random): the float16 d, and dmin or m where the format has one; IQ1_M's
// d split over four nibbles; MXFP4's power of two and NVFP4's four
// UE4M3 scales, nearest below scale's magnitude.
func PutScales(f backend.WeightFormat, block []byte, scale func() float32) {
	f16 := func(o int) { binary.LittleEndian.PutUint16(block[o:], weights.Float32ToF16(scale())) }
	switch f {
	case backend.WeightQ4_0, backend.WeightQ5_0, backend.WeightIQ4_NL, backend.WeightIQ4_XS,
		backend.WeightIQ2_XXS, backend.WeightIQ2_XS, backend.WeightIQ2_S, backend.WeightIQ3_XXS,
		backend.WeightIQ3_S, backend.WeightIQ1_S:
		f16(0)
	case backend.WeightQ4_1, backend.WeightQ5_1, backend.WeightQ4_K, backend.WeightQ5_K:
		f16(0)
		f16(2)
	case backend.WeightQ2_K:
		f16(80)
		f16(82)
	case backend.WeightQ3_K:
		f16(108)
	case backend.WeightQ6_K:
		f16(208)
	case backend.WeightTQ1_0:
		f16(52)
	case backend.WeightTQ2_0:
		f16(64)
	case backend.WeightIQ1_M:
		d := weights.Float32ToF16(scale())
		for i := range 4 {
			o := 48 + 2*i
			v := binary.LittleEndian.Uint16(block[o:])&0x0fff | (d>>(4*i)&0xf)<<12
			binary.LittleEndian.PutUint16(block[o:], v)
		}
	case backend.WeightMXFP4:
		_, e := math.Frexp(math.Abs(float64(scale())))
		block[0] = byte(min(max(e+127, 0), 254)) // e8m0Half(x) is 2^(x−128)
	case backend.WeightNVFP4:
		for i := range 4 {
			_, e := math.Frexp(math.Abs(float64(scale())))
			block[i] = byte(min(max(e+7, 1), 14)<<3 | int(block[i]&7)) // a normal UE4M3
		}
	}
}
