package cpu

import "github.com/dream-lsp/dream-lsp/runtime/quant"

// decodeRowK is decodeRow for the formats read from GGUF files only
// (Q4_K, Q6_K and Q5_0, the three a Q4_K_M file holds besides Q8_0): the
// panel's K slices are multiples of blockK, itself a multiple of the
// 256-value super-block, and a row is a whole number of blocks
// (UploadWeight checked it), so [k0, k1) always spans whole blocks. The block decoders
// are pure Go (bounds-check free, no branch per value): their cost is
// spread over the up to maxRowGroup rows each decoded panel serves.
func (w *wtensor) decodeRowK(dst []float32, row []byte, k0, k1 int) {
	if !quant.DequantizeRange(dst, w.format, row, k0, k1) {
		panic("cpu: decodeRow: weight format " + string(w.format) + " has no decoder")
	}
}
