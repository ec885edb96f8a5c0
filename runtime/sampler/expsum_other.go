//go:build !amd64 || purego

package sampler

const haveExpSIMD = false

func expSumAVX2(x *float32, n int, m, sum float64) (float64, int) {
	panic("sampler: expSumAVX2 without SIMD support")
}

func argmaxAVX2(x *float32, n int, vals *[32]float32, idx *[32]int32) {
	panic("sampler: argmaxAVX2 without SIMD support")
}

func entropyAVX2(e *float64, n int, inv, h float64) float64 {
	panic("sampler: entropyAVX2 without SIMD support")
}

func expStoreAVX2(e *float64, n int, m, sum float64) (float64, int) {
	panic("sampler: expStoreAVX2 without SIMD support")
}
