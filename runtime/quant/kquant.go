package quant

import (
	"encoding/binary"

	"github.com/dream-lsp/dream-lsp/runtime/backend"
	"github.com/dream-lsp/dream-lsp/runtime/weights"
)

// The k-quants (and Q5_0, their fallback for narrow rows) are read, not
// written: Q4_K_M files come from llama.cpp's
// llama-quantize, whose choice of scales (an iterative search per
// sub-block) this package does not reproduce. The decoders follow ggml's
// dequantize_row_q4_K and dequantize_row_q6_K operation for operation:
// every product is rounded to float32 before the next operation (the
// explicit conversions keep a compiler from fusing them), so the values
// equal ggml's and gguf-py's bit for bit.

// DequantizeQ4_K expands Q4_K super-blocks in src into dst (256 values a
// block, len(dst)/256·144 bytes of src).
//
// A block is d and dmin (float16), 12 bytes packing eight 6-bit scales
// and eight 6-bit mins, then 128 bytes of 4-bit quants: sub-block j
// (32 values) of the pair of sub-blocks 2i, 2i+1 takes the low nibbles
// (2i) or the high nibbles (2i+1) of qs[32i:32i+32], and value q becomes
// d·sc·q − dmin·m.
func DequantizeQ4_K(dst []float32, src []byte) {
	nb := len(dst) / backend.KBlockSize
	_ = src[nb*backend.Q4KBlockBytes-1]
	for b := range nb {
		x := (*[backend.Q4KBlockBytes]byte)(src[b*backend.Q4KBlockBytes:])
		y := (*[backend.KBlockSize]float32)(dst[b*backend.KBlockSize:])
		dequantQ4KBlock(y, x)
	}
}

// Q4KScales returns a Q4_K block's eight sub-block scales and mins as
// ggml computes them, interleaved: d·sc[j] at 2j, dmin·m[j] at 2j+1.
func Q4KScales(x *[backend.Q4KBlockBytes]byte) (dm [16]float32) {
	return scalesMinsK4((*[16]byte)(x[:16]))
}

// scalesMinsK4 unpacks the header Q4_K and Q5_K share (d and dmin as
// float16, then 12 bytes of eight 6-bit scales and mins) as Q4KScales
// returns it.
func scalesMinsK4(x *[16]byte) (dm [16]float32) {
	d := weights.F16ToFloat32(binary.LittleEndian.Uint16(x[0:]))
	dmin := weights.F16ToFloat32(binary.LittleEndian.Uint16(x[2:]))
	// Sub-block j's 6-bit scale and min (ggml's get_scale_min_k4), for j
	// = 0…7 unrolled (the decoders call this once per 256 weights, where a
	// loop's branches and index checks were a third of decoding a Q4_K
	// row): the first four sit in the low six bits of bytes 0–3 and 4–7;
	// the last four take their low four bits from bytes 8–11 and their high
	// two from the top bits of bytes 0–7.
	q := (*[12]byte)(x[4:])
	dm[0], dm[1] = d*float32(q[0]&63), dmin*float32(q[4]&63)
	dm[2], dm[3] = d*float32(q[1]&63), dmin*float32(q[5]&63)
	dm[4], dm[5] = d*float32(q[2]&63), dmin*float32(q[6]&63)
	dm[6], dm[7] = d*float32(q[3]&63), dmin*float32(q[7]&63)
	dm[8], dm[9] = d*float32(q[8]&0xf|(q[0]>>6)<<4), dmin*float32(q[8]>>4|(q[4]>>6)<<4)
	dm[10], dm[11] = d*float32(q[9]&0xf|(q[1]>>6)<<4), dmin*float32(q[9]>>4|(q[5]>>6)<<4)
	dm[12], dm[13] = d*float32(q[10]&0xf|(q[2]>>6)<<4), dmin*float32(q[10]>>4|(q[6]>>6)<<4)
	dm[14], dm[15] = d*float32(q[11]&0xf|(q[3]>>6)<<4), dmin*float32(q[11]>>4|(q[7]>>6)<<4)
	return dm
}

func dequantQ4KBlock(y *[backend.KBlockSize]float32, x *[backend.Q4KBlockBytes]byte) {
	dm := Q4KScales(x)
	qs := (*[128]byte)(x[16:])
	for p := range 4 { // pairs of 32-value sub-blocks
		d0, dm0, d1, dm1 := dm[4*p], dm[4*p+1], dm[4*p+2], dm[4*p+3]
		q := (*[32]byte)(qs[32*p:])
		lo := (*[32]float32)(y[64*p:])
		hi := (*[32]float32)(y[64*p+32:])
		for l, v := range q {
			lo[l] = float32(d0*float32(v&0xf)) - dm0
			hi[l] = float32(d1*float32(v>>4)) - dm1
		}
	}
}

// DequantizeQ6_K expands Q6_K super-blocks in src into dst (256 values a
// block, len(dst)/256·210 bytes of src).
//
// A block is 128 bytes ql (low four bits), 64 bytes qh (high two bits),
// 16 int8 scales (one per 16 values) and d (float16); value q (6 bits,
// less 32) becomes d·sc·q.
func DequantizeQ6_K(dst []float32, src []byte) {
	nb := len(dst) / backend.KBlockSize
	_ = src[nb*backend.Q6KBlockBytes-1]
	for b := range nb {
		x := (*[backend.Q6KBlockBytes]byte)(src[b*backend.Q6KBlockBytes:])
		y := (*[backend.KBlockSize]float32)(dst[b*backend.KBlockSize:])
		dequantQ6KBlock(y, x)
	}
}

// Q6KScales returns a Q6_K block's sixteen scales times d, as ggml
// computes them (d·sc[i], rounded once).
func Q6KScales(x *[backend.Q6KBlockBytes]byte) (ds [16]float32) {
	d := weights.F16ToFloat32(binary.LittleEndian.Uint16(x[208:]))
	for i, s := range (*[16]byte)(x[192:]) {
		ds[i] = float32(d * float32(int8(s)))
	}
	return ds
}

func dequantQ6KBlock(y *[backend.KBlockSize]float32, x *[backend.Q6KBlockBytes]byte) {
	all := Q6KScales(x)
	for h := range 2 { // halves of 128 values
		ql := (*[64]byte)(x[64*h:])
		qh := (*[32]byte)(x[128+32*h:])
		o := (*[128]float32)(y[128*h:])
		for g := range 2 { // l in [0,16) and [16,32) share scales
			var ds [4]float32
			for k := range ds {
				ds[k] = all[8*h+g+2*k]
			}
			for l := 16 * g; l < 16*g+16; l++ {
				a, c, hb := ql[l], ql[l+32], qh[l]
				q1 := int8(a&0xf|(hb&3)<<4) - 32
				q2 := int8(c&0xf|(hb>>2&3)<<4) - 32
				q3 := int8(a>>4|(hb>>4&3)<<4) - 32
				q4 := int8(c>>4|(hb>>6)<<4) - 32
				o[l] = ds[0] * float32(q1)
				o[l+32] = ds[1] * float32(q2)
				o[l+64] = ds[2] * float32(q3)
				o[l+96] = ds[3] * float32(q4)
			}
		}
	}
}

// DequantizeQ5_0 expands Q5_0 blocks in src into dst (32 values a block,
// len(dst)/32·22 bytes of src), as ggml's dequantize_row_q5_0: d
// (float16), 32 fifth bits (little-endian uint32 qh), then 16 bytes whose
// low nibbles are values 0–15 and high nibbles values 16–31; value
// q (0–31, fifth bit from qh) becomes d·(q−16).
func DequantizeQ5_0(dst []float32, src []byte) {
	nb := len(dst) / backend.Q8BlockSize
	_ = src[nb*backend.Q5BlockBytes-1]
	for b := range nb {
		x := (*[backend.Q5BlockBytes]byte)(src[b*backend.Q5BlockBytes:])
		y := (*[backend.Q8BlockSize]float32)(dst[b*backend.Q8BlockSize:])
		d := weights.F16ToFloat32(binary.LittleEndian.Uint16(x[0:]))
		qh := binary.LittleEndian.Uint32(x[2:])
		for j, v := range (*[16]byte)(x[6:]) {
			x0 := int32(v&0xf|byte(qh>>j<<4)&0x10) - 16
			x1 := int32(v>>4|byte(qh>>(j+12))&0x10) - 16
			y[j] = float32(x0) * d
			y[j+16] = float32(x1) * d
		}
	}
}

// Q2_K, Q3_K, Q5_K and IQ4_XS are the other 256-value formats Dream GGUF
// files come in (Q2_K, Q3_K_*, Q5_K_* and IQ4_XS files), decoded as
// ggml's dequantize_row_* and gguf-py, operation for operation.

// DequantizeQ2_K expands Q2_K blocks (84 bytes): 16 bytes of 4-bit
// scale (low nibble) and min (high nibble) per 16 values, 64 bytes of
// 2-bit quants, then d and dmin (float16). Value i takes bits 2s, 2s+1 of
// byte 32g+l of the quants (i = 128g + 32s + l), and q becomes
// d·sc·q − dmin·m for its 16 values' sc and m.
func DequantizeQ2_K(dst []float32, src []byte) {
	const bb = 84
	nb := len(dst) / backend.KBlockSize
	_ = src[nb*bb-1]
	for b := range nb {
		x := (*[bb]byte)(src[b*bb:])
		y := (*[backend.KBlockSize]float32)(dst[b*backend.KBlockSize:])
		dl, ml := Q2KScales(x)
		qs := (*[64]byte)(x[16:])
		for i := range backend.KBlockSize {
			q := qs[32*(i/128)+i%32] >> (2 * (i % 128 / 32)) & 3
			y[i] = float32(dl[i/16]*float32(q)) - ml[i/16]
		}
	}
}

// Q2KScales returns a Q2_K block's sixteen scales and mins as ggml
// computes them: d·sc[j] and dmin·m[j], one per 16 values.
func Q2KScales(x *[84]byte) (dl, ml [16]float32) {
	d := weights.F16ToFloat32(binary.LittleEndian.Uint16(x[80:]))
	dmin := weights.F16ToFloat32(binary.LittleEndian.Uint16(x[82:]))
	for j, sc := range x[:16] {
		dl[j], ml[j] = d*float32(sc&0xf), dmin*float32(sc>>4)
	}
	return dl, ml
}

// DequantizeQ3_K expands Q3_K blocks (110 bytes): 32 bytes of high bits
// (value i: bit i/32 of byte i%32), 64 bytes of low 2-bit quants (as
// Q2_K's), 12 bytes of sixteen 6-bit scales, then d (float16). q (the low
// bits, less 4 where the high bit is clear) becomes d·(sc−32)·q.
func DequantizeQ3_K(dst []float32, src []byte) {
	const bb = 110
	nb := len(dst) / backend.KBlockSize
	_ = src[nb*bb-1]
	for b := range nb {
		x := (*[bb]byte)(src[b*bb:])
		y := (*[backend.KBlockSize]float32)(dst[b*backend.KBlockSize:])
		dl := Q3KScales(x)
		hm, qs := (*[32]byte)(x[0:]), (*[64]byte)(x[32:])
		for i := range backend.KBlockSize {
			q := int32(qs[32*(i/128)+i%32] >> (2 * (i % 128 / 32)) & 3)
			if hm[i%32]>>(i/32)&1 == 0 {
				q -= 4
			}
			y[i] = dl[i/16] * float32(q)
		}
	}
}

// Q3KScales returns a Q3_K block's sixteen scales times d as ggml
// computes them: d·(sc[j]−32), one per 16 values.
func Q3KScales(x *[110]byte) (dl [16]float32) {
	d := weights.F16ToFloat32(binary.LittleEndian.Uint16(x[108:]))
	sb := (*[12]byte)(x[96:])
	for j := range dl {
		// Scale j: low four bits from byte j (j < 8) or the high nibble
		// of byte j−8; high two from bits 2(j/4) of byte 8+j%4.
		lo := sb[j%8] >> (4 * (j / 8)) & 0xf
		hi := sb[8+j%4] >> (2 * (j / 4)) & 3
		dl[j] = d * float32(int32(lo|hi<<4)-32)
	}
	return dl
}

// DequantizeQ5_K expands Q5_K blocks (176 bytes): Q4_K's header (d, dmin,
// eight 6-bit scales and mins), 32 bytes of fifth bits (value i: bit i/32
// of byte i%32), then Q4_K's 128 bytes of nibbles; q (0–31) becomes
// d·sc·q − dmin·m.
func DequantizeQ5_K(dst []float32, src []byte) {
	const bb = 176
	nb := len(dst) / backend.KBlockSize
	_ = src[nb*bb-1]
	for b := range nb {
		x := (*[bb]byte)(src[b*bb:])
		y := (*[backend.KBlockSize]float32)(dst[b*backend.KBlockSize:])
		dm := scalesMinsK4((*[16]byte)(x[:16]))
		qh, qs := (*[32]byte)(x[16:]), (*[128]byte)(x[48:])
		for j := range 8 { // 32-value sub-blocks
			dj, mj := dm[2*j], dm[2*j+1]
			q := (*[32]byte)(qs[32*(j/2):])
			o := (*[32]float32)(y[32*j:])
			for l, v := range q {
				n := v >> (4 * (j % 2)) & 0xf
				n |= qh[l] >> j & 1 << 4
				o[l] = float32(dj*float32(n)) - mj
			}
		}
	}
}

// DequantizeIQ4_XS expands IQ4_XS blocks (136 bytes): d (float16), the
// high two bits of eight 6-bit scales (uint16), their low four bits (4
// bytes, two a byte), then 128 bytes of 4-bit grid indices (sub-block j's
// 32 values: the low then the high nibbles of bytes 16j…16j+15); index q
// becomes d·(sc−32)·iq4Values[q].
func DequantizeIQ4_XS(dst []float32, src []byte) {
	const bb = 136
	nb := len(dst) / backend.KBlockSize
	_ = src[nb*bb-1]
	for b := range nb {
		x := (*[bb]byte)(src[b*bb:])
		y := (*[backend.KBlockSize]float32)(dst[b*backend.KBlockSize:])
		dls := IQ4XSScales(x)
		for j, dl := range dls {
			q := (*[16]byte)(x[8+16*j:])
			o := (*[32]float32)(y[32*j:])
			for l, v := range q {
				o[l] = dl * float32(iq4Values[v&0xf])
				o[l+16] = dl * float32(iq4Values[v>>4])
			}
		}
	}
}

// IQ4XSScales returns an IQ4_XS block's eight sub-block scales as ggml
// computes them: d·(sc[j]−32), one per 32 values.
func IQ4XSScales(x *[136]byte) (dl [8]float32) {
	d := weights.F16ToFloat32(binary.LittleEndian.Uint16(x[0:]))
	sh := binary.LittleEndian.Uint16(x[2:])
	for j := range dl {
		ls := x[4+j/2]>>(4*(j%2))&0xf | byte(sh>>(2*j)&3)<<4
		dl[j] = d * float32(int32(ls)-32)
	}
	return dl
}

// decoders are the block formats read from GGUF files only
// (backend.WeightFormat.GGUFOnly), each expanding whole blocks of src
// into dst.
var decoders = map[backend.WeightFormat]func(dst []float32, src []byte){
	backend.WeightQ4_K:    DequantizeQ4_K,
	backend.WeightQ6_K:    DequantizeQ6_K,
	backend.WeightQ5_0:    DequantizeQ5_0,
	backend.WeightQ4_0:    DequantizeQ4_0,
	backend.WeightQ4_1:    DequantizeQ4_1,
	backend.WeightQ5_1:    DequantizeQ5_1,
	backend.WeightIQ4_NL:  DequantizeIQ4_NL,
	backend.WeightQ2_K:    DequantizeQ2_K,
	backend.WeightQ3_K:    DequantizeQ3_K,
	backend.WeightQ5_K:    DequantizeQ5_K,
	backend.WeightIQ4_XS:  DequantizeIQ4_XS,
	backend.WeightIQ1_S:   DequantizeIQ1_S,
	backend.WeightIQ1_M:   DequantizeIQ1_M,
	backend.WeightIQ2_XXS: DequantizeIQ2_XXS,
	backend.WeightIQ2_XS:  DequantizeIQ2_XS,
	backend.WeightIQ2_S:   DequantizeIQ2_S,
	backend.WeightIQ3_XXS: DequantizeIQ3_XXS,
	backend.WeightIQ3_S:   DequantizeIQ3_S,
	backend.WeightTQ1_0:   DequantizeTQ1_0,
	backend.WeightTQ2_0:   DequantizeTQ2_0,
	backend.WeightMXFP4:   DequantizeMXFP4,
	backend.WeightNVFP4:   DequantizeNVFP4,
}

// DequantizeRange expands values [k0, k1) of one row stored in a format
// read from GGUF files only (GGUFOnly: k0 and k1 multiples of its block)
// into dst. It reports false for another format.
func DequantizeRange(dst []float32, f backend.WeightFormat, row []byte, k0, k1 int) bool {
	dec, ok := decoders[f]
	if !ok {
		return false
	}
	// Whole blocks: the bytes of the first k values are an offset.
	b0, _ := f.RowBytes(k0)
	b1, _ := f.RowBytes(k1)
	dec(dst[:k1-k0], row[b0:b1])
	return true
}

// Q5KScales returns a Q5_K block's eight sub-block scales and mins as
// Q4KScales does (the two formats share the header).
func Q5KScales(x *[176]byte) (dm [16]float32) {
	return scalesMinsK4((*[16]byte)(x[:16]))
}

// IQ4Grid returns IQ4_NL's and IQ4_XS's grid of values.
func IQ4Grid() [16]int8 { return iq4Values }
