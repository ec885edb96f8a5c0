//go:build amd64 && !purego

#include "textflag.h"

// func decodeBF16(dst *float32, src *byte, n int)
// dst[i] = float32(bf16 src[i]) for i < n (a multiple of 8): zero-extend
// each 16-bit value and shift it into the high half.
TEXT ·decodeBF16(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	XORQ AX, AX
	CMPQ CX, $0
	JLE bf16done
bf16loop:
	VPMOVZXWD (SI)(AX*2), Y0
	VPSLLD $16, Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	CMPQ AX, CX
	JLT bf16loop
bf16done:
	VZEROUPPER
	RET

// func decodeF16(dst *float32, src *byte, n int)
// dst[i] = float32(f16 src[i]) for i < n (a multiple of 8), with F16C.
TEXT ·decodeF16(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	XORQ AX, AX
	CMPQ CX, $0
	JLE f16done
f16loop:
	VCVTPH2PS (SI)(AX*2), Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	CMPQ AX, CX
	JLT f16loop
f16done:
	VZEROUPPER
	RET

// func decodeQ8(dst *float32, src *byte, nb int)
// Each 34-byte block is a float16 scale d and 32 int8 quants q; writes
// the 32 values q·d (one rounding, as the Go reference).
TEXT ·decodeQ8(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ nb+16(FP), CX
	CMPQ CX, $0
	JLE q8done
q8loop:
	VPBROADCASTW (SI), X1
	VCVTPH2PS X1, Y1
	VPMOVSXBD 2(SI), Y2
	VCVTDQ2PS Y2, Y2
	VMULPS Y1, Y2, Y2
	VMOVUPS Y2, 0(DI)
	VPMOVSXBD 10(SI), Y3
	VCVTDQ2PS Y3, Y3
	VMULPS Y1, Y3, Y3
	VMOVUPS Y3, 32(DI)
	VPMOVSXBD 18(SI), Y4
	VCVTDQ2PS Y4, Y4
	VMULPS Y1, Y4, Y4
	VMOVUPS Y4, 64(DI)
	VPMOVSXBD 26(SI), Y5
	VCVTDQ2PS Y5, Y5
	VMULPS Y1, Y5, Y5
	VMOVUPS Y5, 96(DI)
	ADDQ $34, SI
	ADDQ $128, DI
	DECQ CX
	JNZ q8loop
q8done:
	VZEROUPPER
	RET
