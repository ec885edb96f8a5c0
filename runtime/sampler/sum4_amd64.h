// SUM4(v, vx, acc, t1, t2) adds the four float64 lanes of v (vx its low
// half) to the scalar acc in lane order, as a Go loop over them would:
// the in-order float64 sums expSumAVX2, expStoreAVX2 and entropyAVX2
// keep. t1 and t2 are scratch X registers.
#define SUM4(v, vx, acc, t1, t2) \
	VADDSD vx, acc, acc; \
	VUNPCKHPD vx, vx, t1; \
	VADDSD t1, acc, acc; \
	VEXTRACTF128 $1, v, t2; \
	VADDSD t2, acc, acc; \
	VUNPCKHPD t2, t2, t1; \
	VADDSD t1, acc, acc
