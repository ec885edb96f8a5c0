package cpu

import (
	"encoding/binary"

	"github.com/dream-lsp/dream-lsp/runtime/backend"
	"github.com/dream-lsp/dream-lsp/runtime/quant"
	"github.com/dream-lsp/dream-lsp/runtime/weights"
)

// iq4Grid is the grid IQ4_NL's and IQ4_XS's 4-bit indices stand for
// (VPSHUFB's table in decode32 and decodeGrid).
var iq4Grid = quant.IQ4Grid()

// scaledBlocks reports whether decodeBlocks takes format f: the 256-value
// formats whose scales are unpacked in Go before the assembly expands
// the values (Q2_K, Q3_K, IQ4_XS).
func scaledBlocks(f backend.WeightFormat) bool {
	switch f {
	case backend.WeightQ2_K, backend.WeightQ3_K, backend.WeightIQ4_XS:
		return true
	}
	return false
}

func f16At(x []byte) float32 { return weights.F16ToFloat32(binary.LittleEndian.Uint16(x)) }

// decodeBlocks expands the whole blocks src of format f (scaledBlocks)
// into dst: each block's scales (and Q2_K's offsets) unpacked and
// multiplied out in Go as the reference decoders of package quant do
// (16 or 8 a block), its values by decode2bit (Q2_K, Q3_K) or decodeGrid
// (IQ4_XS), bit for bit the references' values.
func decodeBlocks(dst []float32, f backend.WeightFormat, src []byte) {
	_, bb, _ := f.Block()
	for b := range len(dst) / backend.KBlockSize {
		x := src[b*bb : (b+1)*bb]
		y := &dst[b*backend.KBlockSize]
		switch f {
		case backend.WeightQ2_K: // scales and mins at 0, quants at 16, d and dmin at 80
			var a, m [16]float32
			d, dmin := f16At(x[80:]), f16At(x[82:])
			for j, sc := range x[:16] {
				a[j], m[j] = d*float32(sc&0xf), -(dmin * float32(sc>>4))
			}
			decode2bit(y, &x[16], nil, &a[0], &m[0])
		case backend.WeightQ3_K: // high bits at 0, quants at 32, scales at 96, d at 108
			var a [16]float32
			d := f16At(x[108:])
			sb := (*[12]byte)(x[96:108])
			for j := range 16 {
				lo := sb[j%8] >> (4 * (j / 8)) & 0xf
				hi := sb[8+j%4] >> (2 * (j / 4)) & 3
				a[j] = d * float32(int32(lo|hi<<4)-32)
			}
			decode2bit(y, &x[32], &x[0], &a[0], nil)
		case backend.WeightIQ4_XS: // d, high and low scale bits, grid indices at 8
			var dl [8]float32
			d := f16At(x)
			sh := binary.LittleEndian.Uint16(x[2:])
			for j := range 8 {
				ls := x[4+j/2]>>(4*(j%2))&0xf | byte(sh>>(2*j)&3)<<4
				dl[j] = d * float32(int32(ls)-32)
			}
			decodeGrid(y, &x[8], &dl[0], &iq4Grid[0])
		}
	}
}
