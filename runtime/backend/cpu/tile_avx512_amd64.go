//go:build amd64 && !purego

package cpu

import "golang.org/x/sys/cpu"

// haveAVX512 reports whether the 512-bit tile kernel (mm8z) can run;
// x/sys/cpu also checks that the OS saves the ZMM state. (Its K-tail mask
// is made with BMI2's BZHI, which every AVX-512 CPU has.)
var haveAVX512 = haveSIMD && cpu.X86.HasAVX512F && cpu.X86.HasBMI2

// mm8z adds an 8-row × 2·groups-column block of x·wᵀ into out: for
// g < groups, r < 8, c < 2, out[r*ldo+2g+c] += Σ_{k<n} x[r*ldx+k]·w[(2g+c)*ldw+k],
// with 16-wide FMA. Eight rows per call halve the w traffic per FMA; the
// column loop is in the assembly, so one call covers a tile's width. The
// values past n's last multiple of 16 are one more 16-lane step through
// masked loads (no scalar tail, no read past n); groups must be at least
// 1. Implemented in tile_avx512_amd64.s.
//
// With pfper > 0 it also prefetches pfper 64-byte lines from address pf on
// before each of the groups (see prefetcher).
//
//go:noescape
func mm8z(x *float32, ldx int, w *float32, ldw int, out *float32, ldo int, n, groups int, pf uintptr, pfper int)

// mm1z adds x·w_cᵀ into out[c] for c < cols, one x row: for each column
// the same 16-lane accumulation and reduction tree as mm8z, so the rows of
// a tile past the last multiple of eight get mm8z's sums bit for bit
// without being padded to a block of eight; n's tail as mm8z's.
//
// pf, pfper: as mm8z's, before each group of four columns.
//
//go:noescape
func mm1z(x *float32, w *float32, ldw int, out *float32, n, cols int, pf uintptr, pfper int)

// decodeBF16Z is decodeBF16 sixteen values at a time; n is a multiple of 16.
//
//go:noescape
func decodeBF16Z(dst *float32, src *byte, n int)

// decodeQ8Z is decodeQ8 with 512-bit conversions.
//
//go:noescape
func decodeQ8Z(dst *float32, src *byte, nb int)

// mm6x32z is mm6x16 over pairs of 16-column panels (panel 2q at
// wp+2q·pstride, 2q+1 one pstride on) with 512-bit registers: the same
// per-lane FMA order, so the same sums. Implemented in
// bcast_avx512_amd64.s.
//
//go:noescape
func mm6x32z(x *float32, ldx int, wp *float32, k, pstride, jstride int, out *float32, ldo int, pairs int, add int)

// mm3x32z is mm6x32z for three x rows.
//
//go:noescape
func mm3x32z(x *float32, ldx int, wp *float32, k, pstride, jstride int, out *float32, ldo int, pairs int, add int)

// mm1x32z is mm6x32z for one x row.
//
//go:noescape
func mm1x32z(x *float32, wp *float32, k, pstride, jstride int, out *float32, pairs int, add int)
