//go:build amd64 && !purego

#include "textflag.h"
#include "sum4_amd64.h"

// expsumc: four copies of each constant of math.Exp (math/exp_amd64.s),
// then the exponent bias 1023 and the overflow limit 2047 as int32 lanes.
DATA expsumc<>+0(SB)/8, $0x3ff71547652b82fe
DATA expsumc<>+8(SB)/8, $0x3ff71547652b82fe
DATA expsumc<>+16(SB)/8, $0x3ff71547652b82fe
DATA expsumc<>+24(SB)/8, $0x3ff71547652b82fe
DATA expsumc<>+32(SB)/8, $0x3fe62e42fefa3000
DATA expsumc<>+40(SB)/8, $0x3fe62e42fefa3000
DATA expsumc<>+48(SB)/8, $0x3fe62e42fefa3000
DATA expsumc<>+56(SB)/8, $0x3fe62e42fefa3000
DATA expsumc<>+64(SB)/8, $0x3d53de6af278ece6
DATA expsumc<>+72(SB)/8, $0x3d53de6af278ece6
DATA expsumc<>+80(SB)/8, $0x3d53de6af278ece6
DATA expsumc<>+88(SB)/8, $0x3d53de6af278ece6
DATA expsumc<>+96(SB)/8, $0x3fb0000000000000
DATA expsumc<>+104(SB)/8, $0x3fb0000000000000
DATA expsumc<>+112(SB)/8, $0x3fb0000000000000
DATA expsumc<>+120(SB)/8, $0x3fb0000000000000
DATA expsumc<>+128(SB)/8, $0x3efa01a01a01a01a
DATA expsumc<>+136(SB)/8, $0x3efa01a01a01a01a
DATA expsumc<>+144(SB)/8, $0x3efa01a01a01a01a
DATA expsumc<>+152(SB)/8, $0x3efa01a01a01a01a
DATA expsumc<>+160(SB)/8, $0x3f2a01a01a01a01a
DATA expsumc<>+168(SB)/8, $0x3f2a01a01a01a01a
DATA expsumc<>+176(SB)/8, $0x3f2a01a01a01a01a
DATA expsumc<>+184(SB)/8, $0x3f2a01a01a01a01a
DATA expsumc<>+192(SB)/8, $0x3f56c16c16c16c17
DATA expsumc<>+200(SB)/8, $0x3f56c16c16c16c17
DATA expsumc<>+208(SB)/8, $0x3f56c16c16c16c17
DATA expsumc<>+216(SB)/8, $0x3f56c16c16c16c17
DATA expsumc<>+224(SB)/8, $0x3f81111111111111
DATA expsumc<>+232(SB)/8, $0x3f81111111111111
DATA expsumc<>+240(SB)/8, $0x3f81111111111111
DATA expsumc<>+248(SB)/8, $0x3f81111111111111
DATA expsumc<>+256(SB)/8, $0x3fa5555555555555
DATA expsumc<>+264(SB)/8, $0x3fa5555555555555
DATA expsumc<>+272(SB)/8, $0x3fa5555555555555
DATA expsumc<>+280(SB)/8, $0x3fa5555555555555
DATA expsumc<>+288(SB)/8, $0x3fc5555555555555
DATA expsumc<>+296(SB)/8, $0x3fc5555555555555
DATA expsumc<>+304(SB)/8, $0x3fc5555555555555
DATA expsumc<>+312(SB)/8, $0x3fc5555555555555
DATA expsumc<>+320(SB)/8, $0x3fe0000000000000
DATA expsumc<>+328(SB)/8, $0x3fe0000000000000
DATA expsumc<>+336(SB)/8, $0x3fe0000000000000
DATA expsumc<>+344(SB)/8, $0x3fe0000000000000
DATA expsumc<>+352(SB)/8, $0x3ff0000000000000
DATA expsumc<>+360(SB)/8, $0x3ff0000000000000
DATA expsumc<>+368(SB)/8, $0x3ff0000000000000
DATA expsumc<>+376(SB)/8, $0x3ff0000000000000
DATA expsumc<>+384(SB)/8, $0x4000000000000000
DATA expsumc<>+392(SB)/8, $0x4000000000000000
DATA expsumc<>+400(SB)/8, $0x4000000000000000
DATA expsumc<>+408(SB)/8, $0x4000000000000000
DATA expsumc<>+416(SB)/4, $0x000003ff
DATA expsumc<>+420(SB)/4, $0x000003ff
DATA expsumc<>+424(SB)/4, $0x000003ff
DATA expsumc<>+428(SB)/4, $0x000003ff
DATA expsumc<>+432(SB)/4, $0x000003ff
DATA expsumc<>+436(SB)/4, $0x000003ff
DATA expsumc<>+440(SB)/4, $0x000003ff
DATA expsumc<>+444(SB)/4, $0x000003ff
DATA expsumc<>+448(SB)/4, $0x000007ff
DATA expsumc<>+452(SB)/4, $0x000007ff
DATA expsumc<>+456(SB)/4, $0x000007ff
DATA expsumc<>+460(SB)/4, $0x000007ff
DATA expsumc<>+464(SB)/4, $0x000007ff
DATA expsumc<>+468(SB)/4, $0x000007ff
DATA expsumc<>+472(SB)/4, $0x000007ff
DATA expsumc<>+476(SB)/4, $0x000007ff
GLOBL expsumc<>(SB), RODATA|NOPTR, $480

// EXP4(exit): Y5 = exp(Y0 − m) in four lanes, m broadcast in Y15, by
// math.Exp's FMA path (k = round(x·log2e); x − k·ln2u − k·ln2l fused;
// /16; the Taylor polynomial by FMA; four squarings; times 2^k). A group
// with k+1023 outside [1, 2046] (non-finite x, subnormal or zero result,
// overflow) jumps to exit instead, leaving Y5 unset. Uses Y0–Y7, Y9–Y11
// and DX.
#define EXP4(exit) \
	VSUBPD Y15, Y0, Y0; \
	VMULPD expsumc<>+0(SB), Y0, Y1; \
	VCVTPD2DQY Y1, X2; \
	VPADDD expsumc<>+416(SB), X2, X4; \
	VPXOR X9, X9, X9; \
	VPCMPGTD X9, X4, X10; \
	VMOVDQU expsumc<>+448(SB), X11; \
	VPCMPGTD X4, X11, X11; \
	VPAND X11, X10, X10; \
	VMOVMSKPS X10, DX; \
	CMPQ DX, $15; \
	JNE exit; \
	VCVTDQ2PD X2, Y3; \
	VMOVAPD Y0, Y5; \
	VFNMADD231PD expsumc<>+32(SB), Y3, Y5; \
	VFNMADD231PD expsumc<>+64(SB), Y3, Y5; \
	VMULPD expsumc<>+96(SB), Y5, Y5; \
	VMOVUPD expsumc<>+128(SB), Y6; \
	VFMADD213PD expsumc<>+160(SB), Y5, Y6; \
	VFMADD213PD expsumc<>+192(SB), Y5, Y6; \
	VFMADD213PD expsumc<>+224(SB), Y5, Y6; \
	VFMADD213PD expsumc<>+256(SB), Y5, Y6; \
	VFMADD213PD expsumc<>+288(SB), Y5, Y6; \
	VFMADD213PD expsumc<>+320(SB), Y5, Y6; \
	VFMADD213PD expsumc<>+352(SB), Y5, Y6; \
	VMULPD Y6, Y5, Y5; \
	VADDPD expsumc<>+384(SB), Y5, Y6; \
	VMULPD Y6, Y5, Y5; \
	VADDPD expsumc<>+384(SB), Y5, Y6; \
	VMULPD Y6, Y5, Y5; \
	VADDPD expsumc<>+384(SB), Y5, Y6; \
	VMULPD Y6, Y5, Y5; \
	VADDPD expsumc<>+384(SB), Y5, Y6; \
	VFMADD213PD expsumc<>+352(SB), Y6, Y5; \
	VPMOVZXDQ X4, Y7; \
	VPSLLQ $52, Y7, Y7; \
	VMULPD Y7, Y5, Y5

// func expSumAVX2(x *float32, n int, m, sum float64) (float64, int)
// Per group of four: x = float64(v) - m, then math.Exp's FMA path in four
// lanes (k = round(x*log2e); x - k*ln2u - k*ln2l fused; /16; the Taylor
// polynomial by FMA; four squarings; times 2^k), each lane's value added to
// sum in index order. A group with k+1023 outside [1, 2046] (non-finite x,
// subnormal or zero result, overflow) is left to the caller.
TEXT ·expSumAVX2(SB), NOSPLIT, $0-48
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSD m+16(FP), Y15
	VMOVSD sum+24(FP), X8
	XORQ AX, AX
	CMPQ CX, $0
	JLE esdone
esloop:
	VCVTPS2PD (SI)(AX*4), Y0
	EXP4(esdone)
	SUM4(Y5, X5, X8, X9, X10)
	ADDQ $4, AX
	CMPQ AX, CX
	JLT esloop
esdone:
	VMOVSD X8, ret+32(FP)
	MOVQ AX, ret1+40(FP)
	VZEROUPPER
	RET

// func expStoreAVX2(e *float64, n int, m, sum float64) (float64, int)
// expSumAVX2 over float64 values that it also overwrites: per group of
// four, e[i] = exp(e[i] − m) by math.Exp's FMA path, added to sum in
// index order. It stops before the first group with a lane outside the
// plain path (left unchanged, for the caller) and returns the sum and how
// many values it consumed.
TEXT ·expStoreAVX2(SB), NOSPLIT, $0-48
	MOVQ e+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSD m+16(FP), Y15
	VMOVSD sum+24(FP), X8
	XORQ AX, AX
	CMPQ CX, $0
	JLE xsdone
xsloop:
	VMOVUPD (SI)(AX*8), Y0
	EXP4(xsdone)
	VMOVUPD Y5, (SI)(AX*8)
	SUM4(Y5, X5, X8, X9, X10)
	ADDQ $4, AX
	CMPQ AX, CX
	JLT xsloop
xsdone:
	VMOVSD X8, ret+32(FP)
	MOVQ AX, ret1+40(FP)
	VZEROUPPER
	RET

// argmaxc: −∞ eight times, the lane indices 0…31 (four rows of eight), 32
// eight times.
DATA argmaxc<>+0(SB)/4, $0xff800000
DATA argmaxc<>+4(SB)/4, $0xff800000
DATA argmaxc<>+8(SB)/4, $0xff800000
DATA argmaxc<>+12(SB)/4, $0xff800000
DATA argmaxc<>+16(SB)/4, $0xff800000
DATA argmaxc<>+20(SB)/4, $0xff800000
DATA argmaxc<>+24(SB)/4, $0xff800000
DATA argmaxc<>+28(SB)/4, $0xff800000
DATA argmaxc<>+32(SB)/4, $0
DATA argmaxc<>+36(SB)/4, $1
DATA argmaxc<>+40(SB)/4, $2
DATA argmaxc<>+44(SB)/4, $3
DATA argmaxc<>+48(SB)/4, $4
DATA argmaxc<>+52(SB)/4, $5
DATA argmaxc<>+56(SB)/4, $6
DATA argmaxc<>+60(SB)/4, $7
DATA argmaxc<>+64(SB)/4, $32
DATA argmaxc<>+68(SB)/4, $32
DATA argmaxc<>+72(SB)/4, $32
DATA argmaxc<>+76(SB)/4, $32
DATA argmaxc<>+80(SB)/4, $32
DATA argmaxc<>+84(SB)/4, $32
DATA argmaxc<>+88(SB)/4, $32
DATA argmaxc<>+92(SB)/4, $32
DATA argmaxc<>+96(SB)/4, $8
DATA argmaxc<>+100(SB)/4, $8
DATA argmaxc<>+104(SB)/4, $8
DATA argmaxc<>+108(SB)/4, $8
DATA argmaxc<>+112(SB)/4, $8
DATA argmaxc<>+116(SB)/4, $8
DATA argmaxc<>+120(SB)/4, $8
DATA argmaxc<>+124(SB)/4, $8
GLOBL argmaxc<>(SB), RODATA|NOPTR, $128

// AMSTEP(off, v, m, i, ix): lane set of x's 8 values at off: where they
// are > m (ordered: NaN false), m and i take them and their indices ix.
#define AMSTEP(off, v, m, i, ix) \
	VMOVUPS off(SI), v; \
	VCMPPS $0x1e, m, v, Y12; \
	VBLENDVPS Y12, v, m, m; \
	VPBLENDVB Y12, ix, i, i

// func argmaxAVX2(x *float32, n int, vals *[32]float32, idx *[32]int32)
// Four sets of eight lanes (values 0–7, 8–15, 16–23, 24–31 of every 32)
// so that four compare-and-blend chains run side by side.
TEXT ·argmaxAVX2(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VMOVUPS argmaxc<>+0(SB), Y0
	VMOVUPS Y0, Y1
	VMOVUPS Y0, Y2
	VMOVUPS Y0, Y3
	VPCMPEQD Y4, Y4, Y4
	VMOVDQU Y4, Y5
	VMOVDQU Y4, Y6
	VMOVDQU Y4, Y7
	VMOVDQU argmaxc<>+32(SB), Y8
	VMOVDQU argmaxc<>+96(SB), Y13
	VPADDD Y13, Y8, Y9
	VPADDD Y13, Y9, Y10
	VPADDD Y13, Y10, Y11
	VMOVDQU argmaxc<>+64(SB), Y13
amloop:
	AMSTEP(0, Y14, Y0, Y4, Y8)
	AMSTEP(32, Y15, Y1, Y5, Y9)
	AMSTEP(64, Y14, Y2, Y6, Y10)
	AMSTEP(96, Y15, Y3, Y7, Y11)
	VPADDD Y13, Y8, Y8
	VPADDD Y13, Y9, Y9
	VPADDD Y13, Y10, Y10
	VPADDD Y13, Y11, Y11
	ADDQ $128, SI
	SUBQ $32, CX
	JNZ amloop
	MOVQ vals+16(FP), DI
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	MOVQ idx+24(FP), DI
	VMOVDQU Y4, (DI)
	VMOVDQU Y5, 32(DI)
	VMOVDQU Y6, 64(DI)
	VMOVDQU Y7, 96(DI)
	VZEROUPPER
	RET
