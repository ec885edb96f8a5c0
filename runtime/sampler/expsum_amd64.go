//go:build amd64 && !purego

package sampler

import "golang.org/x/sys/cpu"

// haveExpSIMD: the CPU has AVX2 and FMA, so math.Exp runs its FMA path and
// expSumAVX2 reproduces it.
var haveExpSIMD = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// expSumAVX2 adds exp(float64(x[i]) − m) to sum for i < n (a multiple of
// 4), in order, and returns the sum and how many values it consumed: it
// stops before the first group of four with a lane math.Exp does not take
// its plain path for. Implemented in expsum_amd64.s.
//
//go:noescape
func expSumAVX2(x *float32, n int, m, sum float64) (float64, int)

// argmaxAVX2 keeps, for each of 32 lanes (x[i] goes to lane i mod 32), the
// largest of its values by `>` (NaN never wins) and the index of its first
// occurrence: vals[l] and idx[l], or −∞ and −1 for a lane none beat −∞.
// n is a positive multiple of 32. Implemented in expsum_amd64.s.
//
//go:noescape
func argmaxAVX2(x *float32, n int, vals *[32]float32, idx *[32]int32)

// expStoreAVX2 sets e[i] = exp(e[i] − m) and adds it to sum for i < n (a
// multiple of 4), in order, as math.Exp's FMA path does, and returns the
// sum and how many values it consumed: it stops before the first group of
// four with a lane math.Exp does not take its plain path for, leaving it
// unchanged. Implemented in expsum_amd64.s.
//
//go:noescape
func expStoreAVX2(e *float64, n int, m, sum float64) (float64, int)
