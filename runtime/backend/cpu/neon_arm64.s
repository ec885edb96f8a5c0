//go:build arm64 && !purego

#include "textflag.h"

// Go's arm64 assembler has no floating-point vector add: these are the
// A64 encodings of FADD Vd.4S, Vn.4S, Vm.4S (d = n + m, lane by lane) and
// FADDP Vd.4S, Vn.4S, Vm.4S (d = n0+n1, n2+n3, m0+m1, m2+m3), with the
// registers as plain numbers.
#define FADD4S(n, m, d) WORD $(0x4E20D400 | ((m)<<16) | ((n)<<5) | (d))
#define FADDP4S(n, m, d) WORD $(0x6E20D400 | ((m)<<16) | ((n)<<5) | (d))

#define ZERO4(a, b, c, d) \
	VEOR a.B16, a.B16, a.B16; \
	VEOR b.B16, b.B16, b.B16; \
	VEOR c.B16, c.B16, c.B16; \
	VEOR d.B16, d.B16, d.B16

// FMA16 adds the 16 weights in V24–V27 times the broadcast x value in bx
// into one row's four accumulators.
#define FMA16(bx, a, b, c, d) \
	VFMLA V24.S4, bx.S4, a.S4; \
	VFMLA V25.S4, bx.S4, b.S4; \
	VFMLA V26.S4, bx.S4, c.S4; \
	VFMLA V27.S4, bx.S4, d.S4

// STORE16 stores one row's accumulators (registers a..a+3, also given as
// the number na) at R17 and steps R17 to the next output row (R6 bytes);
// ADDSTORE16 first adds out's values to them.
#define STORE16(a, b, c, d) \
	VST1 [a.S4, b.S4, c.S4, d.S4], (R17); \
	ADD R6, R17, R17

#define ADDSTORE16(a, b, c, d, na) \
	VLD1 (R17), [V24.S4, V25.S4, V26.S4, V27.S4]; \
	FADD4S(24, na, na); \
	FADD4S(25, (na)+1, (na)+1); \
	FADD4S(26, (na)+2, (na)+2); \
	FADD4S(27, (na)+3, (na)+3); \
	STORE16(a, b, c, d)

// The broadcast kernels' frame: x, ldx, wp, k, pstride, jstride, out, ldo,
// panels, add. BCASTARGS loads it with the strides in bytes.
#define BCASTARGS \
	MOVD x+0(FP), R0; \
	MOVD ldx+8(FP), R1; \
	LSL $2, R1, R1; \
	MOVD wp+16(FP), R2; \
	MOVD pstride+32(FP), R3; \
	LSL $2, R3, R3; \
	MOVD jstride+40(FP), R4; \
	LSL $2, R4, R4; \
	MOVD out+48(FP), R5; \
	MOVD ldo+56(FP), R6; \
	LSL $2, R6, R6; \
	MOVD panels+64(FP), R7; \
	MOVD add+72(FP), R8

// func mm6x16(x *float32, ldx int, wp *float32, k, pstride, jstride int, out *float32, ldo int, panels int, add int)
// For p < panels, r < 6, c < 16:
//   out[r*ldo+16p+c] += Σ_{j<k} x[r*ldx+j]·wp[p*pstride+j*jstride+c]
// one FMA at a time in each output's own lane (V0–V23), the weights'
// 16 columns in V24–V27, x broadcast into V28 and V29. k ≥ 1.
TEXT ·mm6x16(SB), NOSPLIT, $0-80
	BCASTARGS
panel6:
	ZERO4(V0, V1, V2, V3)
	ZERO4(V4, V5, V6, V7)
	ZERO4(V8, V9, V10, V11)
	ZERO4(V12, V13, V14, V15)
	ZERO4(V16, V17, V18, V19)
	ZERO4(V20, V21, V22, V23)
	MOVD R2, R9
	MOVD R0, R10
	ADD R1, R10, R11
	ADD R1, R11, R12
	ADD R1, R12, R13
	ADD R1, R13, R14
	ADD R1, R14, R15
	MOVD k+24(FP), R16
k6:
	VLD1 (R9), [V24.S4, V25.S4, V26.S4, V27.S4]
	ADD R4, R9, R9
	VLD1R.P 4(R10), [V28.S4]
	VLD1R.P 4(R11), [V29.S4]
	FMA16(V28, V0, V1, V2, V3)
	VLD1R.P 4(R12), [V28.S4]
	FMA16(V29, V4, V5, V6, V7)
	VLD1R.P 4(R13), [V29.S4]
	FMA16(V28, V8, V9, V10, V11)
	VLD1R.P 4(R14), [V28.S4]
	FMA16(V29, V12, V13, V14, V15)
	VLD1R.P 4(R15), [V29.S4]
	FMA16(V28, V16, V17, V18, V19)
	FMA16(V29, V20, V21, V22, V23)
	SUBS $1, R16, R16
	BNE k6
	MOVD R5, R17
	CBZ R8, store6
	ADDSTORE16(V0, V1, V2, V3, 0)
	ADDSTORE16(V4, V5, V6, V7, 4)
	ADDSTORE16(V8, V9, V10, V11, 8)
	ADDSTORE16(V12, V13, V14, V15, 12)
	ADDSTORE16(V16, V17, V18, V19, 16)
	ADDSTORE16(V20, V21, V22, V23, 20)
	B next6
store6:
	STORE16(V0, V1, V2, V3)
	STORE16(V4, V5, V6, V7)
	STORE16(V8, V9, V10, V11)
	STORE16(V12, V13, V14, V15)
	STORE16(V16, V17, V18, V19)
	STORE16(V20, V21, V22, V23)
next6:
	ADD $64, R5, R5
	ADD R3, R2, R2
	SUBS $1, R7, R7
	BNE panel6
	RET

// func mm3x16(x *float32, ldx int, wp *float32, k, pstride, jstride int, out *float32, ldo int, panels int, add int)
// mm6x16 for three rows: the same FMAs in the same order.
TEXT ·mm3x16(SB), NOSPLIT, $0-80
	BCASTARGS
panel3:
	ZERO4(V0, V1, V2, V3)
	ZERO4(V4, V5, V6, V7)
	ZERO4(V8, V9, V10, V11)
	MOVD R2, R9
	MOVD R0, R10
	ADD R1, R10, R11
	ADD R1, R11, R12
	MOVD k+24(FP), R16
k3:
	VLD1 (R9), [V24.S4, V25.S4, V26.S4, V27.S4]
	ADD R4, R9, R9
	VLD1R.P 4(R10), [V28.S4]
	VLD1R.P 4(R11), [V29.S4]
	FMA16(V28, V0, V1, V2, V3)
	VLD1R.P 4(R12), [V28.S4]
	FMA16(V29, V4, V5, V6, V7)
	FMA16(V28, V8, V9, V10, V11)
	SUBS $1, R16, R16
	BNE k3
	MOVD R5, R17
	CBZ R8, store3
	ADDSTORE16(V0, V1, V2, V3, 0)
	ADDSTORE16(V4, V5, V6, V7, 4)
	ADDSTORE16(V8, V9, V10, V11, 8)
	B next3
store3:
	STORE16(V0, V1, V2, V3)
	STORE16(V4, V5, V6, V7)
	STORE16(V8, V9, V10, V11)
next3:
	ADD $64, R5, R5
	ADD R3, R2, R2
	SUBS $1, R7, R7
	BNE panel3
	RET

// func mm1x16(x *float32, wp *float32, k, pstride, jstride int, out *float32, panels int, add int)
// mm6x16 for one row: the same FMAs in the same order.
TEXT ·mm1x16(SB), NOSPLIT, $0-64
	MOVD x+0(FP), R0
	MOVD wp+8(FP), R2
	MOVD pstride+24(FP), R3
	LSL $2, R3, R3
	MOVD jstride+32(FP), R4
	LSL $2, R4, R4
	MOVD out+40(FP), R5
	MOVD panels+48(FP), R7
	MOVD add+56(FP), R8
	MOVD $0, R6 // one row: STORE16's step to the next is not used
panel1:
	ZERO4(V0, V1, V2, V3)
	MOVD R2, R9
	MOVD R0, R10
	MOVD k+16(FP), R16
k1:
	VLD1 (R9), [V24.S4, V25.S4, V26.S4, V27.S4]
	ADD R4, R9, R9
	VLD1R.P 4(R10), [V28.S4]
	FMA16(V28, V0, V1, V2, V3)
	SUBS $1, R16, R16
	BNE k1
	MOVD R5, R17
	CBZ R8, store1
	ADDSTORE16(V0, V1, V2, V3, 0)
	B next1
store1:
	STORE16(V0, V1, V2, V3)
next1:
	ADD $64, R5, R5
	ADD R3, R2, R2
	SUBS $1, R7, R7
	BNE panel1
	RET

// ROWSUM4 reduces one row's four accumulators (registers a..a+3, by
// number) to their four sums in V26, each as (l0+l1)+(l2+l3), and adds
// them to the four outputs at R17, then steps R17 to the next output row
// (R5 bytes).
#define ROWSUM4(a) \
	FADDP4S(a, (a)+1, 24); \
	FADDP4S((a)+2, (a)+3, 25); \
	FADDP4S(24, 25, 26); \
	VLD1 (R17), [V27.S4]; \
	FADD4S(27, 26, 27); \
	VST1 [V27.S4], (R17); \
	ADD R5, R17, R17

// func mm4x4n(x *float32, ldx int, w *float32, ldw int, out *float32, ldo int, n, groups int)
// For g < groups, r < 4, c < 4:
//   out[r*ldo+4g+c] += Σ_{k<n} x[r*ldx+k]·w[(4g+c)*ldw+k]
// Accumulator V(4r+c) holds the four lanes of sum (r, c); x rows in
// V16–V19, w rows in V20–V23, four values of K a step. n is a positive
// multiple of 4.
TEXT ·mm4x4n(SB), NOSPLIT, $0-64
	MOVD x+0(FP), R0
	MOVD ldx+8(FP), R1
	LSL $2, R1, R1
	MOVD w+16(FP), R2
	MOVD ldw+24(FP), R3
	LSL $2, R3, R3
	MOVD out+32(FP), R4
	MOVD ldo+40(FP), R5
	LSL $2, R5, R5
	MOVD groups+56(FP), R7
group4:
	ZERO4(V0, V1, V2, V3)
	ZERO4(V4, V5, V6, V7)
	ZERO4(V8, V9, V10, V11)
	ZERO4(V12, V13, V14, V15)
	MOVD R0, R8
	ADD R1, R8, R9
	ADD R1, R9, R10
	ADD R1, R10, R11
	MOVD R2, R12
	ADD R3, R12, R13
	ADD R3, R13, R14
	ADD R3, R14, R15
	MOVD n+48(FP), R16
	LSR $2, R16, R16
k4:
	VLD1.P 16(R8), [V16.S4]
	VLD1.P 16(R9), [V17.S4]
	VLD1.P 16(R10), [V18.S4]
	VLD1.P 16(R11), [V19.S4]
	VLD1.P 16(R12), [V20.S4]
	VLD1.P 16(R13), [V21.S4]
	VLD1.P 16(R14), [V22.S4]
	VLD1.P 16(R15), [V23.S4]
	VFMLA V20.S4, V16.S4, V0.S4
	VFMLA V21.S4, V16.S4, V1.S4
	VFMLA V22.S4, V16.S4, V2.S4
	VFMLA V23.S4, V16.S4, V3.S4
	VFMLA V20.S4, V17.S4, V4.S4
	VFMLA V21.S4, V17.S4, V5.S4
	VFMLA V22.S4, V17.S4, V6.S4
	VFMLA V23.S4, V17.S4, V7.S4
	VFMLA V20.S4, V18.S4, V8.S4
	VFMLA V21.S4, V18.S4, V9.S4
	VFMLA V22.S4, V18.S4, V10.S4
	VFMLA V23.S4, V18.S4, V11.S4
	VFMLA V20.S4, V19.S4, V12.S4
	VFMLA V21.S4, V19.S4, V13.S4
	VFMLA V22.S4, V19.S4, V14.S4
	VFMLA V23.S4, V19.S4, V15.S4
	SUBS $1, R16, R16
	BNE k4
	MOVD R4, R17
	ROWSUM4(0)
	ROWSUM4(4)
	ROWSUM4(8)
	ROWSUM4(12)
	ADD $16, R4, R4
	ADD R3<<2, R2, R2
	SUBS $1, R7, R7
	BNE group4
	RET

// func mm1x4n(x *float32, w *float32, ldw int, out *float32, n, groups int)
// mm4x4n for one row: the same lanes and the same reduction.
TEXT ·mm1x4n(SB), NOSPLIT, $0-48
	MOVD x+0(FP), R0
	MOVD w+8(FP), R2
	MOVD ldw+16(FP), R3
	LSL $2, R3, R3
	MOVD out+24(FP), R4
	MOVD groups+40(FP), R7
	MOVD $0, R5
group1:
	ZERO4(V0, V1, V2, V3)
	MOVD R0, R8
	MOVD R2, R12
	ADD R3, R12, R13
	ADD R3, R13, R14
	ADD R3, R14, R15
	MOVD n+32(FP), R16
	LSR $2, R16, R16
k14:
	VLD1.P 16(R8), [V16.S4]
	VLD1.P 16(R12), [V20.S4]
	VLD1.P 16(R13), [V21.S4]
	VLD1.P 16(R14), [V22.S4]
	VLD1.P 16(R15), [V23.S4]
	VFMLA V20.S4, V16.S4, V0.S4
	VFMLA V21.S4, V16.S4, V1.S4
	VFMLA V22.S4, V16.S4, V2.S4
	VFMLA V23.S4, V16.S4, V3.S4
	SUBS $1, R16, R16
	BNE k14
	MOVD R4, R17
	ROWSUM4(0)
	ADD $16, R4, R4
	ADD R3<<2, R2, R2
	SUBS $1, R7, R7
	BNE group1
	RET

// More A64 encodings Go's assembler lacks (4S, registers by number).
#define FSUB4S(n, m, d) WORD $(0x4EA0D400 | ((m)<<16) | ((n)<<5) | (d))
#define FMUL4S(n, m, d) WORD $(0x6E20DC00 | ((m)<<16) | ((n)<<5) | (d))
#define FMAX4S(n, m, d) WORD $(0x4E20F400 | ((m)<<16) | ((n)<<5) | (d))
#define FMAXV4S(n, d) WORD $(0x6E30F800 | ((n)<<5) | (d))
#define FRINTN4S(n, d) WORD $(0x4E218800 | ((n)<<5) | (d))
#define FCVTNS4S(n, d) WORD $(0x4E21A800 | ((n)<<5) | (d))

// func scaleMax(x *float32, n int, s float32) float32
// x[i] *= s for i < n (a positive multiple of 8); returns the largest.
TEXT ·scaleMax(SB), NOSPLIT, $0-28
	MOVD x+0(FP), R0
	MOVD n+8(FP), R1
	MOVWU s+16(FP), R2
	VDUP R2, V31.S4
	MOVW $0xff800000, R3 // −∞
	VDUP R3, V0.S4
	VDUP R3, V1.S4
smloop:
	VLD1 (R0), [V2.S4, V3.S4]
	FMUL4S(2, 31, 2)
	FMUL4S(3, 31, 3)
	VST1.P [V2.S4, V3.S4], 32(R0)
	FMAX4S(0, 2, 0)
	FMAX4S(1, 3, 1)
	SUBS $8, R1, R1
	BGT smloop
	FMAX4S(0, 1, 0)
	FMAXV4S(0, 0)
	FMOVS F0, ret+24(FP)
	RET

// func scaleBy(x *float32, n int, s float32)
// x[i] *= s for i < n (a positive multiple of 8).
TEXT ·scaleBy(SB), NOSPLIT, $0-20
	MOVD x+0(FP), R0
	MOVD n+8(FP), R1
	MOVWU s+16(FP), R2
	VDUP R2, V31.S4
sbloop:
	VLD1 (R0), [V2.S4, V3.S4]
	FMUL4S(2, 31, 2)
	FMUL4S(3, 31, 3)
	VST1.P [V2.S4, V3.S4], 32(R0)
	SUBS $8, R1, R1
	BGT sbloop
	RET

// EXPPOLY sets register u to e^r (r in register r), the degree-6
// polynomial by Horner's rule, one FMA a step, t and u alternating:
// p = 1/720; p = p·r + 1/120, 1/24, 1/6, 1/2, 1, 1 (V26, V25, V24, V23,
// V22, V21 hold the constants).
#define EXPPOLY(r, t, u) \
	VMOV V25.B16, t.B16; \
	VFMLA V26.S4, r.S4, t.S4; \
	VMOV V24.B16, u.B16; \
	VFMLA t.S4, r.S4, u.S4; \
	VMOV V23.B16, t.B16; \
	VFMLA u.S4, r.S4, t.S4; \
	VMOV V22.B16, u.B16; \
	VFMLA t.S4, r.S4, u.S4; \
	VMOV V21.B16, t.B16; \
	VFMLA u.S4, r.S4, t.S4; \
	VMOV V21.B16, u.B16; \
	VFMLA t.S4, r.S4, u.S4

// func expSubSum(x *float32, n int, m float32) float32
// x[i] = exp(x[i]−m) for i < n (a positive multiple of 8, every x[i] ≤ m);
// returns the sum. expSubSum's amd64 steps, eight elements at a time:
// y = max(x−m, −87.3); k = round(y·log2 e) (nearest even);
// r = (y − k·C1) − k·C2 (two FMAs); the polynomial; times 2^k.
TEXT ·expSubSum(SB), NOSPLIT, $0-28
	MOVD x+0(FP), R0
	MOVD n+8(FP), R1
	MOVWU m+16(FP), R2
	VDUP R2, V31.S4
	MOVW $0xc2ae999a, R2 // −87.3
	VDUP R2, V30.S4
	MOVW $0x3fb8aa3b, R2 // log2 e
	VDUP R2, V29.S4
	MOVW $0x3f317200, R2 // C1, ln 2's high part
	VDUP R2, V28.S4
	MOVW $0x35bfbe8e, R2 // C2, its low part
	VDUP R2, V27.S4
	MOVW $0x3ab60b61, R2 // 1/720
	VDUP R2, V26.S4
	MOVW $0x3c088889, R2 // 1/120
	VDUP R2, V25.S4
	MOVW $0x3d2aaaab, R2 // 1/24
	VDUP R2, V24.S4
	MOVW $0x3e2aaaab, R2 // 1/6
	VDUP R2, V23.S4
	MOVW $0x3f000000, R2 // 1/2
	VDUP R2, V22.S4
	MOVW $0x3f800000, R2 // 1
	VDUP R2, V21.S4
	MOVW $127, R2
	VDUP R2, V20.S4
	VEOR V0.B16, V0.B16, V0.B16 // sums of lanes 0–3 of each eight
	VEOR V1.B16, V1.B16, V1.B16 // and of lanes 4–7
exploop:
	VLD1 (R0), [V2.S4, V3.S4]
	FSUB4S(2, 31, 2)
	FSUB4S(3, 31, 3)
	FMAX4S(2, 30, 2)
	FMAX4S(3, 30, 3)
	FMUL4S(2, 29, 4)
	FMUL4S(3, 29, 6)
	FRINTN4S(4, 4)
	FRINTN4S(6, 6)
	VMOV V2.B16, V5.B16
	VMOV V3.B16, V7.B16
	VFMLS V28.S4, V4.S4, V5.S4
	VFMLS V28.S4, V6.S4, V7.S4
	VFMLS V27.S4, V4.S4, V5.S4
	VFMLS V27.S4, V6.S4, V7.S4
	EXPPOLY(V5, V12, V10)
	EXPPOLY(V7, V13, V11)
	FCVTNS4S(4, 4)
	FCVTNS4S(6, 6)
	VADD V20.S4, V4.S4, V4.S4
	VADD V20.S4, V6.S4, V6.S4
	VSHL $23, V4.S4, V4.S4
	VSHL $23, V6.S4, V6.S4
	FMUL4S(10, 4, 10)
	FMUL4S(11, 6, 11)
	VST1.P [V10.S4, V11.S4], 32(R0)
	FADD4S(0, 10, 0)
	FADD4S(1, 11, 1)
	SUBS $8, R1, R1
	BGT exploop
	FADD4S(0, 1, 0)
	FADDP4S(0, 0, 0)
	FADDP4S(0, 0, 0)
	FMOVS F0, ret+24(FP)
	RET

#define FMIN4S(n, m, d) WORD $(0x4EA0F400 | ((m)<<16) | ((n)<<5) | (d))
#define FDIV4S(n, m, d) WORD $(0x6E20FC00 | ((m)<<16) | ((n)<<5) | (d))
#define FRINTM4S(n, d) WORD $(0x4E219800 | ((n)<<5) | (d))
#define FCVTZS4S(n, d) WORD $(0x4EA1B800 | ((n)<<5) | (d))
#define FCMGT4S(n, m, d) WORD $(0x6EA0E400 | ((m)<<16) | ((n)<<5) | (d))
#define CMGT4S(n, m, d) WORD $(0x4EA03400 | ((m)<<16) | ((n)<<5) | (d))
#define SMIN4S(n, m, d) WORD $(0x4EA06C00 | ((m)<<16) | ((n)<<5) | (d))

// func siluMul(out, gate, up *float32, n int)
// out[i] = gate[i] / (1 + expf(−gate[i])) · up[i] for i < n (a positive
// multiple of 8), four lanes a step: expf (expf.go) on the clamped
// −gate, every product and sum rounded on its own, floor by FRINTM, 2^128
// as 2·2^127, then 0 below −87.3 and +Inf above 88.7 by selects.
TEXT ·siluMul(SB), NOSPLIT, $0-32
	MOVD out+0(FP), R0
	MOVD gate+8(FP), R1
	MOVD up+16(FP), R2
	MOVD n+24(FP), R3
	MOVW $0x80000000, R4 // the sign bit
	VDUP R4, V31.S4
	MOVW $0xc2ae999a, R4 // −87.3
	VDUP R4, V30.S4
	MOVW $0x42b16666, R4 // 88.7
	VDUP R4, V29.S4
	MOVW $0x3fb8aa3b, R4 // 1.44269504
	VDUP R4, V28.S4
	MOVW $0x3f000000, R4 // 1/2
	VDUP R4, V27.S4
	MOVW $0x3f317200, R4 // 0.693145751953125
	VDUP R4, V26.S4
	MOVW $0x35bfbe8e, R4 // 1.42860677e-06
	VDUP R4, V25.S4
	MOVW $0x3ab60b61, R4 // 1/720
	VDUP R4, V24.S4
	MOVW $0x3c088889, R4 // 1/120
	VDUP R4, V23.S4
	MOVW $0x3d2aaaab, R4 // 1/24
	VDUP R4, V22.S4
	MOVW $0x3e2aaaab, R4 // 1/6
	VDUP R4, V21.S4
	MOVW $0x3f800000, R4 // 1
	VDUP R4, V20.S4
	MOVW $127, R4
	VDUP R4, V19.S4
	MOVW $0x40000000, R4 // 2
	VDUP R4, V18.S4
	MOVW $0x7f800000, R4 // +Inf
	VDUP R4, V17.S4
	VEOR V16.B16, V16.B16, V16.B16
siluloop:
	VLD1.P 16(R1), [V0.S4]
	VLD1.P 16(R2), [V9.S4]
	VEOR V31.B16, V0.B16, V1.B16 // y = −x
	FMAX4S(1, 30, 2)
	FMIN4S(2, 29, 2)             // y clamped
	FMUL4S(2, 28, 3)
	FADD4S(3, 27, 3)
	FRINTM4S(3, 3)               // n = floor(y·log2 e + 1/2)
	FMUL4S(3, 26, 4)
	FSUB4S(2, 4, 4)
	FMUL4S(3, 25, 5)
	FSUB4S(4, 5, 4)              // r
	FMUL4S(4, 24, 5)
	FADD4S(5, 23, 5)
	FMUL4S(5, 4, 5)
	FADD4S(5, 22, 5)
	FMUL4S(5, 4, 5)
	FADD4S(5, 21, 5)
	FMUL4S(5, 4, 5)
	FADD4S(5, 27, 5)
	FMUL4S(5, 4, 5)
	FADD4S(5, 20, 5)
	FMUL4S(5, 4, 5)
	FADD4S(5, 20, 5)             // p ≈ e^r
	FCVTZS4S(3, 6)               // n as an integer
	CMGT4S(6, 19, 7)             // n > 127
	SMIN4S(6, 19, 6)
	VADD V19.S4, V6.S4, V6.S4
	VSHL $23, V6.S4, V6.S4       // 2^min(n, 127)
	VMOV V7.B16, V8.B16
	VBSL V20.B16, V18.B16, V8.B16 // 2 where n > 127, else 1
	FMUL4S(5, 8, 5)
	FMUL4S(5, 6, 5)
	FCMGT4S(30, 1, 7)            // y < −87.3: 0
	VBIT V7.B16, V16.B16, V5.B16
	FCMGT4S(1, 29, 7)            // y > 88.7: +Inf
	VBIT V7.B16, V17.B16, V5.B16
	FADD4S(5, 20, 5)             // 1 + e
	FDIV4S(0, 5, 5)              // x / (1 + e)
	FMUL4S(5, 9, 5)              // · up
	VST1.P [V5.S4], 16(R0)
	SUBS $4, R3, R3
	BGT siluloop
	RET

// func addVec(out, a, b *float32, n int)
// out[i] = a[i] + b[i] for i < n (a positive multiple of 8).
TEXT ·addVec(SB), NOSPLIT, $0-32
	MOVD out+0(FP), R0
	MOVD a+8(FP), R1
	MOVD b+16(FP), R2
	MOVD n+24(FP), R3
avloop:
	VLD1.P 32(R1), [V0.S4, V1.S4]
	VLD1.P 32(R2), [V2.S4, V3.S4]
	FADD4S(0, 2, 0)
	FADD4S(1, 3, 1)
	VST1.P [V0.S4, V1.S4], 32(R0)
	SUBS $8, R3, R3
	BGT avloop
	RET

// func scaleMulVec(out, x, w *float32, n int, s float32)
// out[i] = (x[i]·s)·w[i] for i < n (a positive multiple of 8), each
// product rounded as Go's x[i] * s * w[i].
TEXT ·scaleMulVec(SB), NOSPLIT, $0-36
	MOVD out+0(FP), R0
	MOVD x+8(FP), R1
	MOVD w+16(FP), R2
	MOVD n+24(FP), R3
	MOVWU s+32(FP), R4
	VDUP R4, V31.S4
smvloop:
	VLD1.P 32(R1), [V0.S4, V1.S4]
	VLD1.P 32(R2), [V2.S4, V3.S4]
	FMUL4S(0, 31, 0)
	FMUL4S(1, 31, 1)
	FMUL4S(0, 2, 0)
	FMUL4S(1, 3, 1)
	VST1.P [V0.S4, V1.S4], 32(R0)
	SUBS $8, R3, R3
	BGT smvloop
	RET

// func ropeHeads(row, cos, sin *float32, heads, half int)
// For each of heads heads of 2·half values in row: lo[i], hi[i] =
// lo[i]·cos[i] − hi[i]·sin[i], hi[i]·cos[i] + lo[i]·sin[i] for i < half
// (a positive multiple of 8), four at a time, no fused multiply-add.
TEXT ·ropeHeads(SB), NOSPLIT, $0-40
	MOVD row+0(FP), R0
	MOVD cos+8(FP), R1
	MOVD sin+16(FP), R2
	MOVD heads+24(FP), R3
	MOVD half+32(FP), R4
	CBZ R3, rhdone
rhhead:
	ADD R4<<2, R0, R5 // hi of this head
	MOVD R1, R6
	MOVD R2, R7
	MOVD R4, R8
rhloop:
	VLD1 (R0), [V0.S4]     // a = lo
	VLD1 (R5), [V1.S4]     // b = hi
	VLD1.P 16(R6), [V2.S4] // cos
	VLD1.P 16(R7), [V3.S4] // sin
	FMUL4S(0, 2, 4)        // a·cos
	FMUL4S(1, 3, 5)        // b·sin
	FSUB4S(4, 5, 4)        // a·cos − b·sin
	FMUL4S(1, 2, 6)        // b·cos
	FMUL4S(0, 3, 7)        // a·sin
	FADD4S(6, 7, 6)        // b·cos + a·sin
	VST1.P [V4.S4], 16(R0)
	VST1.P [V6.S4], 16(R5)
	SUBS $4, R8, R8
	BGT rhloop
	MOVD R5, R0            // the next head starts after this one's hi
	SUBS $1, R3, R3
	BGT rhhead
rhdone:
	RET

#define FCVTL4S(n, d) WORD $(0x0E217800 | ((n)<<5) | (d))  // FCVTL Vd.4S, Vn.4H
#define FCVTL24S(n, d) WORD $(0x4E217800 | ((n)<<5) | (d)) // FCVTL2 Vd.4S, Vn.8H
#define SXTL8H(n, d) WORD $(0x0F08A400 | ((n)<<5) | (d))   // SSHLL Vd.8H, Vn.8B, #0
#define SXTL28H(n, d) WORD $(0x4F08A400 | ((n)<<5) | (d))  // SSHLL2 Vd.8H, Vn.16B, #0
#define SXTL4S(n, d) WORD $(0x0F10A400 | ((n)<<5) | (d))   // SSHLL Vd.4S, Vn.4H, #0
#define SXTL24S(n, d) WORD $(0x4F10A400 | ((n)<<5) | (d))  // SSHLL2 Vd.4S, Vn.8H, #0
#define SCVTF4S(n, d) WORD $(0x4E21D800 | ((n)<<5) | (d))

// func decodeBF16(dst *float32, src *byte, n int)
// n bfloat16 values (a positive multiple of 8) to float32: each one the
// high half of its float32, the low half zero (ZIP with a zero vector).
TEXT ·decodeBF16(SB), NOSPLIT, $0-24
	MOVD dst+0(FP), R0
	MOVD src+8(FP), R1
	MOVD n+16(FP), R2
	VEOR V31.B16, V31.B16, V31.B16
bf16loop:
	VLD1.P 16(R1), [V0.H8]
	VZIP1 V0.H8, V31.H8, V1.H8
	VZIP2 V0.H8, V31.H8, V2.H8
	VST1.P [V1.S4, V2.S4], 32(R0)
	SUBS $8, R2, R2
	BGT bf16loop
	RET

// func decodeF16(dst *float32, src *byte, n int)
// n float16 values (a positive multiple of 8) to float32 by FCVTL (exact;
// a signaling NaN comes back quieted).
TEXT ·decodeF16(SB), NOSPLIT, $0-24
	MOVD dst+0(FP), R0
	MOVD src+8(FP), R1
	MOVD n+16(FP), R2
f16loop:
	VLD1.P 16(R1), [V0.H8]
	FCVTL4S(0, 1)
	FCVTL24S(0, 2)
	VST1.P [V1.S4, V2.S4], 32(R0)
	SUBS $8, R2, R2
	BGT f16loop
	RET

// func decodeQ8(dst *float32, src *byte, nb int)
// nb Q8_0 blocks (a float16 scale, then 32 int8) to 32·nb float32, each
// float32(q)·scale rounded once.
TEXT ·decodeQ8(SB), NOSPLIT, $0-24
	MOVD dst+0(FP), R0
	MOVD src+8(FP), R1
	MOVD nb+16(FP), R2
	CBZ R2, q8done
q8loop:
	MOVHU.P 2(R1), R3
	VMOV R3, V16.H[0]
	FCVTL4S(16, 16)
	VDUP V16.S[0], V16.S4 // the scale in every lane
	VLD1.P 32(R1), [V0.B16, V1.B16]
	SXTL8H(0, 2)
	SXTL28H(0, 3)
	SXTL8H(1, 4)
	SXTL28H(1, 5)
	SXTL4S(2, 6)
	SXTL24S(2, 7)
	SXTL4S(3, 8)
	SXTL24S(3, 9)
	SXTL4S(4, 10)
	SXTL24S(4, 11)
	SXTL4S(5, 12)
	SXTL24S(5, 13)
	SCVTF4S(6, 6)
	SCVTF4S(7, 7)
	SCVTF4S(8, 8)
	SCVTF4S(9, 9)
	SCVTF4S(10, 10)
	SCVTF4S(11, 11)
	SCVTF4S(12, 12)
	SCVTF4S(13, 13)
	FMUL4S(6, 16, 6)
	FMUL4S(7, 16, 7)
	FMUL4S(8, 16, 8)
	FMUL4S(9, 16, 9)
	FMUL4S(10, 16, 10)
	FMUL4S(11, 16, 11)
	FMUL4S(12, 16, 12)
	FMUL4S(13, 16, 13)
	VST1.P [V6.S4, V7.S4, V8.S4, V9.S4], 64(R0)
	VST1.P [V10.S4, V11.S4, V12.S4, V13.S4], 64(R0)
	SUBS $1, R2, R2
	BGT q8loop
q8done:
	RET
