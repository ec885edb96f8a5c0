//go:build amd64 && !purego

package cpu

// decodeKBlock expands one Q4_K block (quants qs, scales and mins dm
// from quant.Q4KScales, qh nil) or Q5_K block (quant.Q5KScales, and its
// fifth bits qh) into 256 float32. Implemented in
// weights_kquant_amd64.s (AVX2).
//
//go:noescape
func decodeKBlock(dst *float32, qs *byte, dm *float32, qh *byte)

// decodeQ6KBlock expands one Q6_K block x (scales times d in ds, from
// quant.Q6KScales) into 256 float32.
//
//go:noescape
func decodeQ6KBlock(dst *float32, x *byte, ds *float32)

// decode32 expands nb 32-value blocks of stride bytes (Q5_0, Q4_0, Q4_1,
// Q5_1, IQ4_NL: a float16 d at 0, 16 bytes of nibbles at qs, fifth bits at qh
// when qh > 0, a float16 offset at 2 with m, 4-bit grid indices with
// grid) into float32: float32(q − sub)·d (+ m). Implemented in
// weights_kquant_amd64.s (AVX2, F16C).
//
//go:noescape
func decode32(dst *float32, src *byte, nb, stride, qs, qh int, m bool, sub int, grid *int8)

// decode2bit expands one Q2_K block (hm nil; offsets b) or Q3_K block
// (hm its high bits; b nil) from its 2-bit quants qs and its sixteen
// scales a: a[i/16]·q (+ b[i/16]). Implemented in weights_kquant_amd64.s
// (AVX2).
//
//go:noescape
func decode2bit(dst *float32, qs, hm *byte, a, b *float32)

// decodeGrid expands one IQ4_XS block from its 128 bytes of grid indices
// qs and its eight sub-block scales dl: dl[j]·grid[q]. Implemented in
// weights_kquant_amd64.s (AVX2).
//
//go:noescape
func decodeGrid(dst *float32, qs *byte, dl *float32, grid *int8)

// expandGrid writes the 256 values of an unpacked grid-format block
// (quant.GridBlock: its Entries, Signs, Scale, Delta and Shift; the
// grid's levels and entries' width, 8 or 4, from quant.Grid) into dst, the values quant.ExpandGrid gives.
// Implemented in weights_grid_amd64.s (AVX2).
//
//go:noescape
func expandGrid(dst *float32, grid *uint8, entries *uint16, signs *uint8, scale, delta, levels *float32, shift uint, width int)
