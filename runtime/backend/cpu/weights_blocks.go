package cpu

import (
	"github.com/dream-lsp/dream-lsp/runtime/backend"
	"github.com/dream-lsp/dream-lsp/runtime/quant"
)

// iq4Grid is the grid IQ4_NL's and IQ4_XS's 4-bit indices stand for
// (VPSHUFB's table in decode32 and decodeGrid).
var iq4Grid = quant.IQ4Grid()

// scaledBlocks reports whether decodeBlocks takes format f: the 256-value
// formats whose scales are unpacked in Go before the assembly expands
// the values (Q2_K, Q3_K, IQ4_XS, and the grid formats IQ1_S … IQ3_S).
func scaledBlocks(f backend.WeightFormat) bool {
	switch f {
	case backend.WeightQ2_K, backend.WeightQ3_K, backend.WeightIQ4_XS:
		return true
	}
	g, _, _ := quant.Grid(f)
	return g != nil
}

// decodeBlocks expands the whole blocks src of format f (scaledBlocks,
// bb bytes a block) into dst: each block's scales (and Q2_K's mins) unpacked by package
// quant as its reference decoders do (16 or 8 a block), its values by
// decode2bit (Q2_K, Q3_K) or decodeGrid (IQ4_XS), bit for bit the
// references' values; a grid format's block is unpacked by
// quant.UnpackGrid and expanded by expandGrid.
func decodeBlocks(dst []float32, f backend.WeightFormat, src []byte, bb int) {
	if grid, width, levels := quant.Grid(f); grid != nil {
		var gb quant.GridBlock
		for b := range len(dst) / backend.KBlockSize {
			quant.UnpackGrid(f, src[b*bb:(b+1)*bb], &gb)
			expandGrid(&dst[b*backend.KBlockSize], &grid[0], &gb.Entries[0], &gb.Signs[0], &gb.Scale[0], &gb.Delta[0], &levels[0], gb.Shift, width)
		}
		return
	}
	for b := range len(dst) / backend.KBlockSize {
		x := src[b*bb : (b+1)*bb]
		y := &dst[b*backend.KBlockSize]
		switch f {
		case backend.WeightQ2_K: // quants at 16
			a, m := quant.Q2KScales((*[84]byte)(x))
			for j := range m {
				m[j] = -m[j] // d·sc·q − dmin·m as a·q + b
			}
			decode2bit(y, &x[16], nil, &a[0], &m[0])
		case backend.WeightQ3_K: // high bits at 0, quants at 32
			a := quant.Q3KScales((*[110]byte)(x))
			decode2bit(y, &x[32], &x[0], &a[0], nil)
		case backend.WeightIQ4_XS: // grid indices at 8
			dl := quant.IQ4XSScales((*[136]byte)(x))
			decodeGrid(y, &x[8], &dl[0], &iq4Grid[0])
		}
	}
}
