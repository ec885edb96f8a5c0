//go:build amd64 && !purego

package cpu

import (
	"sync"

	"golang.org/x/sys/cpu"
)

// amxTiles reports, once, whether bf16 matmuls can run on AMX tiles:
// the CPU has AMX-TILE, AMX-BF16 and AVX512-BF16 (the activations'
// conversion) and the operating system granted this process the tile
// state (requestAMX).
var amxTiles = sync.OnceValue(func() bool {
	x := cpu.X86
	if !x.HasAMXTile || !x.HasAMXBF16 || !x.HasAVX512BF16 || !x.HasAVX512BW {
		return false
	}
	return requestAMX()
})

// bf16Dot reports whether the CPU has AVX512-BF16's VDPBF16PS and the
// AVX-512 the bf16 path's conversions use.
var bf16Dot = sync.OnceValue(func() bool {
	x := cpu.X86
	return x.HasAVX512F && x.HasAVX512BW && x.HasAVX512BF16
})

// amxAvailable reports whether the bf16 matmul path (SetBF16Matmul) runs
// here, on the tiles or with VDPBF16PS. The names keep "amx" from when
// the tiles were its only engine.
func amxAvailable() bool { return amxTiles() || bf16Dot() }

// noTiles makes a CPU with tiles take the VDPBF16PS path (tests).
var noTiles bool

// useTiles reports whether tile products run on the tiles, not VDPBF16PS.
func useTiles() bool { return amxTiles() && !noTiles }

// mmBF16 is amxMM, or bf16Rows4 over the same rows where the CPU has
// VDPBF16PS but no tiles: AMD Zen 4 and later. There a product loads
// each weight pair once for four rows; on a Zen 4 VM it doubled the
// 0.5B-shaped forward's GFLOP per CPU-second against the float32 kernels
// (83 → 189, 2026-12-04).
func mmBF16(cfg *[64]byte, x *uint16, ldx int, w0, w1 *uint16, chunks int, out *float32, ldo int, pairs int, bias *float32, pf *byte, pfLines, pfPer int) {
	if useTiles() {
		amxMM(cfg, x, ldx, w0, w1, chunks, out, ldo, pairs, bias, pf, pfLines, pfPer)
		return
	}
	bf16Rows4(x, ldx, w0, w1, chunks, out, ldo, 8*pairs, bias)
}

// bf16Rows4 is bf16Rows for quads·4 rows, four at a time; see amx_amd64.s.
//
//go:noescape
func bf16Rows4(x *uint16, ldx int, w0, w1 *uint16, chunks int, out *float32, ldo int, quads int, bias *float32)

// amxMM sets pairs 32×32 blocks of out to x·wᵀ (+ bias's 32 values
// unless nil) on AMX tiles; see amx_amd64.s. ldx and ldo are byte
// strides; w0 and w1 point at two 16-column blocks of an amxPacked
// weight. Each call configures the tiles and releases them before it
// returns, so no tile state is live across goroutine switches. While it
// multiplies it prefetches pfLines 64-byte lines from pf into L2, pfPer
// per chunk (none when pfLines is 0).
//
//go:noescape
func amxMM(cfg *[64]byte, x *uint16, ldx int, w0, w1 *uint16, chunks int, out *float32, ldo int, pairs int, bias *float32, pf *byte, pfLines, pfPer int)

// cvtBF16 rounds n float32 values (a multiple of 32) to bf16, nearest
// even, as the AMX tiles take them.
//
//go:noescape
func cvtBF16(dst *uint16, src *float32, n int)

// dequantQ8AMX turns tiles q8_0 tiles of amxPacked into bf16 B tiles for
// amxMM; see amx_amd64.s.
//
//go:noescape
func dequantQ8AMX(dst *uint16, src *byte, tiles int)

// bf16Rows sets rows rows of 32 outputs to x·wᵀ (+ bias unless nil) from
// the same bf16 activations and packed weight blocks as amxMM, with
// AVX512-BF16's VDPBF16PS instead of the tiles; see amx_amd64.s.
//
//go:noescape
func bf16Rows(x *uint16, ldx int, w0, w1 *uint16, chunks int, out *float32, ldo int, rows int, bias *float32)

// amxQ8Block is amxMM for one 32-row block plus bf16Rows for the left
// (0–2) rows after it, for a q8_0 weight's column block wq in amxPacked,
// converting it to bf16 chunk by chunk in buf (2048 values: two stages
// that stay in L1) while the tiles multiply; see amx_amd64.s. The sums
// are amxMM's and bf16Rows', bit for bit.
//
//go:noescape
func amxQ8Block(cfg *[64]byte, x *uint16, ldx int, wq *byte, chunks int, out *float32, ldo int, left int, bias *float32, buf *uint16, pf *byte, pfLines, pfPer int)

// transpose16 sets dst[16q+i] = src[i·ld+q] for i < 16 and q < n (n a
// multiple of 16): 16 rows of 32-bit values into n rows of 16, with
// AVX-512 (a CPU with the tiles has it).
//
//go:noescape
func transpose16(dst, src *uint32, ld, n int)

// decodeKRowBF16 writes nb Q4_K blocks (144 bytes each, from src), or
// with five Q5_K blocks (176 bytes), as 256·nb bf16 values: the float32
// decoders' values rounded to nearest even, in one AVX-512 pass; see
// amx_amd64.s.
//
//go:noescape
func decodeKRowBF16(dst *uint16, src *byte, nb int, five bool)

// decodeQ4KRowBF16 is decodeKRowBF16 for Q4_K blocks.
func decodeQ4KRowBF16(dst *uint16, src *byte, nb int) { decodeKRowBF16(dst, src, nb, false) }

// decodeQ5KRowBF16 is decodeKRowBF16 for Q5_K blocks.
func decodeQ5KRowBF16(dst *uint16, src *byte, nb int) { decodeKRowBF16(dst, src, nb, true) }

// decodeQ5RowBF16 writes nb Q5_0 blocks (22 bytes each, from src) as
// 32·nb bf16 values: cvtBF16 of decodeRow's values, bit for bit, in one
// pass (AVX-512, F16C and AVX512_BF16).
//
//go:noescape
func decodeQ5RowBF16(dst *uint16, src *byte, nb int)

// decodeQ6KRowBF16 writes nb Q6_K blocks (210 bytes each, from src) as
// 256·nb bf16 values: cvtBF16 of decodeRow's values, bit for bit, in one
// pass (AVX-512, F16C and AVX512_BF16).
//
//go:noescape
func decodeQ6KRowBF16(dst *uint16, src *byte, nb int)
