//go:build (!amd64 && !arm64) || purego

package cpu

// haveSoftmaxVec and haveSiLUVec are false: this build has no vector
// softmax or SiLU kernels.
const (
	haveSoftmaxVec = false
	haveSiLUVec    = false
)

func scaleMax(x *float32, n int, s float32) float32 { panic("cpu: scaleMax without SIMD support") }
func scaleBy(x *float32, n int, s float32)          { panic("cpu: scaleBy without SIMD support") }
func expSubSum(x *float32, n int, m float32) float32 {
	panic("cpu: expSubSum without SIMD support")
}

func siluMul(out, gate, up *float32, n int) { panic("cpu: siluMul without SIMD support") }
