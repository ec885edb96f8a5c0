//go:build amd64 && !purego

#include "textflag.h"

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

// func mm8z(x *float32, ldx int, w *float32, ldw int, out *float32, ldo int, n, groups int)
// For g < groups, r < 8, c < 2: out[r*ldo + 2g + c] += sum_{k<n} x[r*ldx+k]*w[(2g+c)*ldw+k];
// groups > 0; the values past the last multiple of 16 of n are one more
// 16-lane step with the lanes past n zero (masked loads, which read
// nothing past n). The eight x rows stay in L1 while
// the w rows stream past, two per block: 10 loads per 16 FMAs, one w load
// per 8. acc(r,c) lives in Z(4*(2*(r%2)+c) + r/2) so that the transpose
// tree leaves rows 2L and 2L+1 in 128-bit lane L of the result.
//
// pfper > 0: before each 8x2 block it also issues pfper PREFETCHT1s, one
// per 64-byte line from pf on (the weight bytes the caller decodes next),
// so that memory streams them while the FMAs run.
TEXT ·mm8z(SB), NOSPLIT, $0-80
	// The K tail past the last multiple of 16 is read with K1-masked
	// loads (zeros in the other lanes): n+48(FP) becomes that multiple,
	// K1 the tail's lanes (none: zero).
	MOVQ n+48(FP), AX
	MOVQ AX, R15
	ANDQ $-16, AX
	MOVQ AX, n+48(FP)
	ANDQ $15, R15
	MOVQ $0xFFFF, AX
	BZHIQ R15, AX, AX
	KMOVW AX, K1
	MOVQ ldx+8(FP), AX
	SHLQ $2, AX
	MOVQ x+0(FP), SI
	LEAQ (SI)(AX*1), R8
	LEAQ (R8)(AX*1), R9
	LEAQ (R9)(AX*1), R10
	LEAQ (R10)(AX*1), R11
	LEAQ (R11)(AX*1), R12
	LEAQ (R12)(AX*1), R13
	LEAQ (R13)(AX*1), BX
	MOVQ w+16(FP), DX
	MOVQ ldw+24(FP), AX
	SHLQ $2, AX
	LEAQ (DX)(AX*1), CX
	MOVQ out+32(FP), DI
	MOVQ pf+64(FP), R14
group8:
	MOVQ pfper+72(FP), R15
	TESTQ R15, R15
	JZ pfdone8
pfloop8:
	PREFETCHT1 (R14)
	ADDQ $64, R14
	DECQ R15
	JNZ pfloop8
pfdone8:
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
	CMPQ AX, n+48(FP)
	JGE tail8
loop8:
	VMOVUPS (SI)(AX*4), Z16
	VMOVUPS (R8)(AX*4), Z17
	VMOVUPS (R9)(AX*4), Z18
	VMOVUPS (R10)(AX*4), Z19
	VMOVUPS (R11)(AX*4), Z20
	VMOVUPS (R12)(AX*4), Z21
	VMOVUPS (R13)(AX*4), Z22
	VMOVUPS (BX)(AX*4), Z23
	VMOVUPS (DX)(AX*4), Z24
	VMOVUPS (CX)(AX*4), Z25
	VFMADD231PS Z24, Z16, Z0
	VFMADD231PS Z24, Z17, Z8
	VFMADD231PS Z24, Z18, Z1
	VFMADD231PS Z24, Z19, Z9
	VFMADD231PS Z24, Z20, Z2
	VFMADD231PS Z24, Z21, Z10
	VFMADD231PS Z24, Z22, Z3
	VFMADD231PS Z24, Z23, Z11
	VFMADD231PS Z25, Z16, Z4
	VFMADD231PS Z25, Z17, Z12
	VFMADD231PS Z25, Z18, Z5
	VFMADD231PS Z25, Z19, Z13
	VFMADD231PS Z25, Z20, Z6
	VFMADD231PS Z25, Z21, Z14
	VFMADD231PS Z25, Z22, Z7
	VFMADD231PS Z25, Z23, Z15
	ADDQ $16, AX
	CMPQ AX, n+48(FP)
	JLT loop8
tail8:
	KORTESTW K1, K1
	JZ reduce8
	VMOVUPS.Z (SI)(AX*4), K1, Z16
	VMOVUPS.Z (R8)(AX*4), K1, Z17
	VMOVUPS.Z (R9)(AX*4), K1, Z18
	VMOVUPS.Z (R10)(AX*4), K1, Z19
	VMOVUPS.Z (R11)(AX*4), K1, Z20
	VMOVUPS.Z (R12)(AX*4), K1, Z21
	VMOVUPS.Z (R13)(AX*4), K1, Z22
	VMOVUPS.Z (BX)(AX*4), K1, Z23
	VMOVUPS.Z (DX)(AX*4), K1, Z24
	VMOVUPS.Z (CX)(AX*4), K1, Z25
	VFMADD231PS Z24, Z16, Z0
	VFMADD231PS Z24, Z17, Z8
	VFMADD231PS Z24, Z18, Z1
	VFMADD231PS Z24, Z19, Z9
	VFMADD231PS Z24, Z20, Z2
	VFMADD231PS Z24, Z21, Z10
	VFMADD231PS Z24, Z22, Z3
	VFMADD231PS Z24, Z23, Z11
	VFMADD231PS Z25, Z16, Z4
	VFMADD231PS Z25, Z17, Z12
	VFMADD231PS Z25, Z18, Z5
	VFMADD231PS Z25, Z19, Z13
	VFMADD231PS Z25, Z20, Z6
	VFMADD231PS Z25, Z21, Z14
	VFMADD231PS Z25, Z22, Z7
	VFMADD231PS Z25, Z23, Z15
reduce8:
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
	COMBINE3(Z0, Z4, Z16, Z17)
	COMBINE3(Z8, Z12, Z18, Z19)
	COMBINE3(Z0, Z8, Z20, Z21)
	// 128-bit lane L of Z0 is (row 2L cols 0-1, row 2L+1 cols 0-1).
	MOVQ ldo+40(FP), AX
	SHLQ $2, AX
	VMOVSD (DI), X5
	VMOVHPS (DI)(AX*1), X5, X5
	VADDPS X5, X0, X5
	VMOVSD X5, (DI)
	VMOVHPS X5, (DI)(AX*1)
	LEAQ (DI)(AX*2), DI
	VEXTRACTF32X4 $1, Z0, X1
	VMOVSD (DI), X5
	VMOVHPS (DI)(AX*1), X5, X5
	VADDPS X5, X1, X5
	VMOVSD X5, (DI)
	VMOVHPS X5, (DI)(AX*1)
	LEAQ (DI)(AX*2), DI
	VEXTRACTF32X4 $2, Z0, X2
	VMOVSD (DI), X5
	VMOVHPS (DI)(AX*1), X5, X5
	VADDPS X5, X2, X5
	VMOVSD X5, (DI)
	VMOVHPS X5, (DI)(AX*1)
	LEAQ (DI)(AX*2), DI
	VEXTRACTF32X4 $3, Z0, X3
	VMOVSD (DI), X5
	VMOVHPS (DI)(AX*1), X5, X5
	VADDPS X5, X3, X5
	VMOVSD X5, (DI)
	VMOVHPS X5, (DI)(AX*1)
	LEAQ (DI)(AX*2), DI
	SHLQ $3, AX
	SUBQ AX, DI
	ADDQ $8, DI
	MOVQ ldw+24(FP), AX
	SHLQ $2, AX
	LEAQ (DX)(AX*2), DX
	LEAQ (DX)(AX*1), CX
	DECQ groups+56(FP)
	JNZ group8
	VZEROUPPER
	RET

// REDUCE16 leaves in lanes 0-3 of x the four sums S_e = (v[e]+v[8+e]) +
// (v[4+e]+v[12+e]) of z's 16 lanes v (y, x: z's lower halves; ty, tx:
// scratch), the same pairs mm8z's COMBINE1/COMBINE2 add.
#define REDUCE16(z, y, x, ty, tx) \
	VEXTRACTF64X4 $1, z, ty \
	VADDPS ty, y, y \
	VEXTRACTF128 $1, y, tx \
	VADDPS tx, x, x

// func mm1z(x *float32, w *float32, ldw int, out *float32, n, cols int, pf uintptr, pfper int)
// For c < cols: out[c] += sum_{k<n} x[k]*w[c*ldw+k], n ≥ 1 (its tail past
// the last multiple of 16 masked, as mm8z). Each sum is bit-identical to the one mm8z gives that row
// and column: one 16-lane FMA accumulator over k in the same order, then
// the same reduction tree ((S0+S1)+(S2+S3) after REDUCE16). It serves the
// rows of a tile past the last multiple of eight, which mm8z would run in
// a zero-padded block of eight. pf, pfper: as mm8z, per four columns.
TEXT ·mm1z(SB), NOSPLIT, $0-64
	MOVQ x+0(FP), SI
	MOVQ w+8(FP), DX
	MOVQ ldw+16(FP), BX
	SHLQ $2, BX
	MOVQ out+24(FP), DI
	// CX: n's last multiple of 16; K1: the tail's lanes, as mm8z.
	MOVQ n+32(FP), CX
	MOVQ CX, AX
	ANDQ $-16, CX
	ANDQ $15, AX
	MOVQ $0xFFFF, R9
	BZHIQ AX, R9, R9
	KMOVW R9, K1
	MOVQ cols+40(FP), R8
	MOVQ pf+48(FP), R14
quad1:
	CMPQ R8, $4
	JLT pair1
	MOVQ pfper+56(FP), R15
	TESTQ R15, R15
	JZ pfdone1
pfloop1:
	PREFETCHT1 (R14)
	ADDQ $64, R14
	DECQ R15
	JNZ pfloop1
pfdone1:
	LEAQ (DX)(BX*1), R9
	LEAQ (R9)(BX*1), R10
	LEAQ (R10)(BX*1), R11
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	XORQ AX, AX
	CMPQ AX, CX
	JGE tail14
loop14:
	VMOVUPS (SI)(AX*4), Z16
	VFMADD231PS (DX)(AX*4), Z16, Z0
	VFMADD231PS (R9)(AX*4), Z16, Z1
	VFMADD231PS (R10)(AX*4), Z16, Z2
	VFMADD231PS (R11)(AX*4), Z16, Z3
	ADDQ $16, AX
	CMPQ AX, CX
	JLT loop14
tail14:
	KORTESTW K1, K1
	JZ red14
	VMOVUPS.Z (SI)(AX*4), K1, Z16
	VMOVUPS.Z (DX)(AX*4), K1, Z17
	VMOVUPS.Z (R9)(AX*4), K1, Z18
	VMOVUPS.Z (R10)(AX*4), K1, Z19
	VMOVUPS.Z (R11)(AX*4), K1, Z20
	VFMADD231PS Z17, Z16, Z0
	VFMADD231PS Z18, Z16, Z1
	VFMADD231PS Z19, Z16, Z2
	VFMADD231PS Z20, Z16, Z3
red14:
	REDUCE16(Z0, Y0, X0, Y4, X4)
	REDUCE16(Z1, Y1, X1, Y5, X5)
	REDUCE16(Z2, Y2, X2, Y6, X6)
	REDUCE16(Z3, Y3, X3, Y7, X7)
	VHADDPS X1, X0, X0
	VHADDPS X3, X2, X2
	VHADDPS X2, X0, X0
	VMOVUPS (DI), X4
	VADDPS X4, X0, X0
	VMOVUPS X0, (DI)
	ADDQ $16, DI
	LEAQ (DX)(BX*4), DX
	SUBQ $4, R8
	JMP quad1
pair1:
	CMPQ R8, $2
	JLT single1
	LEAQ (DX)(BX*1), R9
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	XORQ AX, AX
	CMPQ AX, CX
	JGE tail12
loop12:
	VMOVUPS (SI)(AX*4), Z16
	VFMADD231PS (DX)(AX*4), Z16, Z0
	VFMADD231PS (R9)(AX*4), Z16, Z1
	ADDQ $16, AX
	CMPQ AX, CX
	JLT loop12
tail12:
	KORTESTW K1, K1
	JZ red12
	VMOVUPS.Z (SI)(AX*4), K1, Z16
	VMOVUPS.Z (DX)(AX*4), K1, Z17
	VMOVUPS.Z (R9)(AX*4), K1, Z18
	VFMADD231PS Z17, Z16, Z0
	VFMADD231PS Z18, Z16, Z1
red12:
	REDUCE16(Z0, Y0, X0, Y4, X4)
	REDUCE16(Z1, Y1, X1, Y5, X5)
	VHADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VMOVSD (DI), X4
	VADDPS X4, X0, X0
	VMOVSD X0, (DI)
	ADDQ $8, DI
	LEAQ (DX)(BX*2), DX
	SUBQ $2, R8
single1:
	CMPQ R8, $1
	JLT done1
	VPXORD Z0, Z0, Z0
	XORQ AX, AX
	CMPQ AX, CX
	JGE tail11
loop11:
	VMOVUPS (SI)(AX*4), Z16
	VFMADD231PS (DX)(AX*4), Z16, Z0
	ADDQ $16, AX
	CMPQ AX, CX
	JLT loop11
tail11:
	KORTESTW K1, K1
	JZ red11
	VMOVUPS.Z (SI)(AX*4), K1, Z16
	VMOVUPS.Z (DX)(AX*4), K1, Z17
	VFMADD231PS Z17, Z16, Z0
red11:
	REDUCE16(Z0, Y0, X0, Y4, X4)
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VMOVSS (DI), X4
	VADDSS X4, X0, X0
	VMOVSS X0, (DI)
done1:
	VZEROUPPER
	RET

// func decodeBF16Z(dst *float32, src *byte, n int)
// dst[i] = float32(bf16 src[i]) for i < n (a multiple of 16), 16 at a time.
TEXT ·decodeBF16Z(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	XORQ AX, AX
	CMPQ CX, $0
	JLE bf16zdone
bf16zloop:
	VPMOVZXWD (SI)(AX*2), Z0
	VPSLLD $16, Z0, Z0
	VMOVUPS Z0, (DI)(AX*4)
	ADDQ $16, AX
	CMPQ AX, CX
	JLT bf16zloop
bf16zdone:
	VZEROUPPER
	RET

// func decodeQ8Z(dst *float32, src *byte, nb int)
// decodeQ8 with 16-wide conversions: each 34-byte block is a float16
// scale d and 32 int8 quants q; writes the 32 values q·d (one rounding).
TEXT ·decodeQ8Z(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ nb+16(FP), CX
	CMPQ CX, $0
	JLE q8zdone
q8zloop:
	VPBROADCASTW (SI), Y1
	VCVTPH2PS Y1, Z1
	VPMOVSXBD 2(SI), Z2
	VCVTDQ2PS Z2, Z2
	VMULPS Z1, Z2, Z2
	VMOVUPS Z2, 0(DI)
	VPMOVSXBD 18(SI), Z3
	VCVTDQ2PS Z3, Z3
	VMULPS Z1, Z3, Z3
	VMOVUPS Z3, 64(DI)
	ADDQ $34, SI
	ADDQ $128, DI
	DECQ CX
	JNZ q8zloop
q8zdone:
	VZEROUPPER
	RET
