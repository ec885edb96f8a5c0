//go:build amd64 && !purego

#include "textflag.h"

// The bit of each of 8 lanes: the sign bits of a run of 8 values.
DATA gridbits<>+0(SB)/4, $1
DATA gridbits<>+4(SB)/4, $2
DATA gridbits<>+8(SB)/4, $4
DATA gridbits<>+12(SB)/4, $8
DATA gridbits<>+16(SB)/4, $16
DATA gridbits<>+20(SB)/4, $32
DATA gridbits<>+24(SB)/4, $64
DATA gridbits<>+28(SB)/4, $128
GLOBL gridbits<>(SB), RODATA|NOPTR, $32

// func expandGrid(dst *float32, grid *uint8, entries *uint16, signs *uint8, scale, delta, levels *float32, shift uint, width int)
// A quant.GridBlock's 32 runs of 8 values: run k's level indices (grid
// entry entries[k] of 8, or entries[2k] and entries[2k+1] of 4: width),
// zero-extended, pick lanes (VPERMPS) of the table
// scale[g]·(levels+delta[g]), g = k>>shift, and the lanes whose bit of
// signs[k] is set get their sign bit flipped.
TEXT ·expandGrid(SB), NOSPLIT, $0-72
	MOVQ dst+0(FP), DI
	MOVQ grid+8(FP), SI
	MOVQ entries+16(FP), R8
	MOVQ signs+24(FP), R9
	MOVQ scale+32(FP), R10
	MOVQ delta+40(FP), R13
	MOVQ levels+48(FP), AX
	MOVQ shift+56(FP), CX
	MOVQ width+64(FP), R12
	VMOVDQU gridbits<>(SB), Y7
	VMOVUPS (AX), Y8
	XORQ R11, R11
	CMPQ R12, $8
	JNE  run4
run8:
	MOVWQZX (R8)(R11*2), AX
	VPMOVZXBD (SI)(AX*8), Y1
	JMP  lookup
run4:
	MOVWQZX (R8)(R11*4), AX
	MOVWQZX 2(R8)(R11*4), DX
	VMOVD (SI)(AX*4), X1
	VPINSRD $1, (SI)(DX*4), X1, X1
	VPMOVZXBD X1, Y1
lookup:
	MOVQ R11, BX
	SHRQ CX, BX
	VBROADCASTSS (R10)(BX*4), Y5
	VBROADCASTSS (R13)(BX*4), Y6
	VADDPS Y8, Y6, Y6
	VMULPS Y6, Y5, Y2
	VPERMPS Y2, Y1, Y3
	MOVBLZX (R9)(R11*1), DX
	VMOVD DX, X4
	VPBROADCASTD X4, Y4
	VPAND Y7, Y4, Y4
	VPCMPEQD Y7, Y4, Y4
	VPSLLD $31, Y4, Y4
	VXORPS Y4, Y3, Y3
	MOVQ R11, BX
	SHLQ $5, BX
	VMOVUPS Y3, (DI)(BX*1)
	INCQ R11
	CMPQ R11, $32
	JGE  done
	CMPQ R12, $8
	JEQ  run8
	JMP  run4
done:
	VZEROUPPER
	RET
