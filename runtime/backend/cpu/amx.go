package cpu

import (
	"encoding/binary"
	"errors"
	"runtime"
	"sync"
	"unsafe"

	"github.com/dream-lsp/dream-lsp/runtime/backend"
	"github.com/dream-lsp/dream-lsp/runtime/quant"
)

// ErrNoAMX is SetBF16Matmul's answer on a CPU (or an operating system, or
// a build) that cannot run the AMX tiles.
var ErrNoAMX = errors.New("cpu: no AMX-BF16 tiles on this CPU (Intel Xeon 4th generation or later, Linux), or a purego build")

// SetBF16Matmul chooses how matmuls with bf16 weights run. Off (the
// default), float32 activations multiply the exact weights: the reference
// sums, identical across weight formats. On, the activations are rounded
// to bf16 and multiplied on the CPU's AMX tiles with float32
// accumulation, as llama.cpp's and PyTorch's bf16 CPU paths do: several
// times the throughput, at bf16's precision (about three significant
// digits per activation). It returns ErrNoAMX, changing nothing, where
// the tiles cannot run. Call it before the backend runs any operation.
func (b *Backend) SetBF16Matmul(on bool) error {
	if on && !amxAvailable() {
		return ErrNoAMX
	}
	b.bf16 = on
	return nil
}

// BF16Matmul reports whether matmuls with bf16 weights run on AMX tiles.
func (b *Backend) BF16Matmul() bool { return b.bf16 }

// AMXAvailable reports whether SetBF16Matmul(true) succeeds on this CPU
// and build (dream-lsp doctor).
func AMXAvailable() bool { return amxAvailable() }

// Kernels names the float32 matmul kernels this CPU and build run:
// "avx512", "avx2" or "go" (the pure-Go reference).
func Kernels() string {
	switch {
	case haveAVX512:
		return "avx512"
	case haveSIMD:
		return "avx2"
	}
	return "go"
}

// amxTileCfg is LDTILECFG's operand for amxMM: palette 1, tiles 0–7 of 16
// rows × 64 bytes (16 float32 sums, or 32 bf16 values, or 16 bf16 pairs).
var amxTileCfg = func() (c [64]byte) {
	c[0] = 1
	for t := range 8 {
		binary.LittleEndian.PutUint16(c[16+2*t:], 64)
		c[48+t] = 16
	}
	return c
}()

// amxUsable reports whether a product with this bf16 weight can run on
// the tiles: 32-wide K chunks and 32-column output blocks.
func amxUsable(w *wtensor) bool {
	return w.format == backend.WeightBF16 && w.cols%32 == 0 && w.rows%32 == 0 && w.cols > 0
}

// amxPacked returns the weight rearranged, once, into the B tiles of
// TDPBF16PS ("VNNI" order): for each block of 16 output columns and each
// 32 values of K, a 1 KiB tile whose row p holds, for each of the 16
// columns, the pair w[n][32c+2p], w[n][32c+2p+1]. It lives outside the Go
// heap, the stored format's size, and is freed with the tensor.
func (w *wtensor) amxPacked() []uint16 {
	w.amxOnce.Do(func() {
		N, K := w.rows, w.cols
		buf, free := quant.Alloc(2 * N * K)
		w.amx = unsafe.Slice((*uint16)(unsafe.Pointer(&buf[0])), N*K)
		w.amxFree = free
		runtime.AddCleanup(w, func(f func()) { f() }, free)
		packAMX(w.amx, w.raw, w.rowBytes, N, K)
		releasePages(w.raw) // matmuls read only the packed copy now
	})
	return w.amx
}

// packAMX writes amxPacked's layout of the bf16 rows raw (rowBytes
// apart) into dst, on every core.
func packAMX(dst []uint16, raw []byte, rowBytes, N, K int) {
	chunks := K / 32
	dst32 := unsafe.Slice((*uint32)(unsafe.Pointer(&dst[0])), len(dst)/2)
	blocks := N / 16
	var wg sync.WaitGroup
	workers := min(runtime.GOMAXPROCS(0), blocks)
	for t := range workers {
		wg.Go(func() {
			for nb := t; nb < blocks; nb += workers {
				base := nb * chunks * 256 // uint32 pairs per block
				for i := range 16 {
					row := raw[(nb*16+i)*rowBytes:]
					for q := range K / 2 {
						dst32[base+q*16+i] = binary.LittleEndian.Uint32(row[4*q:])
					}
				}
			}
		})
	}
	wg.Wait()
}

// bf16Pool holds the activations' bf16 copy for matmulAMX.
var bf16Pool = sync.Pool{New: func() any { return new([]uint16) }}

// matmulAMX is MatMul with a bf16 weight on AMX tiles (SetBF16Matmul):
// x is rounded to bf16 once, padded to a multiple of 32 rows with zeros,
// and each task runs amxMM over one 32-column block of out for a group
// of 32-row blocks, K whole, so every sum is one tile accumulation.
func (b *Backend) matmulAMX(out, x []float32, w *wtensor, bias []float32, T, K, N int) {
	wp := w.amxPacked()
	chunks := K / 32
	pairs := (T + 31) / 32
	xbp := bf16Pool.Get().(*[]uint16)
	defer bf16Pool.Put(xbp)
	need := pairs * 32 * K
	if cap(*xbp) < need {
		*xbp = make([]uint16, need)
	}
	xb := (*xbp)[:need]
	b.parallel(T, max(1, 4096/K), func(lo, hi int) {
		cvtBF16(&xb[lo*K], &x[lo*K], (hi-lo)*K)
	})
	clear(xb[T*K:])
	colBlocks := N / 32
	per := pairs
	for per > 1 && colBlocks*((pairs+per-1)/per) < 4*b.threads {
		per--
	}
	groups := (pairs + per - 1) / per
	full := T / 32 // blocks of 32 rows wholly inside out
	b.parallelTasks(colBlocks*groups, func(task int) {
		cb, g := task/groups, task%groups
		n0 := 32 * cb
		p0, p1 := g*per, min((g+1)*per, pairs)
		w0, w1 := &wp[2*cb*chunks*512], &wp[(2*cb+1)*chunks*512]
		if f := min(p1, full); f > p0 {
			amxMM(&amxTileCfg, &xb[p0*32*K], 2*K, w0, w1, chunks, &out[p0*32*N+n0], 4*N, f-p0)
		}
		if p1 > full { // the last block, past out's rows: through scratch
			var s [32 * 32]float32
			amxMM(&amxTileCfg, &xb[full*32*K], 2*K, w0, w1, chunks, &s[0], 4*32, 1)
			for r := 32 * full; r < T; r++ {
				copy(out[r*N+n0:r*N+n0+32], s[(r-32*full)*32:])
			}
		}
		if bias != nil {
			for r := 32 * p0; r < min(32*p1, T); r++ {
				row := out[r*N+n0 : r*N+n0+32]
				for j, v := range bias[n0 : n0+32] {
					row[j] += v
				}
			}
		}
	})
}
