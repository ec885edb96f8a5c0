//go:build amd64 && !purego

#include "textflag.h"

// func mm6x16(x *float32, ldx int, wp *float32, k, pstride, jstride int, out *float32, ldo int, panels int, add int)
// For p < panels, r < 6, c < 16:
//   out[r*ldo+16p+c] += Σ_{j<k} x[r*ldx+j]·wp[p*pstride+j*jstride+c]
// accumulated one j at a time with FMA in each output's own lane (no
// horizontal sums). wp holds panels of 16 weight rows, K-major. k ≥ 1.
TEXT ·mm6x16(SB), NOSPLIT, $0-80
	MOVQ x+0(FP), R11
	MOVQ ldx+8(FP), R8
	SHLQ $2, R8
	MOVQ wp+16(FP), R12
	MOVQ pstride+32(FP), R13
	SHLQ $2, R13
	MOVQ jstride+40(FP), R14
	SHLQ $2, R14
	MOVQ out+48(FP), DI
	MOVQ ldo+56(FP), BX
	SHLQ $2, BX
	LEAQ (DI)(BX*2), R10
	ADDQ BX, R10
	MOVQ panels+64(FP), AX
panel6:
	MOVQ R12, DX
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
	MOVQ R11, SI
	LEAQ (SI)(R8*2), R9
	ADDQ R8, R9
	MOVQ k+24(FP), CX
k6:
	VMOVUPS (DX), Y12
	VMOVUPS 32(DX), Y13
	VBROADCASTSS (SI), Y14
	VFMADD231PS Y12, Y14, Y0
	VFMADD231PS Y13, Y14, Y1
	VBROADCASTSS (SI)(R8*1), Y15
	VFMADD231PS Y12, Y15, Y2
	VFMADD231PS Y13, Y15, Y3
	VBROADCASTSS (SI)(R8*2), Y14
	VFMADD231PS Y12, Y14, Y4
	VFMADD231PS Y13, Y14, Y5
	VBROADCASTSS (R9), Y15
	VFMADD231PS Y12, Y15, Y6
	VFMADD231PS Y13, Y15, Y7
	VBROADCASTSS (R9)(R8*1), Y14
	VFMADD231PS Y12, Y14, Y8
	VFMADD231PS Y13, Y14, Y9
	VBROADCASTSS (R9)(R8*2), Y15
	VFMADD231PS Y12, Y15, Y10
	VFMADD231PS Y13, Y15, Y11
	ADDQ $4, SI
	ADDQ $4, R9
	ADDQ R14, DX
	DECQ CX
	JNZ k6
	CMPQ add+72(FP), $0
	JEQ store6
	VADDPS (DI), Y0, Y0
	VADDPS 32(DI), Y1, Y1
	VADDPS (DI)(BX*1), Y2, Y2
	VADDPS 32(DI)(BX*1), Y3, Y3
	VADDPS (DI)(BX*2), Y4, Y4
	VADDPS 32(DI)(BX*2), Y5, Y5
	VADDPS (R10), Y6, Y6
	VADDPS 32(R10), Y7, Y7
	VADDPS (R10)(BX*1), Y8, Y8
	VADDPS 32(R10)(BX*1), Y9, Y9
	VADDPS (R10)(BX*2), Y10, Y10
	VADDPS 32(R10)(BX*2), Y11, Y11
store6:
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, (DI)(BX*1)
	VMOVUPS Y3, 32(DI)(BX*1)
	VMOVUPS Y4, (DI)(BX*2)
	VMOVUPS Y5, 32(DI)(BX*2)
	VMOVUPS Y6, (R10)
	VMOVUPS Y7, 32(R10)
	VMOVUPS Y8, (R10)(BX*1)
	VMOVUPS Y9, 32(R10)(BX*1)
	VMOVUPS Y10, (R10)(BX*2)
	VMOVUPS Y11, 32(R10)(BX*2)
	ADDQ $64, DI
	ADDQ $64, R10
	ADDQ R13, R12
	DECQ AX
	JNZ panel6
	VZEROUPPER
	RET

// func mm1x16(x *float32, wp *float32, k, pstride, jstride int, out *float32, panels int, add int)
// mm6x16 for one row: the same per-lane FMA order, so a row's sums do not
// depend on the rows computed beside it.
TEXT ·mm1x16(SB), NOSPLIT, $0-64
	MOVQ x+0(FP), R11
	MOVQ wp+8(FP), R12
	MOVQ pstride+24(FP), R13
	SHLQ $2, R13
	MOVQ jstride+32(FP), R14
	SHLQ $2, R14
	MOVQ out+40(FP), DI
	MOVQ panels+48(FP), AX
panel1:
	MOVQ R12, DX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	MOVQ R11, SI
	MOVQ k+16(FP), CX
k1x:
	VBROADCASTSS (SI), Y14
	VFMADD231PS (DX), Y14, Y0
	VFMADD231PS 32(DX), Y14, Y1
	ADDQ $4, SI
	ADDQ R14, DX
	DECQ CX
	JNZ k1x
	CMPQ add+56(FP), $0
	JEQ store1
	VADDPS (DI), Y0, Y0
	VADDPS 32(DI), Y1, Y1
store1:
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ $64, DI
	ADDQ R13, R12
	DECQ AX
	JNZ panel1
	VZEROUPPER
	RET

// func mm3x16(x *float32, ldx int, wp *float32, k, pstride, jstride int, out *float32, ldo int, panels int, add int)
// mm6x16 for three x rows: the same per-lane FMA order.
TEXT ·mm3x16(SB), NOSPLIT, $0-80
	MOVQ x+0(FP), R11
	MOVQ ldx+8(FP), R8
	SHLQ $2, R8
	MOVQ wp+16(FP), R12
	MOVQ pstride+32(FP), R13
	SHLQ $2, R13
	MOVQ jstride+40(FP), R14
	SHLQ $2, R14
	MOVQ out+48(FP), DI
	MOVQ ldo+56(FP), BX
	SHLQ $2, BX
	MOVQ panels+64(FP), AX
panel3:
	MOVQ R12, DX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	MOVQ R11, SI
	MOVQ k+24(FP), CX
k3x:
	VMOVUPS (DX), Y12
	VMOVUPS 32(DX), Y13
	VBROADCASTSS (SI), Y14
	VFMADD231PS Y12, Y14, Y0
	VFMADD231PS Y13, Y14, Y1
	VBROADCASTSS (SI)(R8*1), Y15
	VFMADD231PS Y12, Y15, Y2
	VFMADD231PS Y13, Y15, Y3
	VBROADCASTSS (SI)(R8*2), Y14
	VFMADD231PS Y12, Y14, Y4
	VFMADD231PS Y13, Y14, Y5
	ADDQ $4, SI
	ADDQ R14, DX
	DECQ CX
	JNZ k3x
	CMPQ add+72(FP), $0
	JEQ store3
	VADDPS (DI), Y0, Y0
	VADDPS 32(DI), Y1, Y1
	VADDPS (DI)(BX*1), Y2, Y2
	VADDPS 32(DI)(BX*1), Y3, Y3
	VADDPS (DI)(BX*2), Y4, Y4
	VADDPS 32(DI)(BX*2), Y5, Y5
store3:
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, (DI)(BX*1)
	VMOVUPS Y3, 32(DI)(BX*1)
	VMOVUPS Y4, (DI)(BX*2)
	VMOVUPS Y5, 32(DI)(BX*2)
	ADDQ $64, DI
	ADDQ R13, R12
	DECQ AX
	JNZ panel3
	VZEROUPPER
	RET
