package cpu

import (
	"github.com/dream-lsp/dream-lsp/runtime/backend"
	"github.com/dream-lsp/dream-lsp/runtime/quant"
)

// decodeRowK is decodeRow for the formats read from GGUF files only (the
// k-quants, Q5_0 and the other block formats but Q8_0): the panel's K
// slices are multiples of blockK, itself a multiple of the 256-value
// super-block, and a row is a whole number of blocks (UploadWeight
// checked it), so [k0, k1) always spans whole blocks.
// With AVX2, Q4_K, Q5_K and Q6_K blocks are expanded by the assembly
// decoders (the scales unpacked in Go, quant.Q4KScales / Q5KScales /
// Q6KScales, then one multiply, and for Q4_K and Q5_K one subtraction,
// per value, rounded as the Go reference), and so are the 32-value
// blocks (Q5_0, Q4_0, Q4_1, Q5_1, IQ4_NL: decode32, with F16C as Q8_0's)
// and Q2_K, Q3_K, IQ4_XS and the IQ1–IQ3 grids (decodeBlocks); TQ and FP4
// blocks, and CPUs without AVX2, use the pure-Go reference.
func (w *wtensor) decodeRowK(dst []float32, row []byte, k0, k1 int) {
	if haveSIMD {
		switch w.format {
		case backend.WeightQ4_K:
			src := row[k0/backend.KBlockSize*backend.Q4KBlockBytes : k1/backend.KBlockSize*backend.Q4KBlockBytes]
			for b := range len(src) / backend.Q4KBlockBytes {
				x := (*[backend.Q4KBlockBytes]byte)(src[b*backend.Q4KBlockBytes:])
				dm := quant.Q4KScales(x)
				decodeKBlock(&dst[b*backend.KBlockSize], &x[16], &dm[0], nil)
			}
			return
		case backend.WeightQ5_K:
			const bb = 176
			src := row[k0/backend.KBlockSize*bb : k1/backend.KBlockSize*bb]
			for b := range len(src) / bb {
				x := (*[bb]byte)(src[b*bb:])
				dm := quant.Q5KScales(x)
				decodeKBlock(&dst[b*backend.KBlockSize], &x[48], &dm[0], &x[16])
			}
			return
		case backend.WeightQ6_K:
			src := row[k0/backend.KBlockSize*backend.Q6KBlockBytes : k1/backend.KBlockSize*backend.Q6KBlockBytes]
			for b := range len(src) / backend.Q6KBlockBytes {
				x := (*[backend.Q6KBlockBytes]byte)(src[b*backend.Q6KBlockBytes:])
				ds := quant.Q6KScales(x)
				decodeQ6KBlock(&dst[b*backend.KBlockSize], &x[0], &ds[0])
			}
			return
		case backend.WeightQ5_0, backend.WeightQ4_0, backend.WeightQ4_1, backend.WeightQ5_1, backend.WeightIQ4_NL:
			if haveF16C {
				bb := w.blockBytes
				src := row[k0/backend.Q8BlockSize*bb : k1/backend.Q8BlockSize*bb]
				nb := len(src) / bb
				switch w.format {
				case backend.WeightQ5_0:
					decode32(&dst[0], &src[0], nb, bb, 6, 2, false, 16, nil)
				case backend.WeightQ4_0:
					decode32(&dst[0], &src[0], nb, bb, 2, 0, false, 8, nil)
				case backend.WeightQ4_1:
					decode32(&dst[0], &src[0], nb, bb, 4, 0, true, 0, nil)
				case backend.WeightQ5_1:
					decode32(&dst[0], &src[0], nb, bb, 8, 4, true, 0, nil)
				default:
					decode32(&dst[0], &src[0], nb, bb, 2, 0, false, 0, &iq4Grid[0])
				}
				return
			}
		default:
			if scaledBlocks(w.format) { // weights_blocks.go
				b0, b1 := k0/w.blockVals*w.blockBytes, k1/w.blockVals*w.blockBytes
				decodeBlocks(dst[:k1-k0], w.format, row[b0:b1], w.blockBytes)
				return
			}
		}
	}
	if !quant.DequantizeRange(dst, w.format, row, k0, k1) {
		panic("cpu: decodeRow: weight format " + string(w.format) + " has no decoder")
	}
}
