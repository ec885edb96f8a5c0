//go:build amd64 && !purego

#include "textflag.h"
#include "sum4_amd64.h"

// logc: four copies of each constant of math.Log (math/log_amd64.s) and
// of the masks and numbers entropyAVX2 needs, 32 bytes apart.
DATA logc<>+0(SB)/8, $0x000fffffffffffff
DATA logc<>+8(SB)/8, $0x000fffffffffffff
DATA logc<>+16(SB)/8, $0x000fffffffffffff
DATA logc<>+24(SB)/8, $0x000fffffffffffff
DATA logc<>+32(SB)/8, $0x3fe0000000000000
DATA logc<>+40(SB)/8, $0x3fe0000000000000
DATA logc<>+48(SB)/8, $0x3fe0000000000000
DATA logc<>+56(SB)/8, $0x3fe0000000000000
DATA logc<>+64(SB)/8, $0x4330000000000000
DATA logc<>+72(SB)/8, $0x4330000000000000
DATA logc<>+80(SB)/8, $0x4330000000000000
DATA logc<>+88(SB)/8, $0x4330000000000000
DATA logc<>+96(SB)/8, $0x408ff00000000000
DATA logc<>+104(SB)/8, $0x408ff00000000000
DATA logc<>+112(SB)/8, $0x408ff00000000000
DATA logc<>+120(SB)/8, $0x408ff00000000000
DATA logc<>+128(SB)/8, $0x3fe6a09e667f3bcd
DATA logc<>+136(SB)/8, $0x3fe6a09e667f3bcd
DATA logc<>+144(SB)/8, $0x3fe6a09e667f3bcd
DATA logc<>+152(SB)/8, $0x3fe6a09e667f3bcd
DATA logc<>+160(SB)/8, $0x3ff0000000000000
DATA logc<>+168(SB)/8, $0x3ff0000000000000
DATA logc<>+176(SB)/8, $0x3ff0000000000000
DATA logc<>+184(SB)/8, $0x3ff0000000000000
DATA logc<>+192(SB)/8, $0x4000000000000000
DATA logc<>+200(SB)/8, $0x4000000000000000
DATA logc<>+208(SB)/8, $0x4000000000000000
DATA logc<>+216(SB)/8, $0x4000000000000000
DATA logc<>+224(SB)/8, $0x3fe5555555555593
DATA logc<>+232(SB)/8, $0x3fe5555555555593
DATA logc<>+240(SB)/8, $0x3fe5555555555593
DATA logc<>+248(SB)/8, $0x3fe5555555555593
DATA logc<>+256(SB)/8, $0x3fd999999997fa04
DATA logc<>+264(SB)/8, $0x3fd999999997fa04
DATA logc<>+272(SB)/8, $0x3fd999999997fa04
DATA logc<>+280(SB)/8, $0x3fd999999997fa04
DATA logc<>+288(SB)/8, $0x3fd2492494229359
DATA logc<>+296(SB)/8, $0x3fd2492494229359
DATA logc<>+304(SB)/8, $0x3fd2492494229359
DATA logc<>+312(SB)/8, $0x3fd2492494229359
DATA logc<>+320(SB)/8, $0x3fcc71c51d8e78af
DATA logc<>+328(SB)/8, $0x3fcc71c51d8e78af
DATA logc<>+336(SB)/8, $0x3fcc71c51d8e78af
DATA logc<>+344(SB)/8, $0x3fcc71c51d8e78af
DATA logc<>+352(SB)/8, $0x3fc7466496cb03de
DATA logc<>+360(SB)/8, $0x3fc7466496cb03de
DATA logc<>+368(SB)/8, $0x3fc7466496cb03de
DATA logc<>+376(SB)/8, $0x3fc7466496cb03de
DATA logc<>+384(SB)/8, $0x3fc39a09d078c69f
DATA logc<>+392(SB)/8, $0x3fc39a09d078c69f
DATA logc<>+400(SB)/8, $0x3fc39a09d078c69f
DATA logc<>+408(SB)/8, $0x3fc39a09d078c69f
DATA logc<>+416(SB)/8, $0x3fc2f112df3e5244
DATA logc<>+424(SB)/8, $0x3fc2f112df3e5244
DATA logc<>+432(SB)/8, $0x3fc2f112df3e5244
DATA logc<>+440(SB)/8, $0x3fc2f112df3e5244
DATA logc<>+448(SB)/8, $0x3fe62e42fee00000
DATA logc<>+456(SB)/8, $0x3fe62e42fee00000
DATA logc<>+464(SB)/8, $0x3fe62e42fee00000
DATA logc<>+472(SB)/8, $0x3fe62e42fee00000
DATA logc<>+480(SB)/8, $0x3dea39ef35793c76
DATA logc<>+488(SB)/8, $0x3dea39ef35793c76
DATA logc<>+496(SB)/8, $0x3dea39ef35793c76
DATA logc<>+504(SB)/8, $0x3dea39ef35793c76
DATA logc<>+512(SB)/8, $0x3ddb7cdfd9d7bdbb
DATA logc<>+520(SB)/8, $0x3ddb7cdfd9d7bdbb
DATA logc<>+528(SB)/8, $0x3ddb7cdfd9d7bdbb
DATA logc<>+536(SB)/8, $0x3ddb7cdfd9d7bdbb
GLOBL logc<>(SB), RODATA|NOPTR, $544

// func entropyAVX2(e *float64, n int, inv, h float64) float64
// For i < n (a multiple of 4), in index order: q = e[i]·inv, h += q ·
// log(q + 1e−10), with math.Log's amd64 algorithm (math/log_amd64.s: the
// same IEEE operations in the same order, no fused multiply-add) in four
// lanes. Every q + 1e−10 must be a positive normal number below +∞ (the
// caller's e[i]·inv lie in [0, 1]), where that algorithm has no special
// case. Returns h.
TEXT ·entropyAVX2(SB), NOSPLIT, $0-40
	MOVQ e+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSD inv+16(FP), Y15
	VMOVSD h+24(FP), X12
	XORQ AX, AX
	CMPQ CX, $0
	JLE endone
enloop:
	VMULPD (SI)(AX*8), Y15, Y0
	VADDPD logc<>+512(SB), Y0, Y1
	VANDPD logc<>+0(SB), Y1, Y2
	VORPD logc<>+32(SB), Y2, Y2
	VPSRLQ $52, Y1, Y3
	VPOR logc<>+64(SB), Y3, Y3
	VSUBPD logc<>+64(SB), Y3, Y3
	VSUBPD logc<>+96(SB), Y3, Y3
	VCMPPD $2, logc<>+128(SB), Y2, Y4
	VANDPD logc<>+160(SB), Y4, Y5
	VSUBPD Y5, Y3, Y3
	VADDPD logc<>+160(SB), Y5, Y5
	VMULPD Y5, Y2, Y2
	VSUBPD logc<>+160(SB), Y2, Y2
	VADDPD logc<>+192(SB), Y2, Y6
	VDIVPD Y6, Y2, Y6
	VMULPD Y6, Y6, Y7
	VMULPD Y7, Y7, Y8
	VMULPD logc<>+416(SB), Y8, Y9
	VADDPD logc<>+352(SB), Y9, Y9
	VMULPD Y8, Y9, Y9
	VADDPD logc<>+288(SB), Y9, Y9
	VMULPD Y8, Y9, Y9
	VADDPD logc<>+224(SB), Y9, Y9
	VMULPD Y9, Y7, Y7
	VMULPD logc<>+384(SB), Y8, Y9
	VADDPD logc<>+320(SB), Y9, Y9
	VMULPD Y8, Y9, Y9
	VADDPD logc<>+256(SB), Y9, Y9
	VMULPD Y9, Y8, Y8
	VADDPD Y8, Y7, Y7
	VMULPD logc<>+32(SB), Y2, Y10
	VMULPD Y2, Y10, Y10
	VADDPD Y10, Y7, Y7
	VMULPD Y7, Y6, Y6
	VMULPD logc<>+480(SB), Y3, Y11
	VADDPD Y11, Y6, Y6
	VSUBPD Y6, Y10, Y10
	VSUBPD Y2, Y10, Y10
	VMULPD logc<>+448(SB), Y3, Y3
	VSUBPD Y10, Y3, Y3
	VMULPD Y3, Y0, Y0
	SUM4(Y0, X0, X12, X1, X2)
	ADDQ $4, AX
	CMPQ AX, CX
	JLT enloop
endone:
	VMOVSD X12, ret+32(FP)
	VZEROUPPER
	RET
