//go:build amd64 && !purego

#include "textflag.h"

// negInf32 is −∞ as float32 bits, for VBROADCASTSS.
DATA negInf32<>+0(SB)/4, $0xff800000
GLOBL negInf32<>(SB), RODATA|NOPTR, $4

// func scaleMax(x *float32, n int, s float32) float32
// x[i] *= s for i < n (a multiple of 8); returns the largest product
// (x holds no NaN). Each product is the one Go's x[i]*s gives. Every
// instruction is VEX-encoded: a legacy SSE MOVL into X0 here (the −∞
// start) made each call 5–10× slower on an AMX Xeon VM, 0.5–1 µs a
// 320-key row.
TEXT ·scaleMax(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSS s+16(FP), Y15
	VBROADCASTSS negInf32<>(SB), Y0
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

// siluconst holds eight copies of each constant of expf (expf.go) and
// SiLU, as float32 bits.
DATA siluconst<>+0(SB)/4, $0xc2ae999a
DATA siluconst<>+4(SB)/4, $0xc2ae999a
DATA siluconst<>+8(SB)/4, $0xc2ae999a
DATA siluconst<>+12(SB)/4, $0xc2ae999a
DATA siluconst<>+16(SB)/4, $0xc2ae999a
DATA siluconst<>+20(SB)/4, $0xc2ae999a
DATA siluconst<>+24(SB)/4, $0xc2ae999a
DATA siluconst<>+28(SB)/4, $0xc2ae999a
DATA siluconst<>+32(SB)/4, $0x42b16666
DATA siluconst<>+36(SB)/4, $0x42b16666
DATA siluconst<>+40(SB)/4, $0x42b16666
DATA siluconst<>+44(SB)/4, $0x42b16666
DATA siluconst<>+48(SB)/4, $0x42b16666
DATA siluconst<>+52(SB)/4, $0x42b16666
DATA siluconst<>+56(SB)/4, $0x42b16666
DATA siluconst<>+60(SB)/4, $0x42b16666
DATA siluconst<>+64(SB)/4, $0x3fb8aa3b
DATA siluconst<>+68(SB)/4, $0x3fb8aa3b
DATA siluconst<>+72(SB)/4, $0x3fb8aa3b
DATA siluconst<>+76(SB)/4, $0x3fb8aa3b
DATA siluconst<>+80(SB)/4, $0x3fb8aa3b
DATA siluconst<>+84(SB)/4, $0x3fb8aa3b
DATA siluconst<>+88(SB)/4, $0x3fb8aa3b
DATA siluconst<>+92(SB)/4, $0x3fb8aa3b
DATA siluconst<>+96(SB)/4, $0x3f000000
DATA siluconst<>+100(SB)/4, $0x3f000000
DATA siluconst<>+104(SB)/4, $0x3f000000
DATA siluconst<>+108(SB)/4, $0x3f000000
DATA siluconst<>+112(SB)/4, $0x3f000000
DATA siluconst<>+116(SB)/4, $0x3f000000
DATA siluconst<>+120(SB)/4, $0x3f000000
DATA siluconst<>+124(SB)/4, $0x3f000000
DATA siluconst<>+128(SB)/4, $0x3f317200
DATA siluconst<>+132(SB)/4, $0x3f317200
DATA siluconst<>+136(SB)/4, $0x3f317200
DATA siluconst<>+140(SB)/4, $0x3f317200
DATA siluconst<>+144(SB)/4, $0x3f317200
DATA siluconst<>+148(SB)/4, $0x3f317200
DATA siluconst<>+152(SB)/4, $0x3f317200
DATA siluconst<>+156(SB)/4, $0x3f317200
DATA siluconst<>+160(SB)/4, $0x35bfbe8e
DATA siluconst<>+164(SB)/4, $0x35bfbe8e
DATA siluconst<>+168(SB)/4, $0x35bfbe8e
DATA siluconst<>+172(SB)/4, $0x35bfbe8e
DATA siluconst<>+176(SB)/4, $0x35bfbe8e
DATA siluconst<>+180(SB)/4, $0x35bfbe8e
DATA siluconst<>+184(SB)/4, $0x35bfbe8e
DATA siluconst<>+188(SB)/4, $0x35bfbe8e
DATA siluconst<>+192(SB)/4, $0x3ab60b61
DATA siluconst<>+196(SB)/4, $0x3ab60b61
DATA siluconst<>+200(SB)/4, $0x3ab60b61
DATA siluconst<>+204(SB)/4, $0x3ab60b61
DATA siluconst<>+208(SB)/4, $0x3ab60b61
DATA siluconst<>+212(SB)/4, $0x3ab60b61
DATA siluconst<>+216(SB)/4, $0x3ab60b61
DATA siluconst<>+220(SB)/4, $0x3ab60b61
DATA siluconst<>+224(SB)/4, $0x3c088889
DATA siluconst<>+228(SB)/4, $0x3c088889
DATA siluconst<>+232(SB)/4, $0x3c088889
DATA siluconst<>+236(SB)/4, $0x3c088889
DATA siluconst<>+240(SB)/4, $0x3c088889
DATA siluconst<>+244(SB)/4, $0x3c088889
DATA siluconst<>+248(SB)/4, $0x3c088889
DATA siluconst<>+252(SB)/4, $0x3c088889
DATA siluconst<>+256(SB)/4, $0x3d2aaaab
DATA siluconst<>+260(SB)/4, $0x3d2aaaab
DATA siluconst<>+264(SB)/4, $0x3d2aaaab
DATA siluconst<>+268(SB)/4, $0x3d2aaaab
DATA siluconst<>+272(SB)/4, $0x3d2aaaab
DATA siluconst<>+276(SB)/4, $0x3d2aaaab
DATA siluconst<>+280(SB)/4, $0x3d2aaaab
DATA siluconst<>+284(SB)/4, $0x3d2aaaab
DATA siluconst<>+288(SB)/4, $0x3e2aaaab
DATA siluconst<>+292(SB)/4, $0x3e2aaaab
DATA siluconst<>+296(SB)/4, $0x3e2aaaab
DATA siluconst<>+300(SB)/4, $0x3e2aaaab
DATA siluconst<>+304(SB)/4, $0x3e2aaaab
DATA siluconst<>+308(SB)/4, $0x3e2aaaab
DATA siluconst<>+312(SB)/4, $0x3e2aaaab
DATA siluconst<>+316(SB)/4, $0x3e2aaaab
DATA siluconst<>+320(SB)/4, $0x3f800000
DATA siluconst<>+324(SB)/4, $0x3f800000
DATA siluconst<>+328(SB)/4, $0x3f800000
DATA siluconst<>+332(SB)/4, $0x3f800000
DATA siluconst<>+336(SB)/4, $0x3f800000
DATA siluconst<>+340(SB)/4, $0x3f800000
DATA siluconst<>+344(SB)/4, $0x3f800000
DATA siluconst<>+348(SB)/4, $0x3f800000
DATA siluconst<>+352(SB)/4, $0x40000000
DATA siluconst<>+356(SB)/4, $0x40000000
DATA siluconst<>+360(SB)/4, $0x40000000
DATA siluconst<>+364(SB)/4, $0x40000000
DATA siluconst<>+368(SB)/4, $0x40000000
DATA siluconst<>+372(SB)/4, $0x40000000
DATA siluconst<>+376(SB)/4, $0x40000000
DATA siluconst<>+380(SB)/4, $0x40000000
DATA siluconst<>+384(SB)/4, $0x0000007f
DATA siluconst<>+388(SB)/4, $0x0000007f
DATA siluconst<>+392(SB)/4, $0x0000007f
DATA siluconst<>+396(SB)/4, $0x0000007f
DATA siluconst<>+400(SB)/4, $0x0000007f
DATA siluconst<>+404(SB)/4, $0x0000007f
DATA siluconst<>+408(SB)/4, $0x0000007f
DATA siluconst<>+412(SB)/4, $0x0000007f
DATA siluconst<>+416(SB)/4, $0x80000000
DATA siluconst<>+420(SB)/4, $0x80000000
DATA siluconst<>+424(SB)/4, $0x80000000
DATA siluconst<>+428(SB)/4, $0x80000000
DATA siluconst<>+432(SB)/4, $0x80000000
DATA siluconst<>+436(SB)/4, $0x80000000
DATA siluconst<>+440(SB)/4, $0x80000000
DATA siluconst<>+444(SB)/4, $0x80000000
DATA siluconst<>+448(SB)/4, $0x7f800000
DATA siluconst<>+452(SB)/4, $0x7f800000
DATA siluconst<>+456(SB)/4, $0x7f800000
DATA siluconst<>+460(SB)/4, $0x7f800000
DATA siluconst<>+464(SB)/4, $0x7f800000
DATA siluconst<>+468(SB)/4, $0x7f800000
DATA siluconst<>+472(SB)/4, $0x7f800000
DATA siluconst<>+476(SB)/4, $0x7f800000
GLOBL siluconst<>(SB), RODATA|NOPTR, $480

// func siluMul(out, gate, up *float32, n int)
// out[i] = gate[i] / (1 + expf(-gate[i])) * up[i] for i < n (a multiple of 8),
// bit for bit what the Go loop over expf gives: the same float32
// operations in the same order (no FMA), eight lanes at a time, and
// expf's edge cases (0 below -87.3, +Inf above 88.7, 2^128 as 2*2^127)
// as blends. out may be gate or up.
TEXT ·siluMul(SB), NOSPLIT, $0-32
	MOVQ out+0(FP), DI
	MOVQ gate+8(FP), SI
	MOVQ up+16(FP), DX
	MOVQ n+24(FP), CX
	VMOVUPS siluconst<>+320(SB), Y15
	XORQ AX, AX
	CMPQ CX, $0
	JLE siludone
siluloop:
	VMOVUPS (SI)(AX*4), Y0
	VXORPS siluconst<>+416(SB), Y0, Y1
	VMAXPS siluconst<>+0(SB), Y1, Y2
	VMINPS siluconst<>+32(SB), Y2, Y2
	VMULPS siluconst<>+64(SB), Y2, Y3
	VADDPS siluconst<>+96(SB), Y3, Y3
	VROUNDPS $1, Y3, Y3
	VMULPS siluconst<>+128(SB), Y3, Y4
	VSUBPS Y4, Y2, Y4
	VMULPS siluconst<>+160(SB), Y3, Y5
	VSUBPS Y5, Y4, Y4
	VMULPS siluconst<>+192(SB), Y4, Y5
	VADDPS siluconst<>+224(SB), Y5, Y5
	VMULPS Y4, Y5, Y5
	VADDPS siluconst<>+256(SB), Y5, Y5
	VMULPS Y4, Y5, Y5
	VADDPS siluconst<>+288(SB), Y5, Y5
	VMULPS Y4, Y5, Y5
	VADDPS siluconst<>+96(SB), Y5, Y5
	VMULPS Y4, Y5, Y5
	VADDPS Y15, Y5, Y5
	VMULPS Y4, Y5, Y5
	VADDPS Y15, Y5, Y5
	VCVTTPS2DQ Y3, Y6
	VPCMPGTD siluconst<>+384(SB), Y6, Y7
	VPMINSD siluconst<>+384(SB), Y6, Y6
	VPADDD siluconst<>+384(SB), Y6, Y6
	VPSLLD $23, Y6, Y6
	VBLENDVPS Y7, siluconst<>+352(SB), Y15, Y8
	VMULPS Y8, Y5, Y5
	VMULPS Y6, Y5, Y5
	VCMPPS $1, siluconst<>+0(SB), Y1, Y7
	VANDNPS Y5, Y7, Y5
	VCMPPS $0x1e, siluconst<>+32(SB), Y1, Y7
	VBLENDVPS Y7, siluconst<>+448(SB), Y5, Y5
	VADDPS Y15, Y5, Y5
	VDIVPS Y5, Y0, Y5
	VMULPS (DX)(AX*4), Y5, Y5
	VMOVUPS Y5, (DI)(AX*4)
	ADDQ $8, AX
	CMPQ AX, CX
	JLT siluloop
siludone:
	VZEROUPPER
	RET

// SILU16 sets omem to silu(gmem) · umem for 16 float32 lanes, bit for bit
// as siluMul: each instruction is siluMul's on wider registers, its
// vector masks mask registers. Z15 must hold 1.0 in every lane; it
// overwrites Z0–Z6, Z8 and K1–K3. AVX-512F.
#define SILU16(gmem, umem, omem) \
	VMOVUPS gmem, Z0; \
	VPXORD.BCST siluconst<>+416(SB), Z0, Z1; \
	VMAXPS.BCST siluconst<>+0(SB), Z1, Z2; \
	VMINPS.BCST siluconst<>+32(SB), Z2, Z2; \
	VMULPS.BCST siluconst<>+64(SB), Z2, Z3; \
	VADDPS.BCST siluconst<>+96(SB), Z3, Z3; \
	VRNDSCALEPS $1, Z3, Z3; \
	VMULPS.BCST siluconst<>+128(SB), Z3, Z4; \
	VSUBPS Z4, Z2, Z4; \
	VMULPS.BCST siluconst<>+160(SB), Z3, Z5; \
	VSUBPS Z5, Z4, Z4; \
	VMULPS.BCST siluconst<>+192(SB), Z4, Z5; \
	VADDPS.BCST siluconst<>+224(SB), Z5, Z5; \
	VMULPS Z4, Z5, Z5; \
	VADDPS.BCST siluconst<>+256(SB), Z5, Z5; \
	VMULPS Z4, Z5, Z5; \
	VADDPS.BCST siluconst<>+288(SB), Z5, Z5; \
	VMULPS Z4, Z5, Z5; \
	VADDPS.BCST siluconst<>+96(SB), Z5, Z5; \
	VMULPS Z4, Z5, Z5; \
	VADDPS Z15, Z5, Z5; \
	VMULPS Z4, Z5, Z5; \
	VADDPS Z15, Z5, Z5; \
	VCVTTPS2DQ Z3, Z6; \
	VPCMPGTD.BCST siluconst<>+384(SB), Z6, K1; \
	VPMINSD.BCST siluconst<>+384(SB), Z6, Z6; \
	VPADDD.BCST siluconst<>+384(SB), Z6, Z6; \
	VPSLLD $23, Z6, Z6; \
	VBLENDMPS.BCST siluconst<>+352(SB), Z15, K1, Z8; \
	VMULPS Z8, Z5, Z5; \
	VMULPS Z6, Z5, Z5; \
	VCMPPS.BCST $1, siluconst<>+0(SB), Z1, K2; \
	VPXORD Z5, Z5, K2, Z5; \
	VCMPPS.BCST $0x1e, siluconst<>+32(SB), Z1, K3; \
	VBLENDMPS.BCST siluconst<>+448(SB), Z5, K3, Z5; \
	VADDPS Z15, Z5, Z5; \
	VDIVPS Z5, Z0, Z5; \
	VMULPS umem, Z5, Z5; \
	VMOVUPS Z5, omem

// func siluMul16(out, gate, up *float32, n int)
// siluMul 16 lanes at a time (SILU16); n must be a multiple of 16. out
// may be gate or up.
TEXT ·siluMul16(SB), NOSPLIT, $0-32
	MOVQ out+0(FP), DI
	MOVQ gate+8(FP), SI
	MOVQ up+16(FP), DX
	MOVQ n+24(FP), CX
	VBROADCASTSS siluconst<>+320(SB), Z15
	XORQ AX, AX
	CMPQ CX, $0
	JLE s16done
s16loop:
	SILU16((SI)(AX*4), (DX)(AX*4), (DI)(AX*4))
	ADDQ $16, AX
	CMPQ AX, CX
	JLT s16loop
s16done:
	VZEROUPPER
	RET

// func siluMulRows(out, gate *float32, ldo, ldg, rows int)
// SILU16 over rows rows of 32 values: out's row r (ldo floats apart)
// holds the up values and becomes silu(gate's row r, ldg apart) · up.
// swiGLUAMX calls it; the AMX tiles imply AVX-512F.
TEXT ·siluMulRows(SB), NOSPLIT, $0-40
	MOVQ out+0(FP), DI
	MOVQ gate+8(FP), SI
	MOVQ ldo+16(FP), R8
	SHLQ $2, R8
	MOVQ ldg+24(FP), R9
	SHLQ $2, R9
	MOVQ rows+32(FP), CX
	VBROADCASTSS siluconst<>+320(SB), Z15
	TESTQ CX, CX
	JLE srdone
srrow:
	SILU16((SI), (DI), (DI))
	SILU16(64(SI), 64(DI), 64(DI))
	ADDQ R8, DI
	ADDQ R9, SI
	DECQ CX
	JNZ srrow
srdone:
	VZEROUPPER
	RET

// func addVec(out, a, b *float32, n int)
// out[i] = a[i] + b[i] for i < n (a multiple of 8); out may be a or b.
TEXT ·addVec(SB), NOSPLIT, $0-32
	MOVQ out+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), BX
	MOVQ n+24(FP), CX
	XORQ AX, AX
	CMPQ CX, $32
	JLT avtail
avloop:
	VMOVUPS (SI)(AX*4), Y0
	VMOVUPS 32(SI)(AX*4), Y1
	VMOVUPS 64(SI)(AX*4), Y2
	VMOVUPS 96(SI)(AX*4), Y3
	VADDPS (BX)(AX*4), Y0, Y0
	VADDPS 32(BX)(AX*4), Y1, Y1
	VADDPS 64(BX)(AX*4), Y2, Y2
	VADDPS 96(BX)(AX*4), Y3, Y3
	VMOVUPS Y0, (DI)(AX*4)
	VMOVUPS Y1, 32(DI)(AX*4)
	VMOVUPS Y2, 64(DI)(AX*4)
	VMOVUPS Y3, 96(DI)(AX*4)
	ADDQ $32, AX
	LEAQ 32(AX), DX
	CMPQ DX, CX
	JLE avloop
avtail:
	CMPQ AX, CX
	JGE avdone
	VMOVUPS (SI)(AX*4), Y0
	VADDPS (BX)(AX*4), Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	JMP avtail
avdone:
	VZEROUPPER
	RET

// func scaleMulVec(out, x, w *float32, n int, s float32)
// out[i] = (x[i]·s)·w[i] for i < n (a multiple of 8), each product
// rounded as Go's x[i] * s * w[i]; out may be x.
TEXT ·scaleMulVec(SB), NOSPLIT, $0-36
	MOVQ out+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ w+16(FP), BX
	MOVQ n+24(FP), CX
	VBROADCASTSS s+32(FP), Y15
	XORQ AX, AX
	CMPQ CX, $16
	JLT smvtail
smvloop:
	VMULPS (SI)(AX*4), Y15, Y0
	VMULPS 32(SI)(AX*4), Y15, Y1
	VMULPS (BX)(AX*4), Y0, Y0
	VMULPS 32(BX)(AX*4), Y1, Y1
	VMOVUPS Y0, (DI)(AX*4)
	VMOVUPS Y1, 32(DI)(AX*4)
	ADDQ $16, AX
	LEAQ 16(AX), DX
	CMPQ DX, CX
	JLE smvloop
smvtail:
	CMPQ AX, CX
	JGE smvdone
	VMULPS (SI)(AX*4), Y15, Y0
	VMULPS (BX)(AX*4), Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	JMP smvtail
smvdone:
	VZEROUPPER
	RET

// func ropeHeads(row, cos, sin *float32, heads, half int)
// For each of heads heads of 2·half values in row: lo[i], hi[i] =
// lo[i]·cos[i] − hi[i]·sin[i], hi[i]·cos[i] + lo[i]·sin[i] for i < half
// (a multiple of 8), each product and sum rounded as Go's float32
// expressions are (no fused multiply-add).
TEXT ·ropeHeads(SB), NOSPLIT, $0-40
	MOVQ row+0(FP), DI
	MOVQ cos+8(FP), SI
	MOVQ sin+16(FP), BX
	MOVQ heads+24(FP), R8
	MOVQ half+32(FP), CX
	LEAQ (DI)(CX*4), R9 // hi of the first head
	MOVQ CX, R10
	SHLQ $3, R10 // bytes a head: 2·half·4
rhhead:
	TESTQ R8, R8
	JZ rhdone
	XORQ AX, AX
rhloop:
	VMOVUPS (DI)(AX*4), Y0 // a = lo
	VMOVUPS (R9)(AX*4), Y1 // b = hi
	VMOVUPS (SI)(AX*4), Y2 // cos
	VMOVUPS (BX)(AX*4), Y3 // sin
	VMULPS Y2, Y0, Y4 // a·cos
	VMULPS Y3, Y1, Y5 // b·sin
	VSUBPS Y5, Y4, Y4 // a·cos − b·sin
	VMULPS Y2, Y1, Y6 // b·cos
	VMULPS Y3, Y0, Y7 // a·sin
	VADDPS Y7, Y6, Y6 // b·cos + a·sin
	VMOVUPS Y4, (DI)(AX*4)
	VMOVUPS Y6, (R9)(AX*4)
	ADDQ $8, AX
	CMPQ AX, CX
	JLT rhloop
	ADDQ R10, DI
	ADDQ R10, R9
	DECQ R8
	JMP rhhead
rhdone:
	VZEROUPPER
	RET
