//go:build amd64 && !purego

#include "textflag.h"

// func dot3x4(x0, x1, x2, w0, w1, w2, w3 *float32, n int, out *[12]float32)
// out[r*4+c] = sum_{k<n} x_r[k]*w_c[k]; n is a multiple of 8.
TEXT ·dot3x4(SB), NOSPLIT, $0-72
	MOVQ x0+0(FP), SI
	MOVQ x1+8(FP), R8
	MOVQ x2+16(FP), R9
	MOVQ w0+24(FP), R10
	MOVQ w1+32(FP), R11
	MOVQ w2+40(FP), R12
	MOVQ w3+48(FP), R13
	MOVQ n+56(FP), CX
	MOVQ out+64(FP), DI
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
	JLE done3
loop3:
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
	JLT loop3
done3:
	VEXTRACTF128 $1, Y0, X12
	VADDPS X12, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VMOVSS X0, 0(DI)
	VEXTRACTF128 $1, Y1, X12
	VADDPS X12, X1, X1
	VHADDPS X1, X1, X1
	VHADDPS X1, X1, X1
	VMOVSS X1, 16(DI)
	VEXTRACTF128 $1, Y2, X12
	VADDPS X12, X2, X2
	VHADDPS X2, X2, X2
	VHADDPS X2, X2, X2
	VMOVSS X2, 32(DI)
	VEXTRACTF128 $1, Y3, X12
	VADDPS X12, X3, X3
	VHADDPS X3, X3, X3
	VHADDPS X3, X3, X3
	VMOVSS X3, 4(DI)
	VEXTRACTF128 $1, Y4, X12
	VADDPS X12, X4, X4
	VHADDPS X4, X4, X4
	VHADDPS X4, X4, X4
	VMOVSS X4, 20(DI)
	VEXTRACTF128 $1, Y5, X12
	VADDPS X12, X5, X5
	VHADDPS X5, X5, X5
	VHADDPS X5, X5, X5
	VMOVSS X5, 36(DI)
	VEXTRACTF128 $1, Y6, X12
	VADDPS X12, X6, X6
	VHADDPS X6, X6, X6
	VHADDPS X6, X6, X6
	VMOVSS X6, 8(DI)
	VEXTRACTF128 $1, Y7, X12
	VADDPS X12, X7, X7
	VHADDPS X7, X7, X7
	VHADDPS X7, X7, X7
	VMOVSS X7, 24(DI)
	VEXTRACTF128 $1, Y8, X12
	VADDPS X12, X8, X8
	VHADDPS X8, X8, X8
	VHADDPS X8, X8, X8
	VMOVSS X8, 40(DI)
	VEXTRACTF128 $1, Y9, X12
	VADDPS X12, X9, X9
	VHADDPS X9, X9, X9
	VHADDPS X9, X9, X9
	VMOVSS X9, 12(DI)
	VEXTRACTF128 $1, Y10, X12
	VADDPS X12, X10, X10
	VHADDPS X10, X10, X10
	VHADDPS X10, X10, X10
	VMOVSS X10, 28(DI)
	VEXTRACTF128 $1, Y11, X12
	VADDPS X12, X11, X11
	VHADDPS X11, X11, X11
	VHADDPS X11, X11, X11
	VMOVSS X11, 44(DI)
	VZEROUPPER
	RET

// func dot1x4(x, w0, w1, w2, w3 *float32, n int, out *[4]float32)
// out[c] = sum_{k<n} x[k]*w_c[k]; n is a multiple of 8.
TEXT ·dot1x4(SB), NOSPLIT, $0-56
	MOVQ x+0(FP), SI
	MOVQ w0+8(FP), R10
	MOVQ w1+16(FP), R11
	MOVQ w2+24(FP), R12
	MOVQ w3+32(FP), R13
	MOVQ n+40(FP), CX
	MOVQ out+48(FP), DI
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	XORQ AX, AX
	CMPQ CX, $0
	JLE done1
loop1:
	VMOVUPS (SI)(AX*4), Y12
	VFMADD231PS (R10)(AX*4), Y12, Y0
	VFMADD231PS (R11)(AX*4), Y12, Y1
	VFMADD231PS (R12)(AX*4), Y12, Y2
	VFMADD231PS (R13)(AX*4), Y12, Y3
	ADDQ $8, AX
	CMPQ AX, CX
	JLT loop1
done1:
	VEXTRACTF128 $1, Y0, X12
	VADDPS X12, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VMOVSS X0, 0(DI)
	VEXTRACTF128 $1, Y1, X12
	VADDPS X12, X1, X1
	VHADDPS X1, X1, X1
	VHADDPS X1, X1, X1
	VMOVSS X1, 4(DI)
	VEXTRACTF128 $1, Y2, X12
	VADDPS X12, X2, X2
	VHADDPS X2, X2, X2
	VHADDPS X2, X2, X2
	VMOVSS X2, 8(DI)
	VEXTRACTF128 $1, Y3, X12
	VADDPS X12, X3, X3
	VHADDPS X3, X3, X3
	VHADDPS X3, X3, X3
	VMOVSS X3, 12(DI)
	VZEROUPPER
	RET

// Constants of expSubSum, each replicated over 8 lanes.
DATA expconst<>+0(SB)/4, $0xc2ae999a
DATA expconst<>+4(SB)/4, $0xc2ae999a
DATA expconst<>+8(SB)/4, $0xc2ae999a
DATA expconst<>+12(SB)/4, $0xc2ae999a
DATA expconst<>+16(SB)/4, $0xc2ae999a
DATA expconst<>+20(SB)/4, $0xc2ae999a
DATA expconst<>+24(SB)/4, $0xc2ae999a
DATA expconst<>+28(SB)/4, $0xc2ae999a
DATA expconst<>+32(SB)/4, $0x3fb8aa3b
DATA expconst<>+36(SB)/4, $0x3fb8aa3b
DATA expconst<>+40(SB)/4, $0x3fb8aa3b
DATA expconst<>+44(SB)/4, $0x3fb8aa3b
DATA expconst<>+48(SB)/4, $0x3fb8aa3b
DATA expconst<>+52(SB)/4, $0x3fb8aa3b
DATA expconst<>+56(SB)/4, $0x3fb8aa3b
DATA expconst<>+60(SB)/4, $0x3fb8aa3b
DATA expconst<>+64(SB)/4, $0x3f317200
DATA expconst<>+68(SB)/4, $0x3f317200
DATA expconst<>+72(SB)/4, $0x3f317200
DATA expconst<>+76(SB)/4, $0x3f317200
DATA expconst<>+80(SB)/4, $0x3f317200
DATA expconst<>+84(SB)/4, $0x3f317200
DATA expconst<>+88(SB)/4, $0x3f317200
DATA expconst<>+92(SB)/4, $0x3f317200
DATA expconst<>+96(SB)/4, $0x35bfbe8e
DATA expconst<>+100(SB)/4, $0x35bfbe8e
DATA expconst<>+104(SB)/4, $0x35bfbe8e
DATA expconst<>+108(SB)/4, $0x35bfbe8e
DATA expconst<>+112(SB)/4, $0x35bfbe8e
DATA expconst<>+116(SB)/4, $0x35bfbe8e
DATA expconst<>+120(SB)/4, $0x35bfbe8e
DATA expconst<>+124(SB)/4, $0x35bfbe8e
DATA expconst<>+128(SB)/4, $0x3ab60b61
DATA expconst<>+132(SB)/4, $0x3ab60b61
DATA expconst<>+136(SB)/4, $0x3ab60b61
DATA expconst<>+140(SB)/4, $0x3ab60b61
DATA expconst<>+144(SB)/4, $0x3ab60b61
DATA expconst<>+148(SB)/4, $0x3ab60b61
DATA expconst<>+152(SB)/4, $0x3ab60b61
DATA expconst<>+156(SB)/4, $0x3ab60b61
DATA expconst<>+160(SB)/4, $0x3c088889
DATA expconst<>+164(SB)/4, $0x3c088889
DATA expconst<>+168(SB)/4, $0x3c088889
DATA expconst<>+172(SB)/4, $0x3c088889
DATA expconst<>+176(SB)/4, $0x3c088889
DATA expconst<>+180(SB)/4, $0x3c088889
DATA expconst<>+184(SB)/4, $0x3c088889
DATA expconst<>+188(SB)/4, $0x3c088889
DATA expconst<>+192(SB)/4, $0x3d2aaaab
DATA expconst<>+196(SB)/4, $0x3d2aaaab
DATA expconst<>+200(SB)/4, $0x3d2aaaab
DATA expconst<>+204(SB)/4, $0x3d2aaaab
DATA expconst<>+208(SB)/4, $0x3d2aaaab
DATA expconst<>+212(SB)/4, $0x3d2aaaab
DATA expconst<>+216(SB)/4, $0x3d2aaaab
DATA expconst<>+220(SB)/4, $0x3d2aaaab
DATA expconst<>+224(SB)/4, $0x3e2aaaab
DATA expconst<>+228(SB)/4, $0x3e2aaaab
DATA expconst<>+232(SB)/4, $0x3e2aaaab
DATA expconst<>+236(SB)/4, $0x3e2aaaab
DATA expconst<>+240(SB)/4, $0x3e2aaaab
DATA expconst<>+244(SB)/4, $0x3e2aaaab
DATA expconst<>+248(SB)/4, $0x3e2aaaab
DATA expconst<>+252(SB)/4, $0x3e2aaaab
DATA expconst<>+256(SB)/4, $0x3f000000
DATA expconst<>+260(SB)/4, $0x3f000000
DATA expconst<>+264(SB)/4, $0x3f000000
DATA expconst<>+268(SB)/4, $0x3f000000
DATA expconst<>+272(SB)/4, $0x3f000000
DATA expconst<>+276(SB)/4, $0x3f000000
DATA expconst<>+280(SB)/4, $0x3f000000
DATA expconst<>+284(SB)/4, $0x3f000000
DATA expconst<>+288(SB)/4, $0x3f800000
DATA expconst<>+292(SB)/4, $0x3f800000
DATA expconst<>+296(SB)/4, $0x3f800000
DATA expconst<>+300(SB)/4, $0x3f800000
DATA expconst<>+304(SB)/4, $0x3f800000
DATA expconst<>+308(SB)/4, $0x3f800000
DATA expconst<>+312(SB)/4, $0x3f800000
DATA expconst<>+316(SB)/4, $0x3f800000
DATA expconst<>+320(SB)/4, $0x0000007f
DATA expconst<>+324(SB)/4, $0x0000007f
DATA expconst<>+328(SB)/4, $0x0000007f
DATA expconst<>+332(SB)/4, $0x0000007f
DATA expconst<>+336(SB)/4, $0x0000007f
DATA expconst<>+340(SB)/4, $0x0000007f
DATA expconst<>+344(SB)/4, $0x0000007f
DATA expconst<>+348(SB)/4, $0x0000007f
GLOBL expconst<>(SB), RODATA|NOPTR, $352

// func expSubSum(x *float32, n int, m float32) float32
// x[i] = exp(x[i]-m) for i < n (n a multiple of 8, every x[i] <= m); returns the sum.
// Same algorithm as expf: Cody-Waite reduction, degree-6 polynomial, 2^n in the exponent.
TEXT ·expSubSum(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSS m+16(FP), Y15
	VXORPS Y0, Y0, Y0
	XORQ AX, AX
	CMPQ CX, $0
	JLE expdone
exploop:
	VMOVUPS (SI)(AX*4), Y1
	VSUBPS Y15, Y1, Y1
	VMAXPS expconst<>+0(SB), Y1, Y1
	VMULPS expconst<>+32(SB), Y1, Y2
	VROUNDPS $0, Y2, Y2
	VMOVAPS Y1, Y3
	VFNMADD231PS expconst<>+64(SB), Y2, Y3
	VFNMADD231PS expconst<>+96(SB), Y2, Y3
	VMOVUPS expconst<>+128(SB), Y4
	VFMADD213PS expconst<>+160(SB), Y3, Y4
	VFMADD213PS expconst<>+192(SB), Y3, Y4
	VFMADD213PS expconst<>+224(SB), Y3, Y4
	VFMADD213PS expconst<>+256(SB), Y3, Y4
	VFMADD213PS expconst<>+288(SB), Y3, Y4
	VFMADD213PS expconst<>+288(SB), Y3, Y4
	VCVTPS2DQ Y2, Y5
	VPADDD expconst<>+320(SB), Y5, Y5
	VPSLLD $23, Y5, Y5
	VMULPS Y5, Y4, Y4
	VMOVUPS Y4, (SI)(AX*4)
	VADDPS Y4, Y0, Y0
	ADDQ $8, AX
	CMPQ AX, CX
	JLT exploop
expdone:
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET
