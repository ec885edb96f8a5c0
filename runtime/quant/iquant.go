package quant

//go:generate sh -c "PYTHONPATH=../../infill/remote/.llama/root/usr/lib/python3/dist-packages python3 iqgrids_gen.py > iqgrids_table.go"

import (
	"encoding/binary"
	"encoding/hex"
	"math"
	"math/bits"

	"github.com/dream-lsp/dream-lsp/runtime/backend"
	"github.com/dream-lsp/dream-lsp/runtime/weights"
)

// The importance-matrix formats (IQ1_S, IQ1_M, IQ2_XXS, IQ2_XS, IQ2_S,
// IQ3_XXS, IQ3_S: the i1 files Dream GGUFs are published in beside the
// plain ones), the ternary ones (TQ1_0, TQ2_0) and the FP4 ones (MXFP4,
// NVFP4). Like the k-quants they are read, not written. In the grid
// formats each run of 8 values is one grid entry of 8 values, or two of
// 4 (iq*Grid), scaled by its sub-block's scale and, for the IQ2 and IQ3
// grids, given the signs its sign bits say. The decoders follow ggml's
// dequantize_row_* operation for operation (every product rounded to
// float32 before the next operation), so the values equal ggml's bit for
// bit (runtime/gguf's TestBlocksMatchGGML).

// gridSpec is a grid as iqgrids_table.go stores it: rows entries of width
// values, each value the index of its level, bits bits a value, packed
// little-endian in the hexadecimal codes.
type gridSpec struct {
	rows, width, bits int
	levels            []int8
	codes             string
}

// expand returns the grid's values as indices into its levels, entry e
// at [e·width, (e+1)·width): the decoders multiply each level by the
// scale once (a table of at most 8 products) and look the values up.
func (g gridSpec) expand() []uint8 {
	packed, err := hex.DecodeString(g.codes)
	if err != nil || len(packed)*8 != g.rows*g.width*g.bits || len(g.levels) > 8 {
		panic("quant: corrupt grid table")
	}
	out := make([]uint8, g.rows*g.width)
	mask := 1<<g.bits - 1
	for i := range out {
		bit := i * g.bits
		v := int(packed[bit/8]) >> (bit % 8)
		if bit%8+g.bits > 8 {
			v |= int(packed[bit/8+1]) << (8 - bit%8)
		}
		out[i] = uint8(v & mask)
	}
	return out
}

var (
	iq2xxsValues = iq2xxsGrid.expand()
	iq2xsValues  = iq2xsGrid.expand()
	iq2sValues   = iq2sGrid.expand()
	iq3xxsValues = iq3xxsGrid.expand()
	iq3sValues   = iq3sGrid.expand()
	iq1sValues   = iq1sGrid.expand()
)

// ksigns is ggml's ksigns_iq2xs: seven stored sign bits and an eighth
// that makes the count of minus signs even.
var ksigns = func() (s [128]uint8) {
	for i := range s {
		s[i] = uint8(i) | uint8(bits.OnesCount8(uint8(i))&1)<<7
	}
	return s
}()

// GridBlock is one block of a grid format (IQ1_S … IQ3_S) unpacked for
// expansion: its 256 values are 32 runs of 8, run k made of grid entry
// Entries[k] (8-value grids) or Entries[2k], Entries[2k+1] (4-value
// grids: IQ3_XXS, IQ3_S). With g = k>>Shift, a value whose level index
// is v is Scale[g]·(levels[v]+Delta[g]) (ggml's db·grid[j], Delta 0, or
// IQ1's dl·(grid[j]+delta); levels[v]+0 is levels[v] exactly), negated
// where bit j of Signs[k] is set. Package cpu expands it with SIMD;
// ExpandGrid is the reference.
type GridBlock struct {
	Entries [64]uint16
	Signs   [32]uint8
	Scale   [32]float32
	Delta   [32]float32
	Shift   uint
}

// Grid returns grid format f's grid as level indices (entry e at
// [e·width, (e+1)·width)), its entries' width and its levels (padded to
// 8 with zeros), or a nil grid for another format.
func Grid(f backend.WeightFormat) (grid []uint8, width int, levels *[8]float32) {
	switch f {
	case backend.WeightIQ2_XXS:
		return iq2xxsValues, 8, &iq2Levels
	case backend.WeightIQ2_XS:
		return iq2xsValues, 8, &iq2Levels
	case backend.WeightIQ2_S:
		return iq2sValues, 8, &iq2Levels
	case backend.WeightIQ3_XXS:
		return iq3xxsValues, 4, &iq3xLevels
	case backend.WeightIQ3_S:
		return iq3sValues, 4, &iq3sLevels
	case backend.WeightIQ1_S, backend.WeightIQ1_M:
		return iq1sValues, 8, &iq1Levels
	}
	return nil, 0, nil
}

// levelsOf holds a grid's levels as float32 (exact), padded to 8.
func levelsOf(levels []int8) (f [8]float32) {
	for i, l := range levels {
		f[i] = float32(l)
	}
	return f
}

var (
	iq2Levels  = levelsOf(iq2xxsGrid.levels) // IQ2_XXS, IQ2_XS and IQ2_S share them
	iq3xLevels = levelsOf(iq3xxsGrid.levels)
	iq3sLevels = levelsOf(iq3sGrid.levels)
	iq1Levels  = levelsOf(iq1sGrid.levels)
)

// iq1Delta is IQ1_S's and IQ1_M's shift of the grid's −1, 0, 1.
const iq1Delta = 0.125

// UnpackGrid unpacks one block x of grid format f (Grid) into gb, as
// ggml's dequantize_row_* reads it:
//   - IQ2_XXS (66 bytes): d float16, then for each 32 values two
//     little-endian uint32: four 8-bit grid indices, and four 7-bit sign
//     indices (ksigns) under a 4-bit scale s, the scale d·(0.5+s)·0.25;
//   - IQ2_XS (74): d, 32 uint16 of a 9-bit grid index and a 7-bit sign
//     index, 8 bytes of two 4-bit scales, one for each 16 values;
//   - IQ2_S (82): d, 32 low bytes of 10-bit indices, 32 bytes of sign
//     bits, 8 bytes of the indices' top two bits, scales as IQ2_XS's;
//   - IQ3_XXS (98): d, 64 8-bit indices into 4-value entries, then for
//     each 32 values a uint32 of four sign indices under a 4-bit scale s,
//     the scale d·(0.5+s)·0.5;
//   - IQ3_S (110): d, 64 low bytes of 9-bit indices, 8 bytes of their top
//     bits, 32 bytes of sign bits, 4 bytes of 4-bit scales s, one for each
//     32 values, the scale d·(1+2s);
//   - IQ1_S (50): d, 32 low bytes of 11-bit indices, then for each 32
//     values a uint16: four 3-bit index tops, a 3-bit scale s (d·(2s+1))
//     and the sign of the ±0.125 added to the levels −1, 0, 1;
//   - IQ1_M (56): 32 low bytes of 11-bit indices, 16 bytes of a 3-bit
//     index top and a delta sign for each entry, four uint16 holding
//     sixteen 3-bit scales (one for each 16 values) in their low 12 bits
//     and the float16 d in their top nibbles.
func UnpackGrid(f backend.WeightFormat, x []byte, gb *GridBlock) {
	d := weights.F16ToFloat32(binary.LittleEndian.Uint16(x))
	switch f {
	case backend.WeightIQ2_XXS:
		x := (*[66]byte)(x)
		gb.Shift, gb.Delta = 2, [32]float32{}
		for ib := range 8 {
			aux := binary.LittleEndian.Uint32(x[6+8*ib:])
			gb.Scale[ib] = d * (0.5 + float32(aux>>28)) * 0.25
			for l := range 4 {
				gb.Entries[4*ib+l] = uint16(x[2+8*ib+l])
				gb.Signs[4*ib+l] = ksigns[aux>>(7*l)&127]
			}
		}
	case backend.WeightIQ2_XS:
		x := (*[74]byte)(x)
		gb.Shift, gb.Delta = 1, [32]float32{}
		nibbleScales(&gb.Scale, d, (*[8]byte)(x[66:]))
		for k := range 32 {
			q := binary.LittleEndian.Uint16(x[2+2*k:])
			gb.Entries[k], gb.Signs[k] = q&511, ksigns[q>>9]
		}
	case backend.WeightIQ2_S:
		x := (*[82]byte)(x)
		gb.Shift, gb.Delta = 1, [32]float32{}
		nibbleScales(&gb.Scale, d, (*[8]byte)(x[74:]))
		for ib := range 8 {
			h := uint16(x[66+ib])
			e := (*[4]byte)(x[2+4*ib:])
			gb.Entries[4*ib] = uint16(e[0]) | h<<8&0x300
			gb.Entries[4*ib+1] = uint16(e[1]) | h<<6&0x300
			gb.Entries[4*ib+2] = uint16(e[2]) | h<<4&0x300
			gb.Entries[4*ib+3] = uint16(e[3]) | h<<2&0x300
		}
		gb.Signs = *(*[32]byte)(x[34:])
	case backend.WeightIQ3_XXS:
		x := (*[98]byte)(x)
		gb.Shift, gb.Delta = 2, [32]float32{}
		for ib := range 8 {
			aux := binary.LittleEndian.Uint32(x[66+4*ib:])
			gb.Scale[ib] = d * (0.5 + float32(aux>>28)) * 0.5
			for l := range 4 {
				gb.Signs[4*ib+l] = ksigns[aux>>(7*l)&127]
			}
		}
		for e, q := range (*[64]byte)(x[2:]) {
			gb.Entries[e] = uint16(q)
		}
	case backend.WeightIQ3_S:
		x := (*[110]byte)(x)
		gb.Shift, gb.Delta = 2, [32]float32{}
		for ib := range 8 {
			s := x[106+ib/2] >> (4 * (ib % 2)) & 0xf
			gb.Scale[ib] = d * float32(1+2*int(s))
			h := uint16(x[66+ib])
			e := (*[8]byte)(x[2+8*ib:])
			en := (*[8]uint16)(gb.Entries[8*ib:])
			en[0] = uint16(e[0]) | h<<8&256
			en[1] = uint16(e[1]) | h<<7&256
			en[2] = uint16(e[2]) | h<<6&256
			en[3] = uint16(e[3]) | h<<5&256
			en[4] = uint16(e[4]) | h<<4&256
			en[5] = uint16(e[5]) | h<<3&256
			en[6] = uint16(e[6]) | h<<2&256
			en[7] = uint16(e[7]) | h<<1&256
		}
		gb.Signs = *(*[32]byte)(x[74:])
	case backend.WeightIQ1_S:
		x := (*[50]byte)(x)
		gb.Shift, gb.Signs = 2, [32]uint8{}
		for ib := range 8 {
			qh := binary.LittleEndian.Uint16(x[34+2*ib:])
			gb.Scale[ib] = d * float32(2*(qh>>12&7)+1)
			gb.Delta[ib] = iq1Delta
			if qh&0x8000 != 0 {
				gb.Delta[ib] = -iq1Delta
			}
			for l := range 4 {
				gb.Entries[4*ib+l] = uint16(x[2+4*ib+l]) | qh>>(3*l)&7<<8
			}
		}
	case backend.WeightIQ1_M:
		x := (*[56]byte)(x)
		gb.Shift, gb.Signs = 0, [32]uint8{}
		var sc [4]uint16
		for i := range sc {
			sc[i] = binary.LittleEndian.Uint16(x[48+2*i:])
		}
		d := weights.F16ToFloat32(sc[0]>>12 | sc[1]>>8&0xf0 | sc[2]>>4&0xf00 | sc[3]&0xf000)
		for s := range 16 { // one scale a 16 values
			dl := d * float32(2*(sc[s/4]>>(3*(s%4))&7)+1)
			for k := range 2 {
				e := 2*s + k
				nib := x[32+s] >> (4 * k)
				gb.Scale[e], gb.Delta[e] = dl, iq1Delta
				if nib&8 != 0 {
					gb.Delta[e] = -iq1Delta
				}
				gb.Entries[e] = uint16(x[e]) | uint16(nib&7)<<8
			}
		}
	}
}

// nibbleScales sets IQ2_XS's and IQ2_S's sixteen scales, one for each 16
// values: d·(0.5+s)·0.25 for the low, then the high nibble of each byte.
func nibbleScales(scale *[32]float32, d float32, sc *[8]byte) {
	for ib, b := range sc {
		scale[2*ib] = d * (0.5 + float32(b&0xf)) * 0.25
		scale[2*ib+1] = d * (0.5 + float32(b>>4)) * 0.25
	}
}

// ExpandGrid writes gb's 256 values into y, from the grid's level indices
// and levels (Grid).
func ExpandGrid(y *[256]float32, grid []uint8, width int, levels *[8]float32, gb *GridBlock) {
	for k := range 32 {
		g := k >> gb.Shift
		var lut [8]float32
		for i, l := range levels {
			lut[i] = gb.Scale[g] * (l + gb.Delta[g])
		}
		var v [8]uint8
		if width == 8 {
			v = *(*[8]uint8)(grid[8*int(gb.Entries[k]):])
		} else {
			copy(v[:4], grid[4*int(gb.Entries[2*k]):4*int(gb.Entries[2*k])+4])
			copy(v[4:], grid[4*int(gb.Entries[2*k+1]):4*int(gb.Entries[2*k+1])+4])
		}
		signs := gb.Signs[k]
		for j := range 8 {
			y[8*k+j] = math.Float32frombits(math.Float32bits(lut[v[j]&7]) ^ uint32(signs>>j&1)<<31)
		}
	}
}

// dequantizeGrid expands whole blocks of grid format f.
func dequantizeGrid(f backend.WeightFormat, dst []float32, src []byte) {
	_, bb, _ := f.Block()
	grid, width, levels := Grid(f)
	var gb GridBlock
	for b := range len(dst) / 256 {
		UnpackGrid(f, src[b*bb:(b+1)*bb], &gb)
		ExpandGrid((*[256]float32)(dst[b*256:]), grid, width, levels, &gb)
	}
}

// DequantizeIQ2_XXS and the other grid formats' decoders expand whole
// blocks of src into dst (UnpackGrid gives each format's layout).
func DequantizeIQ2_XXS(dst []float32, src []byte) { dequantizeGrid(backend.WeightIQ2_XXS, dst, src) }
func DequantizeIQ2_XS(dst []float32, src []byte)  { dequantizeGrid(backend.WeightIQ2_XS, dst, src) }
func DequantizeIQ2_S(dst []float32, src []byte)   { dequantizeGrid(backend.WeightIQ2_S, dst, src) }
func DequantizeIQ3_XXS(dst []float32, src []byte) { dequantizeGrid(backend.WeightIQ3_XXS, dst, src) }
func DequantizeIQ3_S(dst []float32, src []byte)   { dequantizeGrid(backend.WeightIQ3_S, dst, src) }
func DequantizeIQ1_S(dst []float32, src []byte)   { dequantizeGrid(backend.WeightIQ1_S, dst, src) }
func DequantizeIQ1_M(dst []float32, src []byte)   { dequantizeGrid(backend.WeightIQ1_M, dst, src) }

// DequantizeTQ1_0 expands TQ1_0 blocks (256 ternary values, 54 bytes: 48
// bytes of five base-3 digits each, 4 bytes of four, then d float16): a
// digit q (0–2) becomes d·(q−1). Byte b holds its digits as the fraction
// b/256 of 3⁵ (or 3⁴); digit n is ⌊3·(b·3ⁿ mod 256)/256⌋.
func DequantizeTQ1_0(dst []float32, src []byte) {
	const bb = 54
	pow3 := [5]uint8{1, 3, 9, 27, 81}
	for b := range len(dst) / 256 {
		x := (*[bb]byte)(src[b*bb:])
		y := (*[256]float32)(dst[b*256:])
		d := weights.F16ToFloat32(binary.LittleEndian.Uint16(x[52:]))
		lut := [4]float32{d * -1, d * 0, d * 1}
		trit := func(q, p uint8) float32 {
			return lut[uint16(q*p)*3>>8&3]
		}
		for n := range 5 {
			for m := range 32 {
				y[32*n+m] = trit(x[m], pow3[n])
			}
		}
		for n := range 5 {
			for m := range 16 {
				y[160+16*n+m] = trit(x[32+m], pow3[n])
			}
		}
		for n := range 4 {
			for m := range 4 {
				y[240+4*n+m] = trit(x[48+m], pow3[n])
			}
		}
	}
}

// DequantizeTQ2_0 expands TQ2_0 blocks (256 ternary values, 66 bytes: 64
// bytes of four 2-bit values, then d float16): q (0–3) becomes d·(q−1);
// byte m of each 32 holds value m of the four runs of 32 at bits 0, 2, 4
// and 6.
func DequantizeTQ2_0(dst []float32, src []byte) {
	const bb = 66
	for b := range len(dst) / 256 {
		x := (*[bb]byte)(src[b*bb:])
		y := (*[256]float32)(dst[b*256:])
		d := weights.F16ToFloat32(binary.LittleEndian.Uint16(x[64:]))
		lut := [4]float32{d * -1, d * 0, d * 1, d * 2}
		for j := range 2 {
			q := (*[32]byte)(x[32*j:])
			for l := range 4 {
				yl := (*[32]float32)(y[128*j+32*l:])
				for m, v := range q {
					yl[m] = lut[v>>(2*l)&3]
				}
			}
		}
	}
}

// fp4Values is FP4 (E2M1) doubled, ggml's kvalues_mxfp4: MXFP4's and
// NVFP4's scales are halved to match.
var fp4Values = [16]int8{0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12}

// fp4Levels returns d times each FP4 value, ggml's products.
func fp4Levels(d float32) (lut [16]float32) {
	for i, v := range fp4Values {
		lut[i] = d * float32(v)
	}
	return lut
}

// e8m0Half is an E8M0 scale byte as a float32, halved (ggml's
// ggml_e8m0_to_fp32_half).
func e8m0Half(e uint8) float32 {
	if e < 2 {
		return math.Float32frombits(0x00200000 << e)
	}
	return math.Float32frombits(uint32(e-1) << 23)
}

// DequantizeMXFP4 expands MXFP4 blocks (32 values, 17 bytes: an E8M0
// scale, then 16 bytes of FP4 codes, value j in the low nibble of byte j
// and value j+16 in the high one).
func DequantizeMXFP4(dst []float32, src []byte) {
	const bb = 17
	for b := range len(dst) / 32 {
		x := (*[bb]byte)(src[b*bb:])
		y := (*[32]float32)(dst[b*32:])
		lut := fp4Levels(e8m0Half(x[0]))
		for j, v := range (*[16]byte)(x[1:]) {
			y[j] = lut[v&0xf]
			y[j+16] = lut[v>>4]
		}
	}
}

// ue4m3Half is an unsigned E4M3 scale byte (bias 7) as a float32, halved
// (ggml's ggml_ue4m3_to_fp32 with the FP4 values doubled): 0 and 0x7F
// are zero.
func ue4m3Half(x uint8) float32 {
	if x == 0 || x == 0x7f {
		return 0
	}
	e, m := int(x>>3&0xf), float64(x&7)
	var v float64
	if e == 0 {
		v = m * 0x1p-9
	} else {
		v = (1 + m/8) * math.Ldexp(1, e-7)
	}
	return float32(v * 0.5)
}

// DequantizeNVFP4 expands NVFP4 blocks (64 values, 36 bytes: four UE4M3
// scales, one for each 16 values, then 32 bytes of FP4 codes: for each 16
// values 8 bytes, value j in the low nibble of byte j and value j+8 in
// the high one).
func DequantizeNVFP4(dst []float32, src []byte) {
	const bb = 36
	for b := range len(dst) / 64 {
		x := (*[bb]byte)(src[b*bb:])
		y := (*[64]float32)(dst[b*64:])
		for s := range 4 {
			lut := fp4Levels(ue4m3Half(x[s]))
			for j, v := range (*[8]byte)(x[4+8*s:]) {
				y[16*s+j] = lut[v&0xf]
				y[16*s+j+8] = lut[v>>4]
			}
		}
	}
}
