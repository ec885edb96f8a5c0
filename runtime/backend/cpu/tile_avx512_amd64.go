//go:build amd64 && !purego

package cpu

import "golang.org/x/sys/cpu"

// haveAVX512 reports whether the 512-bit tile kernel (dot4x4z) can run;
// x/sys/cpu also checks that the OS saves the ZMM state.
var haveAVX512 = haveSIMD && cpu.X86.HasAVX512F

// dot4x4z sets out[r*4+c] = Σ_{k<n} x_r[k]·w_c[k] for four x rows and four
// w rows with 16-wide FMA; n must be a multiple of 16. Implemented in
// tile_avx512_amd64.s.
//
//go:noescape
func dot4x4z(x0, x1, x2, x3, w0, w1, w2, w3 *float32, n int, out *[16]float32)
