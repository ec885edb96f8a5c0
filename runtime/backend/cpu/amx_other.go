//go:build !amd64 || purego

package cpu

// amxAvailable is false: this build has no AMX kernel.
func amxAvailable() bool { return false }
func amxTiles() bool     { return false }
func useTiles() bool     { return false }

var noTiles bool

func mmBF16(cfg *[64]byte, x *uint16, ldx int, w0, w1 *uint16, chunks int, out *float32, ldo int, pairs int, bias *float32, pf *byte, pfLines, pfPer int) {
	amxMM(cfg, x, ldx, w0, w1, chunks, out, ldo, pairs, bias, pf, pfLines, pfPer)
}

func amxMM(cfg *[64]byte, x *uint16, ldx int, w0, w1 *uint16, chunks int, out *float32, ldo int, pairs int, bias *float32, pf *byte, pfLines, pfPer int) {
	panic("cpu: amxMM without AMX support")
}

func cvtBF16(dst *uint16, src *float32, n int) { panic("cpu: cvtBF16 without AVX512-BF16 support") }

func dequantQ8AMX(dst *uint16, src *byte, tiles int) {
	panic("cpu: dequantQ8AMX without AMX support")
}

func amxQ8Block(cfg *[64]byte, x *uint16, ldx int, wq *byte, chunks int, out *float32, ldo int, left int, bias *float32, buf *uint16, pf *byte, pfLines, pfPer int) {
	panic("cpu: amxQ8Block without AMX support")
}

func bf16Rows(x *uint16, ldx int, w0, w1 *uint16, chunks int, out *float32, ldo int, rows int, bias *float32) {
	panic("cpu: bf16Rows without AVX512-BF16 support")
}

func bf16Rows4(x *uint16, ldx int, w0, w1 *uint16, chunks int, out *float32, ldo int, quads int, bias *float32) {
	panic("cpu: bf16Rows4 without AVX512-BF16 support")
}

func releasePages([]byte) {}

func discardPages([]byte) {}

func transpose16(dst, src *uint32, ld, n int) { panic("cpu: transpose16 without AVX-512") }

func decodeQ5KRowBF16(dst *uint16, src *byte, nb int) {
	panic("cpu: decodeQ5KRowBF16 without AVX-512")
}

func decodeQ4KRowBF16(dst *uint16, src *byte, nb int) {
	panic("cpu: decodeQ4KRowBF16 without AVX-512")
}

func decodeQ5RowBF16(dst *uint16, src *byte, nb int) {
	panic("cpu: decodeQ5RowBF16 without AVX-512")
}

func decodeQ6KRowBF16(dst *uint16, src *byte, nb int) {
	panic("cpu: decodeQ6KRowBF16 without AVX-512")
}
