//go:build amd64 && !purego

#include "textflag.h"

// func decodeKBlock(dst *float32, qs *byte, dm *float32, qh *byte)
// One Q4_K or Q5_K block's 256 values from its 128 bytes of quants qs,
// its scales and mins dm (quant.Q4KScales / Q5KScales: d·sc[j],
// dmin·m[j] interleaved) and, for Q5_K, its 32 bytes of fifth bits qh
// (nil for Q4_K): sub-block 2p takes the low nibbles of qs[32p:32p+32],
// 2p+1 the high ones, and value l of sub-block j bit j of qh[l] as 16;
// value = d·sc·q − dmin·m, a product then a difference, each rounded (no
// FMA), as the Go reference.
TEXT ·decodeKBlock(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ qs+8(FP), SI
	MOVQ dm+16(FP), DX
	MOVQ qh+24(FP), R9
	MOVL $15, AX
	VMOVD AX, X11
	VPBROADCASTD X11, Y11
	MOVL $1, AX
	VMOVD AX, X9
	VPBROADCASTD X9, Y9
	MOVL $2, AX
	VMOVD AX, X8
	VPBROADCASTD X8, Y8
	XORQ R10, R10 // 2p: the fifth bits' shift
	MOVQ $4, CX
q4kpair:
	VBROADCASTSS 0(DX), Y12
	VBROADCASTSS 4(DX), Y13
	VBROADCASTSS 8(DX), Y14
	VBROADCASTSS 12(DX), Y15
	VMOVQ R10, X10
	MOVQ $0, BX
q4kchunk:
	VPMOVZXBD (SI)(BX*1), Y0
	VPAND Y11, Y0, Y1
	VPSRLD $4, Y0, Y2
	TESTQ R9, R9
	JZ q4knoqh
	VPMOVZXBD (R9)(BX*1), Y6
	VPSRLD X10, Y6, Y6
	VPAND Y9, Y6, Y7
	VPSLLD $4, Y7, Y7
	VPOR Y7, Y1, Y1
	VPAND Y8, Y6, Y7
	VPSLLD $3, Y7, Y7
	VPOR Y7, Y2, Y2
q4knoqh:
	VCVTDQ2PS Y1, Y1
	VMULPS Y12, Y1, Y1
	VSUBPS Y13, Y1, Y1
	VMOVUPS Y1, (DI)(BX*4)
	VCVTDQ2PS Y2, Y2
	VMULPS Y14, Y2, Y2
	VSUBPS Y15, Y2, Y2
	VMOVUPS Y2, 128(DI)(BX*4)
	ADDQ $8, BX
	CMPQ BX, $32
	JLT q4kchunk
	ADDQ $32, SI
	ADDQ $256, DI
	ADDQ $16, DX
	ADDQ $2, R10
	DECQ CX
	JNZ q4kpair
	VZEROUPPER
	RET

// func decodeQ6KBlock(dst *float32, x *byte, ds *float32)
// One Q6_K block's 256 values from the block x (ql at 0, qh at 128: SI
// and R8) and
// its sixteen scales times d (quant.Q6KScales). In each 128-value half h,
// value l+32k (l < 32, k < 4) is q·ds[8h + l/16 + 2k] with q = (low or
// high nibble of ql[64h + l + 32(k&1)]) | ((qh[32h+l] >> 2k) & 3) << 4,
// less 32.
TEXT ·decodeQ6KBlock(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ ds+16(FP), DX
	LEAQ 128(SI), R8
	MOVL $15, AX
	VMOVD AX, X6
	VPBROADCASTD X6, Y6
	MOVL $3, AX
	VMOVD AX, X7
	VPBROADCASTD X7, Y7
	MOVL $32, AX
	VMOVD AX, X5
	VPBROADCASTD X5, Y5
	MOVQ $2, CX
q6khalf:
	// Y8..Y11: ds[g+2k] for g = 0 (l < 16); Y12..Y15 for g = 1.
	VBROADCASTSS 0(DX), Y8
	VBROADCASTSS 8(DX), Y9
	VBROADCASTSS 16(DX), Y10
	VBROADCASTSS 24(DX), Y11
	VBROADCASTSS 4(DX), Y12
	VBROADCASTSS 12(DX), Y13
	VBROADCASTSS 20(DX), Y14
	VBROADCASTSS 28(DX), Y15
	MOVQ $0, BX
q6kchunk:
	CMPQ BX, $16
	JNE q6kscaled
	VMOVUPS Y12, Y8
	VMOVUPS Y13, Y9
	VMOVUPS Y14, Y10
	VMOVUPS Y15, Y11
q6kscaled:
	VPMOVZXBD (SI)(BX*1), Y0
	VPMOVZXBD 32(SI)(BX*1), Y1
	VPMOVZXBD (R8)(BX*1), Y2
	// k = 0: low nibble of ql[l], qh bits 0-1.
	VPAND Y6, Y0, Y3
	VPAND Y7, Y2, Y4
	VPSLLD $4, Y4, Y4
	VPOR Y4, Y3, Y3
	VPSUBD Y5, Y3, Y3
	VCVTDQ2PS Y3, Y3
	VMULPS Y8, Y3, Y3
	VMOVUPS Y3, (DI)(BX*4)
	// k = 1: low nibble of ql[l+32], qh bits 2-3.
	VPAND Y6, Y1, Y3
	VPSRLD $2, Y2, Y4
	VPAND Y7, Y4, Y4
	VPSLLD $4, Y4, Y4
	VPOR Y4, Y3, Y3
	VPSUBD Y5, Y3, Y3
	VCVTDQ2PS Y3, Y3
	VMULPS Y9, Y3, Y3
	VMOVUPS Y3, 128(DI)(BX*4)
	// k = 2: high nibble of ql[l], qh bits 4-5.
	VPSRLD $4, Y0, Y3
	VPSRLD $4, Y2, Y4
	VPAND Y7, Y4, Y4
	VPSLLD $4, Y4, Y4
	VPOR Y4, Y3, Y3
	VPSUBD Y5, Y3, Y3
	VCVTDQ2PS Y3, Y3
	VMULPS Y10, Y3, Y3
	VMOVUPS Y3, 256(DI)(BX*4)
	// k = 3: high nibble of ql[l+32], qh bits 6-7.
	VPSRLD $4, Y1, Y3
	VPSRLD $6, Y2, Y4
	VPSLLD $4, Y4, Y4
	VPOR Y4, Y3, Y3
	VPSUBD Y5, Y3, Y3
	VCVTDQ2PS Y3, Y3
	VMULPS Y11, Y3, Y3
	VMOVUPS Y3, 384(DI)(BX*4)
	ADDQ $8, BX
	CMPQ BX, $32
	JLT q6kchunk
	ADDQ $64, SI
	ADDQ $32, R8
	ADDQ $512, DI
	ADDQ $32, DX
	DECQ CX
	JNZ q6khalf
	VZEROUPPER
	RET

// Shift counts 0..31 for Q5_0's fifth bits (VPSRLVD), eight a vector.
DATA q5shift<>+0(SB)/4, $0
DATA q5shift<>+4(SB)/4, $1
DATA q5shift<>+8(SB)/4, $2
DATA q5shift<>+12(SB)/4, $3
DATA q5shift<>+16(SB)/4, $4
DATA q5shift<>+20(SB)/4, $5
DATA q5shift<>+24(SB)/4, $6
DATA q5shift<>+28(SB)/4, $7
DATA q5shift<>+32(SB)/4, $8
DATA q5shift<>+36(SB)/4, $9
DATA q5shift<>+40(SB)/4, $10
DATA q5shift<>+44(SB)/4, $11
DATA q5shift<>+48(SB)/4, $12
DATA q5shift<>+52(SB)/4, $13
DATA q5shift<>+56(SB)/4, $14
DATA q5shift<>+60(SB)/4, $15
DATA q5shift<>+64(SB)/4, $16
DATA q5shift<>+68(SB)/4, $17
DATA q5shift<>+72(SB)/4, $18
DATA q5shift<>+76(SB)/4, $19
DATA q5shift<>+80(SB)/4, $20
DATA q5shift<>+84(SB)/4, $21
DATA q5shift<>+88(SB)/4, $22
DATA q5shift<>+92(SB)/4, $23
DATA q5shift<>+96(SB)/4, $24
DATA q5shift<>+100(SB)/4, $25
DATA q5shift<>+104(SB)/4, $26
DATA q5shift<>+108(SB)/4, $27
DATA q5shift<>+112(SB)/4, $28
DATA q5shift<>+116(SB)/4, $29
DATA q5shift<>+120(SB)/4, $30
DATA q5shift<>+124(SB)/4, $31
GLOBL q5shift<>(SB), RODATA|NOPTR, $128

// func decode32(dst *float32, src *byte, nb, stride, qs, qh int, m bool, sub int, grid *int8)
// nb 32-value blocks of stride bytes, each a float16 d at 0, 16 bytes of
// nibbles at qs (value j < 16 the low nibble of byte j, j+16 the high
// one), with qh > 0 32 fifth bits (a uint32 at qh: bit j is value j's),
// with m a float16 offset m at 2, and with grid non-nil 4-bit indices
// into grid's 16 int8 values (VPSHUFB) instead of quants: value =
// float32(q − sub)·d (+ m), a product then a sum, each rounded, as the Go
// reference decoders of Q5_0, Q4_0, Q4_1, Q5_1 and IQ4_NL.
TEXT ·decode32(SB), NOSPLIT, $0-72
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ nb+16(FP), CX
	MOVQ stride+24(FP), R9
	MOVQ qs+32(FP), R10
	MOVQ qh+40(FP), R11
	MOVBQZX m+48(FP), R12
	MOVQ grid+64(FP), R13
	CMPQ CX, $0
	JLE d32done
	MOVL $15, AX
	VMOVD AX, X11
	VPBROADCASTD X11, Y11
	MOVL $1, AX
	VMOVD AX, X10
	VPBROADCASTD X10, Y10
	MOVQ sub+56(FP), AX
	VMOVD AX, X9
	VPBROADCASTD X9, Y9
	LEAQ q5shift<>(SB), R8
	VMOVDQU 0(R8), Y12
	VMOVDQU 32(R8), Y13
	VMOVDQU 64(R8), Y14
	VMOVDQU 96(R8), Y15
	TESTQ R13, R13
	JZ d32loop
	VMOVDQU (R13), X8
	MOVL $0x0F0F0F0F, AX
	VMOVD AX, X7
	VPBROADCASTD X7, X7
d32loop:
	VPBROADCASTW (SI), X1
	VCVTPH2PS X1, Y1
	TESTQ R12, R12
	JZ d32nom
	VPBROADCASTW 2(SI), X5
	VCVTPH2PS X5, Y5
d32nom:
	TESTQ R11, R11
	JZ d32noqh
	VPBROADCASTD (SI)(R11*1), Y2
d32noqh:
	LEAQ (SI)(R10*1), BX
	// Values 0-7 and 16-23 (Y3, Y4), from bytes 0-7.
	TESTQ R13, R13
	JZ d32q0
	VMOVQ 0(BX), X0
	VPAND X7, X0, X3
	VPSRLW $4, X0, X4
	VPAND X7, X4, X4
	VPSHUFB X3, X8, X3
	VPSHUFB X4, X8, X4
	VPMOVSXBD X3, Y3
	VPMOVSXBD X4, Y4
	JMP d32s0
d32q0:
	VPMOVZXBD 0(BX), Y0
	VPAND Y11, Y0, Y3
	VPSRLD $4, Y0, Y4
	TESTQ R11, R11
	JZ d32s0
	VPSRLVD Y12, Y2, Y6
	VPAND Y10, Y6, Y6
	VPSLLD $4, Y6, Y6
	VPOR Y6, Y3, Y3
	VPSRLVD Y14, Y2, Y6
	VPAND Y10, Y6, Y6
	VPSLLD $4, Y6, Y6
	VPOR Y6, Y4, Y4
d32s0:
	VPSUBD Y9, Y3, Y3
	VPSUBD Y9, Y4, Y4
	VCVTDQ2PS Y3, Y3
	VCVTDQ2PS Y4, Y4
	VMULPS Y1, Y3, Y3
	VMULPS Y1, Y4, Y4
	TESTQ R12, R12
	JZ d32st0
	VADDPS Y5, Y3, Y3
	VADDPS Y5, Y4, Y4
d32st0:
	VMOVUPS Y3, 0(DI)
	VMOVUPS Y4, 64(DI)
	// Values 8-15 and 24-31, from bytes 8-15.
	TESTQ R13, R13
	JZ d32q1
	VMOVQ 8(BX), X0
	VPAND X7, X0, X3
	VPSRLW $4, X0, X4
	VPAND X7, X4, X4
	VPSHUFB X3, X8, X3
	VPSHUFB X4, X8, X4
	VPMOVSXBD X3, Y3
	VPMOVSXBD X4, Y4
	JMP d32s1
d32q1:
	VPMOVZXBD 8(BX), Y0
	VPAND Y11, Y0, Y3
	VPSRLD $4, Y0, Y4
	TESTQ R11, R11
	JZ d32s1
	VPSRLVD Y13, Y2, Y6
	VPAND Y10, Y6, Y6
	VPSLLD $4, Y6, Y6
	VPOR Y6, Y3, Y3
	VPSRLVD Y15, Y2, Y6
	VPAND Y10, Y6, Y6
	VPSLLD $4, Y6, Y6
	VPOR Y6, Y4, Y4
d32s1:
	VPSUBD Y9, Y3, Y3
	VPSUBD Y9, Y4, Y4
	VCVTDQ2PS Y3, Y3
	VCVTDQ2PS Y4, Y4
	VMULPS Y1, Y3, Y3
	VMULPS Y1, Y4, Y4
	TESTQ R12, R12
	JZ d32st1
	VADDPS Y5, Y3, Y3
	VADDPS Y5, Y4, Y4
d32st1:
	VMOVUPS Y3, 32(DI)
	VMOVUPS Y4, 96(DI)
	ADDQ R9, SI
	ADDQ $128, DI
	DECQ CX
	JNZ d32loop
d32done:
	VZEROUPPER
	RET

// func decode2bit(dst *float32, qs, hm *byte, a, b *float32)
// One Q2_K block (hm nil) or Q3_K block (hm its 32 bytes of high bits):
// value i = 128g + 32s + l takes bits 2s, 2s+1 of qs[32g+l], and for Q3_K
// bit 4g+s of hm[l] (the value less 4 where it is clear); the value is
// a[i/16]·q (+ b[i/16] unless b is nil), a product then a sum, each
// rounded, as the Go reference decoders (their −dmin·m is b).
TEXT ·decode2bit(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ qs+8(FP), SI
	MOVQ hm+16(FP), R8
	MOVQ a+24(FP), DX
	MOVQ b+32(FP), R9
	MOVL $0x03030303, AX
	VMOVD AX, X11
	VPBROADCASTD X11, Y11
	MOVL $0x01010101, AX
	VMOVD AX, X10
	VPBROADCASTD X10, Y10
	MOVL $0x04040404, AX
	VMOVD AX, X9
	VPBROADCASTD X9, Y9
	XORQ R11, R11 // k = 4g + s, 0…7
d2loop:
	MOVQ R11, R10
	ANDQ $3, R10
	SHLQ $1, R10 // 2s
	VMOVQ R10, X12
	MOVQ R11, R10
	SHRQ $2, R10
	SHLQ $5, R10 // 32g
	VMOVDQU (SI)(R10*1), Y0
	VPSRLW X12, Y0, Y0
	VPAND Y11, Y0, Y0
	TESTQ R8, R8
	JZ d2wide
	VMOVQ R11, X13
	VMOVDQU (R8), Y1
	VPSRLW X13, Y1, Y1
	VPAND Y10, Y1, Y1
	VPSLLW $2, Y1, Y1
	VPOR Y1, Y0, Y0
	VPSUBB Y9, Y0, Y0
d2wide:
	VPMOVSXBD X0, Y2
	VPSRLDQ $8, X0, X3
	VPMOVSXBD X3, Y3
	VEXTRACTI128 $1, Y0, X4
	VPSRLDQ $8, X4, X5
	VPMOVSXBD X4, Y4
	VPMOVSXBD X5, Y5
	VCVTDQ2PS Y2, Y2
	VCVTDQ2PS Y3, Y3
	VCVTDQ2PS Y4, Y4
	VCVTDQ2PS Y5, Y5
	VBROADCASTSS 0(DX), Y6
	VBROADCASTSS 4(DX), Y7
	VMULPS Y6, Y2, Y2
	VMULPS Y6, Y3, Y3
	VMULPS Y7, Y4, Y4
	VMULPS Y7, Y5, Y5
	TESTQ R9, R9
	JZ d2store
	VBROADCASTSS 0(R9), Y6
	VBROADCASTSS 4(R9), Y7
	VADDPS Y6, Y2, Y2
	VADDPS Y6, Y3, Y3
	VADDPS Y7, Y4, Y4
	VADDPS Y7, Y5, Y5
	ADDQ $8, R9
d2store:
	VMOVUPS Y2, 0(DI)
	VMOVUPS Y3, 32(DI)
	VMOVUPS Y4, 64(DI)
	VMOVUPS Y5, 96(DI)
	ADDQ $128, DI
	ADDQ $8, DX
	INCQ R11
	CMPQ R11, $8
	JLT d2loop
	VZEROUPPER
	RET

// func decodeGrid(dst *float32, qs *byte, dl *float32, grid *int8)
// One IQ4_XS block's 256 values: sub-block j's 32 are dl[j] times grid's
// values at the low then the high nibbles of qs[16j:16j+16] (VPSHUFB), a
// rounded product as the Go reference.
TEXT ·decodeGrid(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ qs+8(FP), SI
	MOVQ dl+16(FP), DX
	MOVQ grid+24(FP), R8
	VMOVDQU (R8), X8
	MOVL $0x0F0F0F0F, AX
	VMOVD AX, X7
	VPBROADCASTD X7, X7
	MOVQ $8, CX
dgloop:
	VMOVDQU (SI), X0
	VPAND X7, X0, X1
	VPSRLW $4, X0, X2
	VPAND X7, X2, X2
	VPSHUFB X1, X8, X1
	VPSHUFB X2, X8, X2
	VPSRLDQ $8, X1, X3
	VPSRLDQ $8, X2, X4
	VPMOVSXBD X1, Y1
	VPMOVSXBD X3, Y3
	VPMOVSXBD X2, Y2
	VPMOVSXBD X4, Y4
	VCVTDQ2PS Y1, Y1
	VCVTDQ2PS Y3, Y3
	VCVTDQ2PS Y2, Y2
	VCVTDQ2PS Y4, Y4
	VBROADCASTSS (DX), Y6
	VMULPS Y6, Y1, Y1
	VMULPS Y6, Y3, Y3
	VMULPS Y6, Y2, Y2
	VMULPS Y6, Y4, Y4
	VMOVUPS Y1, 0(DI)
	VMOVUPS Y3, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y4, 96(DI)
	ADDQ $16, SI
	ADDQ $4, DX
	ADDQ $128, DI
	DECQ CX
	JNZ dgloop
	VZEROUPPER
	RET
