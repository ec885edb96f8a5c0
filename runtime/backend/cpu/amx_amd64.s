//go:build amd64 && !purego

#include "textflag.h"

// Go's assembler has no AMX or AVX512_BF16 mnemonics, so these macros
// write the instructions' bytes. Tile and general registers are numbers
// (AX=0, CX=1, DX=2, BX=3, SI=6, DI=7); only registers below 8 are used,
// so the VEX R/X/B bits are constant. Checked against objdump (amx_test.go
// runs every instruction).

// LDTILECFG (SI): VEX.128.NP.0F38.W0 49 /0.
#define LDTILECFG_SI BYTE $0xC4; BYTE $0xE2; BYTE $0x78; BYTE $0x49; BYTE $0x06
// TILERELEASE: VEX.128.NP.0F38.W0 49 C0.
#define TILERELEASE BYTE $0xC4; BYTE $0xE2; BYTE $0x78; BYTE $0x49; BYTE $0xC0
// TILEZERO tmm t: VEX.128.F2.0F38.W0 49 11:t:000.
#define TILEZERO(t) BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x49; BYTE $(0xC0|(t<<3))
// TILELOADD tmm t, (base)(index*1): VEX.128.F2.0F38.W0 4B, ModRM 00:t:100, SIB.
#define TILELOADD(t, base, index) BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x4B; BYTE $((t<<3)|4); BYTE $((index<<3)|base)
// TILESTORED (base)(index*1), tmm t: VEX.128.F3.0F38.W0 4B.
#define TILESTORED(t, base, index) BYTE $0xC4; BYTE $0xE2; BYTE $0x7A; BYTE $0x4B; BYTE $((t<<3)|4); BYTE $((index<<3)|base)
// TDPBF16PS tmm c, tmm a, tmm b (c += a·b): VEX.128.F3.0F38.W0 5C with
// c in ModRM.reg, a in ModRM.rm and b in VEX.vvvv.
#define TDPBF16PS(c, a, b) BYTE $0xC4; BYTE $0xE2; BYTE $(((15-b)<<3)|2); BYTE $0x5C; BYTE $(0xC0|(c<<3)|a)

// CBIAS: the four accumulator tiles from the 32 bias values at BX, each
// row the same (row stride 0, DX); BX moves on 64 bytes. CZERO: all zero.
#define CBIAS \
	XORQ DX, DX; \
	TILELOADD(0, 3, 2); \
	TILELOADD(2, 3, 2); \
	ADDQ $64, BX; \
	TILELOADD(1, 3, 2); \
	TILELOADD(3, 3, 2)
#define CZERO \
	TILEZERO(0); \
	TILEZERO(1); \
	TILEZERO(2); \
	TILEZERO(3)

// CSTORE(out): the accumulator tiles to the 32×32 block at out (a
// register or a memory operand), rows DX bytes apart; BX and DI are
// overwritten.
#define CSTORE(out) \
	MOVQ out, BX; \
	TILESTORED(0, 3, 2); \
	ADDQ $64, BX; \
	TILESTORED(1, 3, 2); \
	MOVQ DX, DI; \
	SHLQ $4, DI; \
	ADDQ out, DI; \
	TILESTORED(2, 7, 2); \
	ADDQ $64, DI; \
	TILESTORED(3, 7, 2)

// VCVTNE2PS2BF16 zmm d, zmm v, zmm r (EVEX.512.F2.0F38.W0 72): d's low
// 16 bf16 are r's values rounded to nearest even, its high 16 v's.
#define VCVTNE2PS2BF16(r, v, d) \
	BYTE $0x62; \
	BYTE $(((1-((d>>3)&1))<<7) | ((1-((r>>4)&1))<<6) | ((1-((r>>3)&1))<<5) | ((1-((d>>4)&1))<<4) | 2); \
	BYTE $(((15-(v&15))<<3) | 4 | 3); \
	BYTE $((2<<5) | ((1-((v>>4)&1))<<3)); \
	BYTE $0x72; \
	BYTE $(0xC0 | ((d&7)<<3) | (r&7))

// func amxMM(cfg *[64]byte, x *uint16, ldx int, w0, w1 *uint16, chunks int, out *float32, ldo int, pairs int, bias *float32)
// For each of pairs 32-row blocks of x (bf16, ldx bytes between rows; the
// block p starts 32·p rows down), sets the 32×32 block of out (ldo bytes
// between rows, 32·p rows down) to x·wᵀ over chunks·32 values of K, where
// w0 and w1 are two 16-column weight blocks in VNNI tiles (amxPacked: one
// 1 KiB tile per 32 values of K, consecutive), plus bias's 32 values
// unless bias is nil: the sums start from the bias (each accumulator tile
// loaded with a row stride of 0). Tiles: C in tmm0-3 (rows t, t+16 ×
// columns w0, w1), x in tmm4-5, w in tmm6-7, every tile 16 rows of 64
// bytes (cfg).
//
// pfLines > 0: it also issues pfLines PREFETCHT1s, one per 64-byte line
// from pf on (the weight bytes the task after this one reads), pfPer of
// them before each chunk's tile loads, so memory streams them into L2
// while the tiles multiply.
TEXT ·amxMM(SB), NOSPLIT, $0-104
	MOVQ cfg+0(FP), SI
	LDTILECFG_SI
	MOVQ pf+80(FP), R12
	MOVQ pfLines+88(FP), R13
	MOVQ pfPer+96(FP), R14
	MOVQ pairs+64(FP), R9
	MOVQ x+8(FP), R10
	MOVQ out+48(FP), R11
pair:
	MOVQ bias+72(FP), BX
	TESTQ BX, BX
	JZ nobias
	CBIAS
	JMP sums
nobias:
	CZERO
sums:
	MOVQ ldx+16(FP), DX
	MOVQ R10, BX
	MOVQ DX, DI
	SHLQ $4, DI
	ADDQ BX, DI
	MOVQ w0+24(FP), AX
	MOVQ w1+32(FP), CX
	MOVQ chunks+40(FP), R8
	MOVQ $64, SI
chunk:
	TESTQ R13, R13
	JZ pfdone
	MOVQ R14, R15
pfloop:
	PREFETCHT1 (R12)
	ADDQ $64, R12
	DECQ R13
	JZ pfdone
	DECQ R15
	JNZ pfloop
pfdone:
	TILELOADD(4, 3, 2)
	TILELOADD(5, 7, 2)
	TILELOADD(6, 0, 6)
	TILELOADD(7, 1, 6)
	TDPBF16PS(0, 4, 6)
	TDPBF16PS(1, 4, 7)
	TDPBF16PS(2, 5, 6)
	TDPBF16PS(3, 5, 7)
	ADDQ $64, BX
	ADDQ $64, DI
	ADDQ $1024, AX
	ADDQ $1024, CX
	DECQ R8
	JNZ chunk
	MOVQ ldo+56(FP), DX
	CSTORE(R11)
	// Next 32 rows of x and of out.
	MOVQ ldx+16(FP), DX
	SHLQ $5, DX
	ADDQ DX, R10
	MOVQ ldo+56(FP), DX
	SHLQ $5, DX
	ADDQ DX, R11
	DECQ R9
	JNZ pair
	TILERELEASE
	RET

// func cvtBF16(dst *uint16, src *float32, n int)
// dst[i] = src[i] rounded to bf16 (nearest even) for i < n; n is a
// multiple of 32.
TEXT ·cvtBF16(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $5, CX
	JZ cvtdone
cvtloop:
	VMOVUPS (SI), Z1
	VMOVUPS 64(SI), Z2
	VCVTNE2PS2BF16(1, 2, 3)
	VMOVDQU16 Z3, (DI)
	ADDQ $128, SI
	ADDQ $64, DI
	DECQ CX
	JNZ cvtloop
cvtdone:
	VZEROUPPER
	RET

// q8PairIdx: VPERMPS indices that spread 16 column scales over the 32
// values of a tile row, two per column: [0,0,1,1,…,7,7] then [8,8,…,15,15].
DATA q8PairIdx<>+0(SB)/8, $0x0000000000000000
DATA q8PairIdx<>+8(SB)/8, $0x0000000100000001
DATA q8PairIdx<>+16(SB)/8, $0x0000000200000002
DATA q8PairIdx<>+24(SB)/8, $0x0000000300000003
DATA q8PairIdx<>+32(SB)/8, $0x0000000400000004
DATA q8PairIdx<>+40(SB)/8, $0x0000000500000005
DATA q8PairIdx<>+48(SB)/8, $0x0000000600000006
DATA q8PairIdx<>+56(SB)/8, $0x0000000700000007
DATA q8PairIdx<>+64(SB)/8, $0x0000000800000008
DATA q8PairIdx<>+72(SB)/8, $0x0000000900000009
DATA q8PairIdx<>+80(SB)/8, $0x0000000a0000000a
DATA q8PairIdx<>+88(SB)/8, $0x0000000b0000000b
DATA q8PairIdx<>+96(SB)/8, $0x0000000c0000000c
DATA q8PairIdx<>+104(SB)/8, $0x0000000d0000000d
DATA q8PairIdx<>+112(SB)/8, $0x0000000e0000000e
DATA q8PairIdx<>+120(SB)/8, $0x0000000f0000000f
GLOBL q8PairIdx<>(SB), RODATA|NOPTR, $128

// func dequantQ8AMX(dst *uint16, src *byte, tiles int)
// Turns tiles consecutive q8_0 tiles of amxPacked (512 int8 in B-tile
// order, then 16 float16 column scales) into bf16 B tiles (1 KiB each):
// every value int8 × its column's scale, rounded to nearest even. The
// product is exact in float32 (8 × 11 significant bits), so the only
// rounding is bf16's.
TEXT ·dequantQ8AMX(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ tiles+16(FP), CX
	TESTQ CX, CX
	JZ q8done
	VMOVDQU32 q8PairIdx<>+0(SB), Z30
	VMOVDQU32 q8PairIdx<>+64(SB), Z31
q8tile:
	VCVTPH2PS 512(SI), Z0
	VPERMPS Z0, Z30, Z28
	VPERMPS Z0, Z31, Z29
	MOVQ $8, DX
q8row:
	VPMOVSXBD (SI), Z1
	VPMOVSXBD 16(SI), Z2
	VPMOVSXBD 32(SI), Z4
	VPMOVSXBD 48(SI), Z5
	VCVTDQ2PS Z1, Z1
	VCVTDQ2PS Z2, Z2
	VCVTDQ2PS Z4, Z4
	VCVTDQ2PS Z5, Z5
	VMULPS Z28, Z1, Z1
	VMULPS Z29, Z2, Z2
	VMULPS Z28, Z4, Z4
	VMULPS Z29, Z5, Z5
	VCVTNE2PS2BF16(1, 2, 3)
	VCVTNE2PS2BF16(4, 5, 6)
	VMOVDQU16 Z3, (DI)
	VMOVDQU16 Z6, 64(DI)
	ADDQ $64, SI
	ADDQ $128, DI
	DECQ DX
	JNZ q8row
	ADDQ $32, SI
	DECQ CX
	JNZ q8tile
q8done:
	VZEROUPPER
	RET

// VDPBF16PS zmm d, zmm v, zmm r (EVEX.512.F3.0F38.W0 52): each of d's 16
// float32 lanes += v's bf16 pair × r's bf16 pair in that lane.
#define VDPBF16PS(r, v, d) \
	BYTE $0x62; \
	BYTE $(((1-((d>>3)&1))<<7) | ((1-((r>>4)&1))<<6) | ((1-((r>>3)&1))<<5) | ((1-((d>>4)&1))<<4) | 2); \
	BYTE $(((15-(v&15))<<3) | 4 | 2); \
	BYTE $((2<<5) | ((1-((v>>4)&1))<<3)); \
	BYTE $0x52; \
	BYTE $(0xC0 | ((d&7)<<3) | (r&7))

// ROWPAIR(off, a0, a1): tile row off/64 of the current chunk: x's pair of
// K values broadcast to Z1, times both weight blocks' pairs, into Za0 and
// Za1. The chunk's 16 tile rows go to four accumulator pairs in turn, so
// no chain of dependent VDPBF16PS is longer than 4 a chunk.
#define ROWPAIR(off, a0, a1) \
	VPBROADCASTD (off/16)(SI), Z1; \
	VMOVDQU32 (off)(AX), Z4; \
	VMOVDQU32 (off)(CX), Z5; \
	VDPBF16PS(4, 1, a0); \
	VDPBF16PS(5, 1, a1)

// func bf16Rows(x *uint16, ldx int, w0, w1 *uint16, chunks int, out *float32, ldo int, rows int, bias *float32)
// amxMM for a few rows without the tiles: for each of rows rows of x
// (bf16, ldx bytes apart) sets 32 values of out (ldo bytes apart) to
// x·wᵀ (+ bias's 32 values unless nil) over chunks·32 values of K, with
// w0 and w1 two 16-column blocks in amxPacked's tiles, whose rows are the
// bf16 pairs VDPBF16PS takes. A row costs a fraction of the 32-row block
// the tiles would compute for it.
TEXT ·bf16Rows(SB), NOSPLIT, $0-72
	MOVQ x+0(FP), R10
	MOVQ out+40(FP), R11
	MOVQ rows+56(FP), R9
	TESTQ R9, R9
	JZ rowsdone
row:
	MOVQ bias+64(FP), BX
	TESTQ BX, BX
	JZ rowzero
	VMOVUPS (BX), Z2
	VMOVUPS 64(BX), Z3
	JMP rowsums
rowzero:
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
rowsums:
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	MOVQ R10, SI
	MOVQ w0+16(FP), AX
	MOVQ w1+24(FP), CX
	MOVQ chunks+32(FP), R8
rowchunk:
	ROWPAIR(0, 2, 3)
	ROWPAIR(64, 6, 7)
	ROWPAIR(128, 8, 9)
	ROWPAIR(192, 10, 11)
	ROWPAIR(256, 2, 3)
	ROWPAIR(320, 6, 7)
	ROWPAIR(384, 8, 9)
	ROWPAIR(448, 10, 11)
	ROWPAIR(512, 2, 3)
	ROWPAIR(576, 6, 7)
	ROWPAIR(640, 8, 9)
	ROWPAIR(704, 10, 11)
	ROWPAIR(768, 2, 3)
	ROWPAIR(832, 6, 7)
	ROWPAIR(896, 8, 9)
	ROWPAIR(960, 10, 11)
	ADDQ $64, SI
	ADDQ $1024, AX
	ADDQ $1024, CX
	DECQ R8
	JNZ rowchunk
	VADDPS Z6, Z2, Z2
	VADDPS Z7, Z3, Z3
	VADDPS Z10, Z8, Z8
	VADDPS Z11, Z9, Z9
	VADDPS Z8, Z2, Z2
	VADDPS Z9, Z3, Z3
	VMOVUPS Z2, (R11)
	VMOVUPS Z3, 64(R11)
	ADDQ ldx+8(FP), R10
	ADDQ ldo+48(FP), R11
	DECQ R9
	JNZ row
rowsdone:
	VZEROUPPER
	RET

// QUADPAIR(off): pair off/64 of the current chunk for four rows of x
// (SI, DI, R13 and R13+R12): both weight blocks' pairs loaded once, each
// row's pair broadcast, eight VDPBF16PS into Z16–Z23 (row r's two
// 16-column sums in Z16+2r and Z17+2r).
#define QUADPAIR(off) \
	VMOVDQU32 (off)(AX), Z4; \
	VMOVDQU32 (off)(CX), Z5; \
	VPBROADCASTD (off/16)(SI), Z24; \
	VPBROADCASTD (off/16)(DI), Z25; \
	VPBROADCASTD (off/16)(R13), Z26; \
	VPBROADCASTD (off/16)(R13)(R12*1), Z27; \
	VDPBF16PS(4, 24, 16); \
	VDPBF16PS(5, 24, 17); \
	VDPBF16PS(4, 25, 18); \
	VDPBF16PS(5, 25, 19); \
	VDPBF16PS(4, 26, 20); \
	VDPBF16PS(5, 26, 21); \
	VDPBF16PS(4, 27, 22); \
	VDPBF16PS(5, 27, 23)

// func bf16Rows4(x *uint16, ldx int, w0, w1 *uint16, chunks int, out *float32, ldo int, quads int, bias *float32)
// bf16Rows four rows at a time, for CPUs with VDPBF16PS and no tiles:
// each weight pair loaded once serves four rows, so a product costs one
// load in four instead of one in two. quads·4 rows of x (bf16, ldx bytes
// apart) give 32 values each of out (ldo bytes apart), x·wᵀ (+ bias's 32
// values unless nil) over chunks·32 values of K.
TEXT ·bf16Rows4(SB), NOSPLIT, $0-72
	MOVQ x+0(FP), R10
	MOVQ ldx+8(FP), R12
	MOVQ out+40(FP), R11
	MOVQ ldo+48(FP), BX
	MOVQ quads+56(FP), R9
	TESTQ R9, R9
	JZ quadsdone
quad:
	MOVQ bias+64(FP), DX
	TESTQ DX, DX
	JZ quadzero
	VMOVUPS (DX), Z16
	VMOVUPS 64(DX), Z17
	JMP quadinit
quadzero:
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
quadinit:
	VMOVAPS Z16, Z18
	VMOVAPS Z17, Z19
	VMOVAPS Z16, Z20
	VMOVAPS Z17, Z21
	VMOVAPS Z16, Z22
	VMOVAPS Z17, Z23
	MOVQ R10, SI
	LEAQ (R10)(R12*1), DI
	LEAQ (DI)(R12*1), R13
	MOVQ w0+16(FP), AX
	MOVQ w1+24(FP), CX
	MOVQ chunks+32(FP), R8
quadchunk:
	QUADPAIR(0)
	QUADPAIR(64)
	QUADPAIR(128)
	QUADPAIR(192)
	QUADPAIR(256)
	QUADPAIR(320)
	QUADPAIR(384)
	QUADPAIR(448)
	QUADPAIR(512)
	QUADPAIR(576)
	QUADPAIR(640)
	QUADPAIR(704)
	QUADPAIR(768)
	QUADPAIR(832)
	QUADPAIR(896)
	QUADPAIR(960)
	ADDQ $64, SI
	ADDQ $64, DI
	ADDQ $64, R13
	ADDQ $1024, AX
	ADDQ $1024, CX
	DECQ R8
	JNZ quadchunk
	VMOVUPS Z16, (R11)
	VMOVUPS Z17, 64(R11)
	LEAQ (R11)(BX*1), DX
	VMOVUPS Z18, (DX)
	VMOVUPS Z19, 64(DX)
	ADDQ BX, DX
	VMOVUPS Z20, (DX)
	VMOVUPS Z21, 64(DX)
	ADDQ BX, DX
	VMOVUPS Z22, (DX)
	VMOVUPS Z23, 64(DX)
	LEAQ (R10)(R12*4), R10
	LEAQ (R11)(BX*4), R11
	DECQ R9
	JNZ quad
quadsdone:
	VZEROUPPER
	RET

// DQ2ROWS(src, soff, dst, doff, s0, s1): two B-tile rows of a q8_0 tile
// (64 int8 at soff(src), the 16 column scales spread in s0 and s1 as
// DQSCALES leaves them) to bf16 at doff(dst): one iteration of
// dequantQ8AMX's loop, the same instructions.
#define DQ2ROWS(src, soff, dst, doff, s0, s1) \
	VPMOVSXBD (soff)(src), Z1; \
	VPMOVSXBD (soff+16)(src), Z2; \
	VPMOVSXBD (soff+32)(src), Z4; \
	VPMOVSXBD (soff+48)(src), Z5; \
	VCVTDQ2PS Z1, Z1; \
	VCVTDQ2PS Z2, Z2; \
	VCVTDQ2PS Z4, Z4; \
	VCVTDQ2PS Z5, Z5; \
	VMULPS s0, Z1, Z1; \
	VMULPS s1, Z2, Z2; \
	VMULPS s0, Z4, Z4; \
	VMULPS s1, Z5, Z5; \
	VCVTNE2PS2BF16(1, 2, 3); \
	VCVTNE2PS2BF16(4, 5, 6); \
	VMOVDQU16 Z3, (doff)(dst); \
	VMOVDQU16 Z6, (doff+64)(dst)

// DQSCALES(src, s0, s1): the q8_0 tile at src's 16 float16 column scales,
// each twice, in s0 (columns 0–7) and s1 (8–15).
#define DQSCALES(src, s0, s1) \
	VCVTPH2PS 512(src), Z0; \
	VPERMPS Z0, Z30, s0; \
	VPERMPS Z0, Z31, s1

// DQQUARTER(src, q, dst, doff, s0, s1): rows 4q to 4q+3 of the q8_0 tile
// at src to bf16 at doff(dst).
#define DQQUARTER(src, q, dst, doff, s0, s1) \
	DQ2ROWS(src, 128*q, dst, doff+256*q, s0, s1); \
	DQ2ROWS(src, 128*q+64, dst, doff+256*q+128, s0, s1)

// DQTILE(src, dst, doff): the q8_0 tile at src (amxPacked) to a 1 KiB
// bf16 B tile at doff(dst), as dequantQ8AMX turns it.
#define DQTILE(src, dst, doff) \
	DQSCALES(src, Z28, Z29); \
	DQQUARTER(src, 0, dst, doff, Z28, Z29); \
	DQQUARTER(src, 1, dst, doff, Z28, Z29); \
	DQQUARTER(src, 2, dst, doff, Z28, Z29); \
	DQQUARTER(src, 3, dst, doff, Z28, Z29)

// LPAIR1(off, a0, a1): bf16Rows' ROWPAIR for the leftover row at R12,
// from the bf16 B tiles at AX and CX.
#define LPAIR1(off, a0, a1) \
	VPBROADCASTD (off/16)(R12), Z7; \
	VMOVDQU32 (off)(AX), Z8; \
	VMOVDQU32 (off)(CX), Z9; \
	VDPBF16PS(8, 7, a0); \
	VDPBF16PS(9, 7, a1)

// LPAIR2(off, a0, a1, b0, b1): LPAIR1 for the leftover rows at R12 and
// R12+DX, the weight pairs loaded once.
#define LPAIR2(off, a0, a1, b0, b1) \
	VMOVDQU32 (off)(AX), Z8; \
	VMOVDQU32 (off)(CX), Z9; \
	VPBROADCASTD (off/16)(R12), Z7; \
	VDPBF16PS(8, 7, a0); \
	VDPBF16PS(9, 7, a1); \
	VPBROADCASTD (off/16)(R12)(DX*1), Z7; \
	VDPBF16PS(8, 7, b0); \
	VDPBF16PS(9, 7, b1)

// LSUM(a0, a1, a2, a3, a4, a5, a6, a7): bf16Rows' closing sums of one
// row's four accumulator pairs, into a0 and a1.
#define LSUM(a0, a1, a2, a3, a4, a5, a6, a7) \
	VADDPS a2, a0, a0; \
	VADDPS a3, a1, a1; \
	VADDPS a6, a4, a4; \
	VADDPS a7, a5, a5; \
	VADDPS a4, a0, a0; \
	VADDPS a5, a1, a1

// func amxQ8Block(cfg *[64]byte, x *uint16, ldx int, wq *byte, chunks int, out *float32, ldo int, left int, bias *float32, buf *uint16, pf *byte, pfLines, pfPer int)
// One 32×32 block of out (ldo bytes between rows) = the 32 rows of x
// (bf16, ldx bytes apart) · wᵀ (+ bias's 32 values unless nil), for a
// q8_0 weight's column block wq in amxPacked (its two strips of chunks
// q8_0 tiles each, one after the other), and the left (0, 1 or 2) rows
// of x right after those 32 into the rows of out right after the block.
//
// It is amxMM for one row block plus bf16Rows for the left rows, with the
// weight turned into bf16 tiles chunk by chunk (dequantQ8AMX's
// instructions) in buf, two stages of 2 KiB that stay in L1: the next
// chunk's conversion, issued between the current chunk's four products,
// and the left rows' VDPBF16PS run on the vector units while the tiles
// multiply, instead of converting the whole strips into L2 first. Every sum is amxMM's and bf16Rows',
// operation for operation, so the bits are theirs. Prefetch as amxMM.
TEXT ·amxQ8Block(SB), NOSPLIT, $0-104
	MOVQ cfg+0(FP), SI
	LDTILECFG_SI
	VMOVDQU32 q8PairIdx<>+0(SB), Z30
	VMOVDQU32 q8PairIdx<>+64(SB), Z31
	MOVQ wq+24(FP), R8
	MOVQ chunks+32(FP), R11
	IMUL3Q $544, R11, R9
	ADDQ R8, R9
	MOVQ buf+72(FP), AX
	LEAQ 2048(AX), R10
	// Chunk 0's two tiles into the first stage.
	DQTILE(R8, AX, 0)
	DQTILE(R9, AX, 1024)
	ADDQ $544, R8
	ADDQ $544, R9
	MOVQ bias+64(FP), BX
	TESTQ BX, BX
	JZ qnobias
	CBIAS
	MOVQ bias+64(FP), BX
	VMOVUPS (BX), Z12
	VMOVUPS 64(BX), Z13
	VMOVUPS (BX), Z20
	VMOVUPS 64(BX), Z21
	JMP qsums
qnobias:
	CZERO
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
qsums:
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
	VPXORD Z24, Z24, Z24
	VPXORD Z25, Z25, Z25
	VPXORD Z26, Z26, Z26
	VPXORD Z27, Z27, Z27
	MOVQ ldx+16(FP), DX
	MOVQ x+8(FP), BX
	MOVQ DX, DI
	SHLQ $4, DI
	ADDQ BX, DI
	MOVQ DX, R12
	SHLQ $5, R12
	ADDQ BX, R12
	MOVQ $64, SI
	MOVQ pf+80(FP), R15
	MOVQ pfLines+88(FP), R13
	MOVQ pfPer+96(FP), R14
qchunk:
	TESTQ R13, R13
	JZ qpfdone
	MOVQ R14, CX
qpfloop:
	PREFETCHT1 (R15)
	ADDQ $64, R15
	DECQ R13
	JZ qpfdone
	DECQ CX
	JNZ qpfloop
qpfdone:
	LEAQ 1024(AX), CX
	TILELOADD(4, 3, 2)
	TILELOADD(5, 7, 2)
	TILELOADD(6, 0, 6)
	TILELOADD(7, 1, 6)
	CMPQ R11, $1
	JEQ qlast
	// The next chunk into the other stage, between the products, so the
	// vector units convert while the tiles multiply.
	TDPBF16PS(0, 4, 6)
	DQSCALES(R8, Z28, Z29)
	DQQUARTER(R8, 0, R10, 0, Z28, Z29)
	DQQUARTER(R8, 1, R10, 0, Z28, Z29)
	TDPBF16PS(1, 4, 7)
	DQQUARTER(R8, 2, R10, 0, Z28, Z29)
	DQQUARTER(R8, 3, R10, 0, Z28, Z29)
	TDPBF16PS(2, 5, 6)
	DQSCALES(R9, Z10, Z11)
	DQQUARTER(R9, 0, R10, 1024, Z10, Z11)
	DQQUARTER(R9, 1, R10, 1024, Z10, Z11)
	TDPBF16PS(3, 5, 7)
	DQQUARTER(R9, 2, R10, 1024, Z10, Z11)
	DQQUARTER(R9, 3, R10, 1024, Z10, Z11)
	JMP qleft
qlast:
	TDPBF16PS(0, 4, 6)
	TDPBF16PS(1, 4, 7)
	TDPBF16PS(2, 5, 6)
	TDPBF16PS(3, 5, 7)
qleft:
	CMPQ left+56(FP), $1
	JLT qnext
	JEQ qleft1
	LPAIR2(0, 12, 13, 20, 21)
	LPAIR2(64, 14, 15, 22, 23)
	LPAIR2(128, 16, 17, 24, 25)
	LPAIR2(192, 18, 19, 26, 27)
	LPAIR2(256, 12, 13, 20, 21)
	LPAIR2(320, 14, 15, 22, 23)
	LPAIR2(384, 16, 17, 24, 25)
	LPAIR2(448, 18, 19, 26, 27)
	LPAIR2(512, 12, 13, 20, 21)
	LPAIR2(576, 14, 15, 22, 23)
	LPAIR2(640, 16, 17, 24, 25)
	LPAIR2(704, 18, 19, 26, 27)
	LPAIR2(768, 12, 13, 20, 21)
	LPAIR2(832, 14, 15, 22, 23)
	LPAIR2(896, 16, 17, 24, 25)
	LPAIR2(960, 18, 19, 26, 27)
	JMP qnext
qleft1:
	LPAIR1(0, 12, 13)
	LPAIR1(64, 14, 15)
	LPAIR1(128, 16, 17)
	LPAIR1(192, 18, 19)
	LPAIR1(256, 12, 13)
	LPAIR1(320, 14, 15)
	LPAIR1(384, 16, 17)
	LPAIR1(448, 18, 19)
	LPAIR1(512, 12, 13)
	LPAIR1(576, 14, 15)
	LPAIR1(640, 16, 17)
	LPAIR1(704, 18, 19)
	LPAIR1(768, 12, 13)
	LPAIR1(832, 14, 15)
	LPAIR1(896, 16, 17)
	LPAIR1(960, 18, 19)
qnext:
	ADDQ $64, BX
	ADDQ $64, DI
	ADDQ $64, R12
	ADDQ $544, R8
	ADDQ $544, R9
	XCHGQ AX, R10
	DECQ R11
	JNZ qchunk
qdone:
	MOVQ ldo+48(FP), DX
	CSTORE(out+40(FP))
	TILERELEASE
	CMPQ left+56(FP), $1
	JLT qret
	MOVQ DX, DI
	SHLQ $5, DI
	ADDQ out+40(FP), DI
	LSUM(Z12, Z13, Z14, Z15, Z16, Z17, Z18, Z19)
	VMOVUPS Z12, (DI)
	VMOVUPS Z13, 64(DI)
	CMPQ left+56(FP), $1
	JEQ qret
	LSUM(Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27)
	VMOVUPS Z20, (DI)(DX*1)
	VMOVUPS Z21, 64(DI)(DX*1)
qret:
	VZEROUPPER
	RET

// func transpose16(dst, src *uint32, ld, n int)
// dst[16q+i] = src[i·ld+q] for the 16 rows i of src (ld values apart) and
// q < n, n a multiple of 16: 16×16 blocks of 32-bit values transposed in
// registers (unpacks of dwords and qwords within 128-bit lanes, then two
// rounds of lane shuffles), so each 64-byte row of dst is written once.
TEXT ·transpose16(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), BX
	SHLQ $2, BX
	MOVQ n+24(FP), CX
	SHRQ $4, CX
	JZ tdone
tloop:
	MOVQ SI, AX
	VMOVDQU32 (AX), Z0
	ADDQ BX, AX
	VMOVDQU32 (AX), Z1
	ADDQ BX, AX
	VMOVDQU32 (AX), Z2
	ADDQ BX, AX
	VMOVDQU32 (AX), Z3
	ADDQ BX, AX
	VMOVDQU32 (AX), Z4
	ADDQ BX, AX
	VMOVDQU32 (AX), Z5
	ADDQ BX, AX
	VMOVDQU32 (AX), Z6
	ADDQ BX, AX
	VMOVDQU32 (AX), Z7
	ADDQ BX, AX
	VMOVDQU32 (AX), Z8
	ADDQ BX, AX
	VMOVDQU32 (AX), Z9
	ADDQ BX, AX
	VMOVDQU32 (AX), Z10
	ADDQ BX, AX
	VMOVDQU32 (AX), Z11
	ADDQ BX, AX
	VMOVDQU32 (AX), Z12
	ADDQ BX, AX
	VMOVDQU32 (AX), Z13
	ADDQ BX, AX
	VMOVDQU32 (AX), Z14
	ADDQ BX, AX
	VMOVDQU32 (AX), Z15
	VPUNPCKLDQ Z1, Z0, Z16
	VPUNPCKHDQ Z1, Z0, Z17
	VPUNPCKLDQ Z3, Z2, Z18
	VPUNPCKHDQ Z3, Z2, Z19
	VPUNPCKLDQ Z5, Z4, Z20
	VPUNPCKHDQ Z5, Z4, Z21
	VPUNPCKLDQ Z7, Z6, Z22
	VPUNPCKHDQ Z7, Z6, Z23
	VPUNPCKLDQ Z9, Z8, Z24
	VPUNPCKHDQ Z9, Z8, Z25
	VPUNPCKLDQ Z11, Z10, Z26
	VPUNPCKHDQ Z11, Z10, Z27
	VPUNPCKLDQ Z13, Z12, Z28
	VPUNPCKHDQ Z13, Z12, Z29
	VPUNPCKLDQ Z15, Z14, Z30
	VPUNPCKHDQ Z15, Z14, Z31
	VPUNPCKLQDQ Z18, Z16, Z0
	VPUNPCKHQDQ Z18, Z16, Z1
	VPUNPCKLQDQ Z19, Z17, Z2
	VPUNPCKHQDQ Z19, Z17, Z3
	VPUNPCKLQDQ Z22, Z20, Z4
	VPUNPCKHQDQ Z22, Z20, Z5
	VPUNPCKLQDQ Z23, Z21, Z6
	VPUNPCKHQDQ Z23, Z21, Z7
	VPUNPCKLQDQ Z26, Z24, Z8
	VPUNPCKHQDQ Z26, Z24, Z9
	VPUNPCKLQDQ Z27, Z25, Z10
	VPUNPCKHQDQ Z27, Z25, Z11
	VPUNPCKLQDQ Z30, Z28, Z12
	VPUNPCKHQDQ Z30, Z28, Z13
	VPUNPCKLQDQ Z31, Z29, Z14
	VPUNPCKHQDQ Z31, Z29, Z15
	VSHUFI32X4 $0x88, Z4, Z0, Z16
	VSHUFI32X4 $0xDD, Z4, Z0, Z17
	VSHUFI32X4 $0x88, Z12, Z8, Z18
	VSHUFI32X4 $0xDD, Z12, Z8, Z19
	VSHUFI32X4 $0x88, Z18, Z16, Z20
	VMOVDQU32 Z20, 0(DI)
	VSHUFI32X4 $0xDD, Z18, Z16, Z20
	VMOVDQU32 Z20, 512(DI)
	VSHUFI32X4 $0x88, Z19, Z17, Z20
	VMOVDQU32 Z20, 256(DI)
	VSHUFI32X4 $0xDD, Z19, Z17, Z20
	VMOVDQU32 Z20, 768(DI)
	VSHUFI32X4 $0x88, Z5, Z1, Z16
	VSHUFI32X4 $0xDD, Z5, Z1, Z17
	VSHUFI32X4 $0x88, Z13, Z9, Z18
	VSHUFI32X4 $0xDD, Z13, Z9, Z19
	VSHUFI32X4 $0x88, Z18, Z16, Z20
	VMOVDQU32 Z20, 64(DI)
	VSHUFI32X4 $0xDD, Z18, Z16, Z20
	VMOVDQU32 Z20, 576(DI)
	VSHUFI32X4 $0x88, Z19, Z17, Z20
	VMOVDQU32 Z20, 320(DI)
	VSHUFI32X4 $0xDD, Z19, Z17, Z20
	VMOVDQU32 Z20, 832(DI)
	VSHUFI32X4 $0x88, Z6, Z2, Z16
	VSHUFI32X4 $0xDD, Z6, Z2, Z17
	VSHUFI32X4 $0x88, Z14, Z10, Z18
	VSHUFI32X4 $0xDD, Z14, Z10, Z19
	VSHUFI32X4 $0x88, Z18, Z16, Z20
	VMOVDQU32 Z20, 128(DI)
	VSHUFI32X4 $0xDD, Z18, Z16, Z20
	VMOVDQU32 Z20, 640(DI)
	VSHUFI32X4 $0x88, Z19, Z17, Z20
	VMOVDQU32 Z20, 384(DI)
	VSHUFI32X4 $0xDD, Z19, Z17, Z20
	VMOVDQU32 Z20, 896(DI)
	VSHUFI32X4 $0x88, Z7, Z3, Z16
	VSHUFI32X4 $0xDD, Z7, Z3, Z17
	VSHUFI32X4 $0x88, Z15, Z11, Z18
	VSHUFI32X4 $0xDD, Z15, Z11, Z19
	VSHUFI32X4 $0x88, Z18, Z16, Z20
	VMOVDQU32 Z20, 192(DI)
	VSHUFI32X4 $0xDD, Z18, Z16, Z20
	VMOVDQU32 Z20, 704(DI)
	VSHUFI32X4 $0x88, Z19, Z17, Z20
	VMOVDQU32 Z20, 448(DI)
	VSHUFI32X4 $0xDD, Z19, Z17, Z20
	VMOVDQU32 Z20, 960(DI)
	ADDQ $64, SI
	ADDQ $1024, DI
	DECQ CX
	JNZ tloop
tdone:
	VZEROUPPER
	RET

// func decodeKRowBF16(dst *uint16, src *byte, nb int, five bool)
// nb Q4_K blocks (144 bytes each), or with five Q5_K blocks (176 bytes:
// the same header, 32 bytes of fifth bits, then the quants), into
// 256·nb bf16: each value float32(d·sc)·q − float32(dmin·m) computed as
// the float32 decoders do (a multiply, then a subtraction, each rounded)
// and rounded to bf16 (nearest even): cvtBF16 of decodeRow's values, bit
// for bit. The eight 6-bit scales and mins are unpacked four at a time in
// general registers (ggml's get_scale_min_k4), then scaled by d and dmin
// (F16C) in one vector each and kept on the stack for the broadcasts.
// Q5_K's fifth bits (bit j of byte l: value l of sub-block j) sit in Z16
// and Z17 as 32 dwords, shifted down two bits a pair of sub-blocks.
TEXT ·decodeKRowBF16(SB), NOSPLIT, $160-25
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ nb+16(FP), R8
	MOVBQZX five+24(FP), R12
	MOVQ $144, R13
	TESTQ R12, R12
	JZ q4bstride
	MOVQ $176, R13
q4bstride:
	TESTQ R8, R8
	JZ q4bdone
	MOVL $15, AX
	VPBROADCASTD AX, Z11
	MOVL $1, AX
	VPBROADCASTD AX, Z18
	MOVL $2, AX
	VPBROADCASTD AX, Z19
q4bblock:
	MOVWLZX 0(SI), AX
	VMOVD AX, X0
	VCVTPH2PS X0, X0
	VBROADCASTSS X0, Z20
	MOVWLZX 2(SI), AX
	VMOVD AX, X1
	VCVTPH2PS X1, X1
	VBROADCASTSS X1, Z21
	MOVL 4(SI), AX
	MOVL 8(SI), BX
	MOVL 12(SI), CX
	MOVL AX, DX
	ANDL $0x3F3F3F3F, DX
	MOVL DX, 0(SP)
	MOVL BX, DX
	ANDL $0x3F3F3F3F, DX
	MOVL DX, 8(SP)
	MOVL CX, DX
	ANDL $0x0F0F0F0F, DX
	MOVL AX, R9
	SHRL $2, R9
	ANDL $0x30303030, R9
	ORL R9, DX
	MOVL DX, 4(SP)
	MOVL CX, DX
	SHRL $4, DX
	ANDL $0x0F0F0F0F, DX
	MOVL BX, R9
	SHRL $2, R9
	ANDL $0x30303030, R9
	ORL R9, DX
	MOVL DX, 12(SP)
	VPMOVZXBD 0(SP), Z22
	VCVTDQ2PS Z22, Z22
	VMULPS Z20, Z22, Z23
	VMULPS Z21, Z22, Z24
	VMOVUPS Z23, 32(SP)
	VMOVUPS Z24, 96(SP)
	LEAQ 16(SI), R10
	TESTQ R12, R12
	JZ q4bq
	VPMOVZXBD 16(SI), Z16
	VPMOVZXBD 32(SI), Z17
	LEAQ 48(SI), R10
q4bq:
	XORQ R11, R11
q4bpair:
	VBROADCASTSS 32(SP)(R11*8), Z12
	VBROADCASTSS 128(SP)(R11*8), Z13
	VBROADCASTSS 36(SP)(R11*8), Z14
	VBROADCASTSS 132(SP)(R11*8), Z15
	VPMOVZXBD 0(R10), Z0
	VPMOVZXBD 16(R10), Z1
	VPANDD Z11, Z0, Z2
	VPANDD Z11, Z1, Z3
	VPSRLD $4, Z0, Z4
	VPSRLD $4, Z1, Z5
	TESTQ R12, R12
	JZ q4bcvt
	VPANDD Z18, Z16, Z8
	VPANDD Z18, Z17, Z9
	VPSLLD $4, Z8, Z8
	VPSLLD $4, Z9, Z9
	VPORD Z8, Z2, Z2
	VPORD Z9, Z3, Z3
	VPANDD Z19, Z16, Z8
	VPANDD Z19, Z17, Z9
	VPSLLD $3, Z8, Z8
	VPSLLD $3, Z9, Z9
	VPORD Z8, Z4, Z4
	VPORD Z9, Z5, Z5
	VPSRLD $2, Z16, Z16
	VPSRLD $2, Z17, Z17
q4bcvt:
	VCVTDQ2PS Z2, Z2
	VCVTDQ2PS Z3, Z3
	VCVTDQ2PS Z4, Z4
	VCVTDQ2PS Z5, Z5
	VMULPS Z12, Z2, Z2
	VMULPS Z12, Z3, Z3
	VMULPS Z14, Z4, Z4
	VMULPS Z14, Z5, Z5
	VSUBPS Z13, Z2, Z2
	VSUBPS Z13, Z3, Z3
	VSUBPS Z15, Z4, Z4
	VSUBPS Z15, Z5, Z5
	VCVTNE2PS2BF16(2, 3, 6)
	VCVTNE2PS2BF16(4, 5, 7)
	VMOVDQU16 Z6, 0(DI)
	VMOVDQU16 Z7, 64(DI)
	ADDQ $32, R10
	ADDQ $128, DI
	INCQ R11
	CMPQ R11, $4
	JLT q4bpair
	ADDQ R13, SI
	DECQ R8
	JNZ q4bblock
q4bdone:
	VZEROUPPER
	RET

// func decodeQ5RowBF16(dst *uint16, src *byte, nb int)
// nb Q5_0 blocks (22 bytes each) into 32·nb bf16: each value (q − 16)·d,
// one rounded multiply as the float32 decoders compute it, rounded to
// bf16 (nearest even): cvtBF16 of decodeRow's values, bit for bit. The
// fifth bits (qh) become two 16-bit masks that OR 16 into their lanes.
TEXT ·decodeQ5RowBF16(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ nb+16(FP), CX
	TESTQ CX, CX
	JZ q5bdone
	MOVL $15, AX
	VPBROADCASTD AX, Z11
	MOVL $16, AX
	VPBROADCASTD AX, Z10
q5bblock:
	MOVWLZX 0(SI), AX
	VMOVD AX, X0
	VCVTPH2PS X0, X0
	VBROADCASTSS X0, Z9
	MOVL 2(SI), AX
	KMOVW AX, K1
	SHRL $16, AX
	KMOVW AX, K2
	VPMOVZXBD 6(SI), Z0
	VPANDD Z11, Z0, Z1
	VPSRLD $4, Z0, Z2
	VPORD Z10, Z1, K1, Z1
	VPORD Z10, Z2, K2, Z2
	VPSUBD Z10, Z1, Z1
	VPSUBD Z10, Z2, Z2
	VCVTDQ2PS Z1, Z1
	VCVTDQ2PS Z2, Z2
	VMULPS Z9, Z1, Z1
	VMULPS Z9, Z2, Z2
	VCVTNE2PS2BF16(1, 2, 3)
	VMOVDQU16 Z3, 0(DI)
	ADDQ $22, SI
	ADDQ $64, DI
	DECQ CX
	JNZ q5bblock
q5bdone:
	VZEROUPPER
	RET

// func decodeQ6KRowBF16(dst *uint16, src *byte, nb int)
// nb Q6_K blocks (210 bytes each) into 256·nb bf16: each value q·ds with
// ds = float32(d·sc) and q the 6-bit quant less 32, one rounded multiply
// as the float32 decoders compute it, rounded to bf16 (nearest even):
// cvtBF16 of decodeRow's values, bit for bit. In each 128-value half h,
// values l+32k (l < 32, k < 4) take the low (k < 2) or high nibble of
// ql[64h + l + 32(k&1)] and bits 2k, 2k+1 of qh[32h+l], and the scale
// 8h + l/16 + 2k; R10, R12 and R13 walk ql, qh and the scales by half.
TEXT ·decodeQ6KRowBF16(SB), NOSPLIT, $64-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ nb+16(FP), R8
	TESTQ R8, R8
	JZ q6bdone
	MOVL $15, AX
	VPBROADCASTD AX, Z11
	MOVL $0x30, AX
	VPBROADCASTD AX, Z10
	MOVL $32, AX
	VPBROADCASTD AX, Z9
q6bblock:
	MOVWLZX 208(SI), AX
	VMOVD AX, X0
	VCVTPH2PS X0, X0
	VBROADCASTSS X0, Z8
	VPMOVSXBD 192(SI), Z7
	VCVTDQ2PS Z7, Z7
	VMULPS Z8, Z7, Z7
	VMOVUPS Z7, 0(SP)
	MOVQ SI, R10
	LEAQ 128(SI), R12
	XORQ R13, R13
q6bhalf:
	VPMOVZXBD 0(R10), Z0
	VPMOVZXBD 16(R10), Z1
	VPMOVZXBD 32(R10), Z2
	VPMOVZXBD 48(R10), Z3
	VPMOVZXBD 0(R12), Z4
	VPMOVZXBD 16(R12), Z5
	VPANDD Z11, Z0, Z12
	VPSLLD $4, Z4, Z13
	VPANDD Z10, Z13, Z13
	VPORD Z13, Z12, Z12
	VPSUBD Z9, Z12, Z12
	VCVTDQ2PS Z12, Z12
	VPANDD Z11, Z1, Z14
	VPSLLD $4, Z5, Z15
	VPANDD Z10, Z15, Z15
	VPORD Z15, Z14, Z14
	VPSUBD Z9, Z14, Z14
	VCVTDQ2PS Z14, Z14
	VBROADCASTSS 0(SP)(R13*1), Z16
	VBROADCASTSS 4(SP)(R13*1), Z17
	VMULPS Z16, Z12, Z12
	VMULPS Z17, Z14, Z14
	VCVTNE2PS2BF16(12, 14, 18)
	VMOVDQU16 Z18, 0(DI)
	VPANDD Z11, Z2, Z12
	VPSLLD $2, Z4, Z13
	VPANDD Z10, Z13, Z13
	VPORD Z13, Z12, Z12
	VPSUBD Z9, Z12, Z12
	VCVTDQ2PS Z12, Z12
	VPANDD Z11, Z3, Z14
	VPSLLD $2, Z5, Z15
	VPANDD Z10, Z15, Z15
	VPORD Z15, Z14, Z14
	VPSUBD Z9, Z14, Z14
	VCVTDQ2PS Z14, Z14
	VBROADCASTSS 8(SP)(R13*1), Z16
	VBROADCASTSS 12(SP)(R13*1), Z17
	VMULPS Z16, Z12, Z12
	VMULPS Z17, Z14, Z14
	VCVTNE2PS2BF16(12, 14, 18)
	VMOVDQU16 Z18, 64(DI)
	VPSRLD $4, Z0, Z12
	VMOVDQA32 Z4, Z13
	VPANDD Z10, Z13, Z13
	VPORD Z13, Z12, Z12
	VPSUBD Z9, Z12, Z12
	VCVTDQ2PS Z12, Z12
	VPSRLD $4, Z1, Z14
	VMOVDQA32 Z5, Z15
	VPANDD Z10, Z15, Z15
	VPORD Z15, Z14, Z14
	VPSUBD Z9, Z14, Z14
	VCVTDQ2PS Z14, Z14
	VBROADCASTSS 16(SP)(R13*1), Z16
	VBROADCASTSS 20(SP)(R13*1), Z17
	VMULPS Z16, Z12, Z12
	VMULPS Z17, Z14, Z14
	VCVTNE2PS2BF16(12, 14, 18)
	VMOVDQU16 Z18, 128(DI)
	VPSRLD $4, Z2, Z12
	VPSRLD $2, Z4, Z13
	VPANDD Z10, Z13, Z13
	VPORD Z13, Z12, Z12
	VPSUBD Z9, Z12, Z12
	VCVTDQ2PS Z12, Z12
	VPSRLD $4, Z3, Z14
	VPSRLD $2, Z5, Z15
	VPANDD Z10, Z15, Z15
	VPORD Z15, Z14, Z14
	VPSUBD Z9, Z14, Z14
	VCVTDQ2PS Z14, Z14
	VBROADCASTSS 24(SP)(R13*1), Z16
	VBROADCASTSS 28(SP)(R13*1), Z17
	VMULPS Z16, Z12, Z12
	VMULPS Z17, Z14, Z14
	VCVTNE2PS2BF16(12, 14, 18)
	VMOVDQU16 Z18, 192(DI)
	ADDQ $256, DI
	ADDQ $64, R10
	ADDQ $32, R12
	ADDQ $32, R13
	CMPQ R13, $64
	JLT q6bhalf
	ADDQ $210, SI
	DECQ R8
	JNZ q6bblock
q6bdone:
	VZEROUPPER
	RET
