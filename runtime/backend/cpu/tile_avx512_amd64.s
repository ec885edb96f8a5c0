//go:build amd64 && !purego

#include "textflag.h"

// Accumulator acc(r,c) (x row r, w row c) lives in Z(4c+r).
#define FMA4(wreg, c0, c1, c2, c3) \
	VFMADD231PS wreg, Z16, c0 \
	VFMADD231PS wreg, Z17, c1 \
	VFMADD231PS wreg, Z18, c2 \
	VFMADD231PS wreg, Z19, c3

// COMBINE1 leaves a's partial sums in lanes 0-1 of a and b's in lanes 2-3.
#define COMBINE1(a, b, t, u) \
	VSHUFF32X4 $0x44, b, a, t \
	VSHUFF32X4 $0xEE, b, a, u \
	VADDPS u, t, a

// COMBINE2 takes two COMBINE1 results and leaves one 128-bit lane per source.
#define COMBINE2(a, b, t, u) \
	VSHUFF32X4 $0x88, b, a, t \
	VSHUFF32X4 $0xDD, b, a, u \
	VADDPS u, t, a

// COMBINE3 folds pairs of elements within each 128-bit lane of a and b.
#define COMBINE3(a, b, t, u) \
	VSHUFPS $0x88, b, a, t \
	VSHUFPS $0xDD, b, a, u \
	VADDPS u, t, a

// func dot4x4z(x0, x1, x2, x3, w0, w1, w2, w3 *float32, n int, out *[16]float32)
// out[r*4+c] = sum_{k<n} x_r[k]*w_c[k]; n is a multiple of 16. The 16
// accumulators are 16 lanes wide and are reduced together by a transpose
// tree (30 shuffles, 15 adds) rather than one at a time.
TEXT ·dot4x4z(SB), NOSPLIT, $0-80
	MOVQ x0+0(FP), SI
	MOVQ x1+8(FP), R8
	MOVQ x2+16(FP), R9
	MOVQ x3+24(FP), R10
	MOVQ w0+32(FP), R11
	MOVQ w1+40(FP), R12
	MOVQ w2+48(FP), R13
	MOVQ w3+56(FP), BX
	MOVQ n+64(FP), CX
	MOVQ out+72(FP), DI
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	XORQ AX, AX
	CMPQ CX, $0
	JLE reduce
loop:
	VMOVUPS (SI)(AX*4), Z16
	VMOVUPS (R8)(AX*4), Z17
	VMOVUPS (R9)(AX*4), Z18
	VMOVUPS (R10)(AX*4), Z19
	VMOVUPS (R11)(AX*4), Z20
	VMOVUPS (R12)(AX*4), Z21
	VMOVUPS (R13)(AX*4), Z22
	VMOVUPS (BX)(AX*4), Z23
	FMA4(Z20, Z0, Z1, Z2, Z3)
	FMA4(Z21, Z4, Z5, Z6, Z7)
	FMA4(Z22, Z8, Z9, Z10, Z11)
	FMA4(Z23, Z12, Z13, Z14, Z15)
	ADDQ $16, AX
	CMPQ AX, CX
	JLT loop
reduce:
	COMBINE1(Z0, Z1, Z16, Z17)
	COMBINE1(Z2, Z3, Z18, Z19)
	COMBINE1(Z4, Z5, Z20, Z21)
	COMBINE1(Z6, Z7, Z22, Z23)
	COMBINE1(Z8, Z9, Z24, Z25)
	COMBINE1(Z10, Z11, Z26, Z27)
	COMBINE1(Z12, Z13, Z28, Z29)
	COMBINE1(Z14, Z15, Z30, Z31)
	COMBINE2(Z0, Z2, Z16, Z17)
	COMBINE2(Z4, Z6, Z18, Z19)
	COMBINE2(Z8, Z10, Z20, Z21)
	COMBINE2(Z12, Z14, Z22, Z23)
	// Z0, Z4, Z8, Z12 now hold columns 0-3; lane r of each is row r.
	COMBINE3(Z0, Z4, Z16, Z17)
	COMBINE3(Z8, Z12, Z18, Z19)
	COMBINE3(Z0, Z8, Z20, Z21)
	// Element 4r+c of Z0 is acc(r,c).
	VMOVUPS Z0, (DI)
	VZEROUPPER
	RET
