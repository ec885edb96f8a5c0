//go:build amd64 && !purego

#include "textflag.h"

// func scaleMax(x *float32, n int, s float32) float32
// x[i] *= s for i < n (a multiple of 8); returns the largest product
// (x holds no NaN). Each product is the one Go's x[i]*s gives.
TEXT ·scaleMax(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSS s+16(FP), Y15
	MOVL $0xff800000, AX
	MOVL AX, X0
	VBROADCASTSS X0, Y0
	VMOVAPS Y0, Y1
	XORQ AX, AX
	CMPQ CX, $16
	JLT smtail
smloop:
	VMULPS (SI)(AX*4), Y15, Y2
	VMULPS 32(SI)(AX*4), Y15, Y3
	VMOVUPS Y2, (SI)(AX*4)
	VMOVUPS Y3, 32(SI)(AX*4)
	VMAXPS Y2, Y0, Y0
	VMAXPS Y3, Y1, Y1
	ADDQ $16, AX
	LEAQ 16(AX), DX
	CMPQ DX, CX
	JLE smloop
smtail:
	CMPQ AX, CX
	JGE smdone
	VMULPS (SI)(AX*4), Y15, Y2
	VMOVUPS Y2, (SI)(AX*4)
	VMAXPS Y2, Y0, Y0
smdone:
	VMAXPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0x4E, X0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0xB1, X0, X1
	VMAXPS X1, X0, X0
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func scaleBy(x *float32, n int, s float32)
// x[i] *= s for i < n (a multiple of 8).
TEXT ·scaleBy(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSS s+16(FP), Y15
	XORQ AX, AX
	CMPQ CX, $0
	JLE sbdone
sbloop:
	VMULPS (SI)(AX*4), Y15, Y2
	VMOVUPS Y2, (SI)(AX*4)
	ADDQ $8, AX
	CMPQ AX, CX
	JLT sbloop
sbdone:
	VZEROUPPER
	RET
