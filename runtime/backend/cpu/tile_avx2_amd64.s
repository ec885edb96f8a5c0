//go:build amd64 && !purego

#include "textflag.h"

// ROW4 reduces four 8-lane accumulators (columns c0..c3 of one row; A..D
// and their low halves XA..XD) and adds the four sums into the float32s
// at addr. Each sum is dot3x4's, ((l0+l4)+(l1+l5)) + ((l2+l6)+(l3+l7)):
// the halves are added per accumulator, and the two rounds of horizontal
// adds pair the same lanes as dot3x4's per-accumulator rounds, for four
// columns at once.
#define ROW4(A, XA, B, XB, C, XC, D, XD, addr) \
	VEXTRACTF128 $1, A, X12; VADDPS X12, XA, XA; \
	VEXTRACTF128 $1, B, X13; VADDPS X13, XB, XB; \
	VEXTRACTF128 $1, C, X14; VADDPS X14, XC, XC; \
	VEXTRACTF128 $1, D, X15; VADDPS X15, XD, XD; \
	VHADDPS XB, XA, XA; VHADDPS XD, XC, XC; VHADDPS XC, XA, XA; \
	VADDPS addr, XA, XA; VMOVUPS XA, addr

// func mm3y(x *float32, ldx int, w *float32, ldw int, out *float32, ldo int, n, groups int)
// For g < groups, r < 3, c < 4: out[r*ldo+4g+c] += Σ_{k<n} x[r*ldx+k]·w[(4g+c)*ldw+k],
// each sum accumulated and reduced as dot3x4 does. n is a multiple of 8, groups ≥ 1.
TEXT ·mm3y(SB), NOSPLIT, $0-64
	MOVQ x+0(FP), SI
	MOVQ ldx+8(FP), AX
	SHLQ $2, AX
	LEAQ (SI)(AX*1), R8
	LEAQ (R8)(AX*1), R9
	MOVQ w+16(FP), R10
	MOVQ ldw+24(FP), AX
	SHLQ $2, AX
	LEAQ (R10)(AX*1), R11
	LEAQ (R11)(AX*1), R12
	LEAQ (R12)(AX*1), R13
	MOVQ out+32(FP), DI
	MOVQ ldo+40(FP), DX
	SHLQ $2, DX
	MOVQ n+48(FP), CX
	MOVQ groups+56(FP), BX
group3:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	XORQ AX, AX
	CMPQ CX, $0
	JLE red3
k3:
	VMOVUPS (SI)(AX*4), Y12
	VMOVUPS (R8)(AX*4), Y13
	VMOVUPS (R9)(AX*4), Y14
	VMOVUPS (R10)(AX*4), Y15
	VFMADD231PS Y15, Y12, Y0
	VFMADD231PS Y15, Y13, Y1
	VFMADD231PS Y15, Y14, Y2
	VMOVUPS (R11)(AX*4), Y15
	VFMADD231PS Y15, Y12, Y3
	VFMADD231PS Y15, Y13, Y4
	VFMADD231PS Y15, Y14, Y5
	VMOVUPS (R12)(AX*4), Y15
	VFMADD231PS Y15, Y12, Y6
	VFMADD231PS Y15, Y13, Y7
	VFMADD231PS Y15, Y14, Y8
	VMOVUPS (R13)(AX*4), Y15
	VFMADD231PS Y15, Y12, Y9
	VFMADD231PS Y15, Y13, Y10
	VFMADD231PS Y15, Y14, Y11
	ADDQ $8, AX
	CMPQ AX, CX
	JLT k3
red3:
	// Y(3c+r) holds row r, column c.
	ROW4(Y0, X0, Y3, X3, Y6, X6, Y9, X9, 0(DI))
	ROW4(Y1, X1, Y4, X4, Y7, X7, Y10, X10, 0(DI)(DX*1))
	ROW4(Y2, X2, Y5, X5, Y8, X8, Y11, X11, 0(DI)(DX*2))
	// Next four w rows.
	MOVQ ldw+24(FP), AX
	SHLQ $2, AX
	LEAQ (R13)(AX*1), R10
	LEAQ (R10)(AX*1), R11
	LEAQ (R11)(AX*1), R12
	LEAQ (R12)(AX*1), R13
	ADDQ $16, DI
	DECQ BX
	JNZ group3
	VZEROUPPER
	RET

// func mm1y(x *float32, w *float32, ldw int, out *float32, n, groups int)
// For g < groups, c < 4: out[4g+c] += Σ_{k<n} x[k]·w[(4g+c)*ldw+k], each sum
// accumulated and reduced as dot1x4 does. n is a multiple of 8, groups ≥ 1.
TEXT ·mm1y(SB), NOSPLIT, $0-48
	MOVQ x+0(FP), SI
	MOVQ w+8(FP), R10
	MOVQ ldw+16(FP), DX
	SHLQ $2, DX
	LEAQ (R10)(DX*1), R11
	LEAQ (R11)(DX*1), R12
	LEAQ (R12)(DX*1), R13
	MOVQ out+24(FP), DI
	MOVQ n+32(FP), CX
	MOVQ groups+40(FP), BX
group1:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ AX, AX
	CMPQ CX, $0
	JLE red1
k1:
	VMOVUPS (SI)(AX*4), Y12
	VFMADD231PS (R10)(AX*4), Y12, Y0
	VFMADD231PS (R11)(AX*4), Y12, Y1
	VFMADD231PS (R12)(AX*4), Y12, Y2
	VFMADD231PS (R13)(AX*4), Y12, Y3
	ADDQ $8, AX
	CMPQ AX, CX
	JLT k1
red1:
	ROW4(Y0, X0, Y1, X1, Y2, X2, Y3, X3, 0(DI))
	LEAQ (R13)(DX*1), R10
	LEAQ (R10)(DX*1), R11
	LEAQ (R11)(DX*1), R12
	LEAQ (R12)(DX*1), R13
	ADDQ $16, DI
	DECQ BX
	JNZ group1
	VZEROUPPER
	RET
