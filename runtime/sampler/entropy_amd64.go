//go:build amd64 && !purego

package sampler

// entropyAVX2 adds q·log(q+1e−10), q = e[i]·inv, to h for i < n (a
// multiple of 4) in index order and returns h, bit for bit as the Go
// loop over math.Log does; every e[i]·inv must lie in [0, 1]. Needs
// haveExpSIMD (AVX2). Implemented in entropy_amd64.s.
//
//go:noescape
func entropyAVX2(e *float64, n int, inv, h float64) float64
