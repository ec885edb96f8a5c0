//go:build amd64 && !purego

package cpu

import "golang.org/x/sys/cpu"

// haveAVX512 reports whether the 512-bit tile kernel (mm8z) can run;
// x/sys/cpu also checks that the OS saves the ZMM state.
var haveAVX512 = haveSIMD && cpu.X86.HasAVX512F

// mm8z adds an 8-row × 2·groups-column block of x·wᵀ into out: for
// g < groups, r < 8, c < 2, out[r*ldo+2g+c] += Σ_{k<n} x[r*ldx+k]·w[(2g+c)*ldw+k],
// with 16-wide FMA. Eight rows per call halve the w traffic per FMA; the
// column loop is in the assembly, so one call covers a tile's width. n must
// be a multiple of 16 and groups at least 1. Implemented in
// tile_avx512_amd64.s.
//
//go:noescape
func mm8z(x *float32, ldx int, w *float32, ldw int, out *float32, ldo int, n, groups int)
