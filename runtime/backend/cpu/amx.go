package cpu

import (
	"encoding/binary"
	"errors"
	"math"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/dream-lsp/dream-lsp/runtime/backend"
	"github.com/dream-lsp/dream-lsp/runtime/quant"
	"github.com/dream-lsp/dream-lsp/runtime/weights"
)

// ErrNoAMX is SetBF16Matmul's answer on a CPU (or an operating system, or
// a build) that cannot run the AMX tiles.
var ErrNoAMX = errors.New("cpu: no AMX-BF16 tiles or AVX512-BF16 on this CPU (Intel Xeon 4th generation or later with Linux, AMD Zen 4 or later), or a purego build")

// SetBF16Matmul chooses how matmuls with weights in stored formats (bf16,
// f16, q8_0, and GGUF's q4_K, q6_K and q5_0: AMXTakes) run.
// Off (the default), float32 activations multiply the exact weights: the
// reference sums, identical across weight formats. On, the activations
// are rounded to bf16 and multiplied on the CPU's AMX tiles with float32
// accumulation, as llama.cpp's and PyTorch's bf16 CPU paths do, the
// weights rounded to bf16 too where they are not (f16 once, q8_0's
// scaled values strip by strip): several times the throughput, at bf16's
// precision (about three significant digits per value). It returns
// ErrNoAMX, changing nothing, where the tiles cannot run. Call it before
// the backend runs any operation.
func (b *Backend) SetBF16Matmul(on bool) error {
	if on && !amxAvailable() {
		return ErrNoAMX
	}
	b.bf16 = on
	return nil
}

// PrepareMatMul readies the weight w for the products it will be in now
// rather than at the first one: on the AMX tiles (SetBF16Matmul on), a
// weight they take is repacked into their layout (amxPacked), which for
// a 7B model's weights is seconds of work that would otherwise delay the
// first completion after a server starts. The bits of every product are
// the same either way. Elsewhere, and for other tensors, it does nothing.
func (b *Backend) PrepareMatMul(t backend.Tensor) {
	if w, ok := t.(*wtensor); ok && b.bf16 && amxUsable(w) {
		w.amxPacked()
	}
}

// BF16Matmul reports whether matmuls with bf16 weights run on AMX tiles.
func (b *Backend) BF16Matmul() bool { return b.bf16 }

// AMXAvailable reports whether SetBF16Matmul(true) succeeds on this CPU
// and build (dream-lsp doctor): AMX tiles, or AVX512-BF16's VDPBF16PS.
func AMXAvailable() bool { return amxAvailable() }

// BF16Kernel names what runs SetBF16Matmul's products here: "amx" (the
// tiles), "avx512-bf16" (VDPBF16PS, four rows a weight load: AMD Zen 4
// and later, Intel Cooper Lake) or "" where they cannot run.
func BF16Kernel() string {
	switch {
	case amxTiles():
		return "amx"
	case amxAvailable():
		return "avx512-bf16"
	}
	return ""
}

// Kernels names the float32 matmul kernels this CPU and build run:
// "avx512", "avx2", "neon" (arm64) or "go" (the pure-Go reference).
func Kernels() string {
	switch {
	case haveAVX512:
		return "avx512"
	case haveSIMD:
		return "avx2"
	case haveNEON:
		return "neon"
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

// AMXTakes reports whether SetBF16Matmul(true) runs products with
// weights stored in format f on the tiles: bf16; f16, rounded to bf16
// once; q8_0, rounded to bf16 strip by strip; and GGUF's other block
// formats (amxDecodes), decoded and rounded to bf16 strip by strip. f32
// weights keep the float32 kernels.
func AMXTakes(f backend.WeightFormat) bool {
	switch f {
	case backend.WeightBF16, backend.WeightF16, backend.WeightQ8_0:
		return true
	}
	return amxDecodes(f)
}

// amxDecodes reports whether the tiles take format f by decoding each
// task's strips from the stored rows (decodeStripAMX) rather than from a
// tile-ordered copy: the formats read from GGUF files only (the k-quants,
// q5_0 and the other block formats but q8_0), whose blocks with their
// sub-block scales have no cheaper tile form, and which stay in the
// mapped file at their stored size.
func amxDecodes(f backend.WeightFormat) bool { return f.GGUFOnly() }

// amxUsable reports whether a product with this weight can run on the
// tiles: a format they take (AMXTakes), 32-wide K chunks and 32-column
// output blocks.
func amxUsable(w *wtensor) bool {
	return AMXTakes(w.format) && w.cols%32 == 0 && w.rows%32 == 0 && w.cols > 0
}

// amxQ8TileBytes is one q8_0 tile of amxPacked: 512 int8 weights in the
// B tile's order, then the 16 columns' float16 block scales.
const amxQ8TileBytes = 512 + 32

// amxPacked returns the weight rearranged, once, for the tiles. For each
// block of 16 output columns and each 32 values of K there is one tile,
// row p of which holds, for each of the 16 columns i, the pair
// w[i][32c+2p], w[i][32c+2p+1] ("VNNI" order, TDPBF16PS's B operand):
//   - bf16 and f16 weights: 1 KiB of bf16 (f16 values rounded to bf16,
//     nearest even), multiplied as they are;
//   - q8_0 weights: the same order of the blocks' int8 values, 512 bytes,
//     then the 16 columns' scales (float16) for these 32 values of K, the
//     stored format's size; dequantQ8AMX turns a strip of them into bf16
//     tiles just before they are multiplied, or amxQ8Block a chunk at a
//     time.
//
// It lives outside the Go heap and is freed with the tensor.
//
// For a format the tiles decode (amxDecodes) there is no copy: it returns
// nil, and counts the stored bytes in amxResident, which they are read
// from.
func (w *wtensor) amxPacked() []byte {
	w.amxOnce.Do(func() {
		if amxDecodes(w.format) {
			n := int64(len(w.raw))
			amxResident.Add(n)
			runtime.AddCleanup(w, func(n int64) { amxResident.Add(-n) }, n)
			return
		}
		N, K := w.rows, w.cols
		size := 2 * N * K
		if w.format == backend.WeightQ8_0 {
			size = N / 16 * K / 32 * amxQ8TileBytes
		}
		buf, release := quant.Alloc(size)
		amxResident.Add(int64(size))
		free := sync.OnceFunc(func() {
			release()
			amxResident.Add(-int64(size))
		})
		w.amx = buf[:size]
		w.amxFree = free
		runtime.AddCleanup(w, func(f func()) { f() }, free)
		packAMX(w.amx, w.raw, w.rowBytes, N, K, w.format)
		if w.disposable {
			// The tiles hold it exactly: hand the converted bytes back.
			w.mu.Lock()
			discardPages(w.raw)
			w.dropped = true
			w.mu.Unlock()
		} else {
			releasePages(w.raw) // matmuls read only the packed copy now
		}
	})
	return w.amx
}

// packAMX writes amxPacked's layout of the rows raw (rowBytes apart, in
// format f) into dst, on every core.
func packAMX(dst, raw []byte, rowBytes, N, K int, f backend.WeightFormat) {
	chunks := K / 32
	blocks := N / 16
	var wg sync.WaitGroup
	workers := min(runtime.GOMAXPROCS(0), blocks)
	for t := range workers {
		wg.Go(func() {
			for nb := t; nb < blocks; nb += workers {
				for i := range 16 {
					row := raw[(nb*16+i)*rowBytes:]
					switch f {
					case backend.WeightQ8_0:
						for c := range chunks {
							tile := dst[(nb*chunks+c)*amxQ8TileBytes:]
							blk := row[c*backend.Q8BlockBytes:]
							copy(tile[512+2*i:512+2*i+2], blk[:2])
							for p := range 16 {
								tile[32*p+2*i] = blk[2+2*p]
								tile[32*p+2*i+1] = blk[3+2*p]
							}
						}
					case backend.WeightF16:
						base := nb * chunks * 1024
						for q := range K / 2 {
							for j := range 2 {
								h := binary.LittleEndian.Uint16(row[4*q+2*j:])
								binary.LittleEndian.PutUint16(dst[base+q*64+4*i+2*j:], roundBF16(weights.F16ToFloat32(h)))
							}
						}
					default: // bf16
						base := nb * chunks * 1024
						for q := range K / 2 {
							copy(dst[base+q*64+4*i:base+q*64+4*i+4], row[4*q:4*q+4])
						}
					}
				}
			}
		})
	}
	wg.Wait()
}

// unpackAMXRow writes row r's stored bytes (bf16 or q8_0, K values) from
// amxPacked's layout into row: packAMX's inverse.
func unpackAMXRow(row, packed []byte, r, K int, f backend.WeightFormat) {
	chunks := K / 32
	nb, i := r/16, r%16
	switch f {
	case backend.WeightQ8_0:
		for c := range chunks {
			tile := packed[(nb*chunks+c)*amxQ8TileBytes:]
			blk := row[c*backend.Q8BlockBytes:]
			copy(blk[:2], tile[512+2*i:512+2*i+2])
			for p := range 16 {
				blk[2+2*p] = tile[32*p+2*i]
				blk[3+2*p] = tile[32*p+2*i+1]
			}
		}
	case backend.WeightBF16:
		base := nb * chunks * 1024
		for q := range K / 2 {
			copy(row[4*q:4*q+4], packed[base+q*64+4*i:])
		}
	default:
		panic("cpu: unpackAMXRow: " + string(f) + " is not kept losslessly on the tiles")
	}
}

// roundBF16 rounds f to bf16, nearest even, as cvtBF16 does (subnormals
// to zero, a NaN quieted).
func roundBF16(f float32) uint16 {
	u := math.Float32bits(f)
	switch {
	case f != f:
		return uint16(u>>16) | 0x40
	case u&0x7f800000 == 0:
		return uint16(u>>16) & 0x8000
	}
	u += 0x7fff + (u>>16)&1
	return uint16(u >> 16)
}

// bf16Pool holds the activations' bf16 copy for matmulAMX, and each
// task's bf16 strip of a q8_0 weight.
var bf16Pool = sync.Pool{New: func() any { return new([]uint16) }}

// amxResident counts the bytes of every live amxPacked copy. Above
// amxPrefetchMin a model's weights cannot stay in the last-level cache
// from one forward pass to the next, so matmulAMX prefetches the next
// weight block; below it (the built-in model's 6 MiB) the blocks are
// cached already and the prefetches would only take load slots.
var (
	amxResident    atomic.Int64
	amxPrefetchMin int64 = 64 << 20
)

// bf16RowsMax is the most rows past the last whole 32-row block that
// matmulAMX multiplies with bf16Rows rather than as a zero-padded block
// on the tiles (a variable so tests and benchmarks can move it).
var bf16RowsMax = 2

// blockPool holds the 32×32 blocks matmulAMX stores a last, partial
// row block into (amxMM writes all of it, so it is not cleared).
var blockPool = sync.Pool{New: func() any { return new([32 * 32]float32) }}

// pooled returns a slice of n values from bf16Pool and the pool entry to
// put back.
func pooled(n int) ([]uint16, *[]uint16) {
	p := bf16Pool.Get().(*[]uint16)
	if cap(*p) < n {
		*p = make([]uint16, n)
	}
	return (*p)[:n], p
}

// matmulAMX is MatMul with a weight on AMX tiles (SetBF16Matmul): x is
// rounded to bf16 once, into whole blocks of 32 rows, and each task runs
// amxMM over one 32-column block of out for a group of 32-row blocks,
// K whole, so every sum is one tile accumulation that starts from the
// bias. A q8_0 weight's two 16-column strips are first turned into bf16
// tiles in the task's scratch (dequantQ8AMX: 2·K·32 bytes, in L2), so
// the weight is read from memory at its stored size and multiplied at
// the tiles' rate; a task of one row block (a cached block step, lm_head
// on a few rows) converts it chunk by chunk beside the tiles instead
// (fusedQ8, amxQ8Block).
func (b *Backend) matmulAMX(out, x []float32, w *wtensor, bias []float32, T, K int) {
	b.matmulsAMX([]amxProduct{{w: w, out: out, bias: bias}}, x, T, K)
}

// amxProduct is one of matmulsAMX's products: out = x·wᵀ (+ bias).
type amxProduct struct {
	w         *wtensor
	out, bias []float32
}

// matmulsAMX is matmulAMX for one or several weights on the same x: x
// rounded to bf16 once, and the weights' 32-column blocks, in order, one
// list of tasks (the plan's column blocks are all of them).
func (b *Backend) matmulsAMX(prods []amxProduct, x []float32, T, K int) {
	first := make([]int, len(prods)+1) // prods[i]'s first column block
	for i, pr := range prods {
		first[i+1] = first[i] + pr.w.rows/32
	}
	locate := func(gcb int) (int, int) {
		i := sort.SearchInts(first, gcb+1) - 1
		return i, gcb - first[i]
	}
	p := b.amxPlan(x, T, K, 32*first[len(prods)])
	defer p.done()
	b.parallelTasksAhead(p.tasks(), func(task, next int) {
		gcb, p0, p1 := p.task(task)
		i, cb := locate(gcb)
		pr := prods[i]
		N := pr.w.rows
		var bp *float32
		if pr.bias != nil {
			bp = &pr.bias[32*cb]
		}
		pf := amxPrefetch{}
		if next >= 0 {
			ngcb, _, _ := p.task(next)
			ni, ncb := locate(ngcb)
			pf = p.prefetchNext(prods[ni].w, ncb, ngcb == gcb, p0, p1)
		}
		p.mul(pr.out[p0*32*N+32*cb:], N, p0, p1, pr.w, cb, bp, pf)
	})
}

// swiGLUAMX sets out to silu(x·gateᵀ) ⊙ (x·upᵀ) on the tiles: each task
// multiplies a 32-column block of up into out and of gate into its
// scratch, then applies SiLU in place (siluMulRows), so the [T, N] gate
// product is never written to memory and neither is read back by a
// separate pass. Every value is the one MatMul, MatMul and SiLUMul give,
// bit for bit: the same tile sums, the same expf.
func (b *Backend) swiGLUAMX(out, x []float32, gate, up *wtensor, T, K, N int) {
	p := b.amxPlan(x, T, K, N)
	defer p.done()
	b.parallelTasksAhead(p.tasks(), func(task, next int) {
		cb, p0, p1 := p.task(task)
		gp := getScratch((p1 - p0) * 32 * 32) // the gate sums
		defer putScratch(gp)
		g := *gp
		p.mul(g, 32, p0, p1, gate, cb, nil, p.prefetch(gate, cb, next, p0, p1))
		o := out[p0*32*N+32*cb:]
		p.mul(o, N, p0, p1, up, cb, nil, p.prefetch(up, cb, next, p0, p1))
		siluMulRows(&o[0], &g[0], N, 32, min(32*p1, T)-32*p0)
	})
}

// amxPlan is one product's activations in bf16 and its split into tasks:
// colBlocks blocks of 32 output columns times groups of per 32-row
// blocks.
type amxPlan struct {
	xb                []uint16
	xbp               *[]uint16
	T, K, chunks      int
	pairs, per        int
	groups, colBlocks int
}

// amxPlan rounds x's T rows to bf16 (in a buffer of whole 32-row
// blocks) and splits the product into at least 4 tasks per thread where
// the shape allows.
func (b *Backend) amxPlan(x []float32, T, K, N int) *amxPlan {
	pairs := (T + 31) / 32
	xb, xbp := pooled(pairs * 32 * K)
	b.parallel(T, max(1, 4096/K), func(lo, hi int) {
		cvtBF16(&xb[lo*K], &x[lo*K], (hi-lo)*K)
	})
	// The rows past T are left as the pool had them: a product's row
	// depends on its own row of x only, and rows past T go to scratch
	// that is never copied out (bf16Rows does not even read them).
	colBlocks := N / 32
	per := pairs
	for per > 1 && colBlocks*((pairs+per-1)/per) < 4*b.threads {
		per--
	}
	return &amxPlan{xb: xb, xbp: xbp, T: T, K: K, chunks: K / 32, pairs: pairs, per: per,
		groups: (pairs + per - 1) / per, colBlocks: colBlocks}
}

func (p *amxPlan) done()      { bf16Pool.Put(p.xbp) }
func (p *amxPlan) tasks() int { return p.colBlocks * p.groups }

// task returns task's column block and its 32-row blocks [p0, p1).
func (p *amxPlan) task(task int) (cb, p0, p1 int) {
	cb, g := task/p.groups, task%p.groups
	return cb, g * p.per, min((g+1)*p.per, p.pairs)
}

// stripBytes is the bytes of one column block's two strips in w's
// amxPacked: stored (q8_0) or bf16.
func (p *amxPlan) stripBytes(w *wtensor) int {
	switch {
	case w.format == backend.WeightQ8_0:
		return 2 * p.chunks * amxQ8TileBytes
	case amxDecodes(w.format):
		return 32 * w.rowBytes // the block's 32 stored rows
	}
	return 2 * p.chunks * 1024
}

// strips returns column block cb's two bf16 strips of w: in place (sp
// nil), or for q8_0 converted into bf16Pool's scratch sp, which
// putStrips returns once they have been multiplied.
func (p *amxPlan) strips(w *wtensor, cb int) (w0, w1 *uint16, sp *[]uint16) {
	if amxDecodes(w.format) {
		strip, sp := pooled(2 * p.chunks * 512)
		decodeStripAMX(strip, w, cb)
		return &strip[0], &strip[p.chunks*512], sp
	}
	wp := w.amxPacked()
	if w.format != backend.WeightQ8_0 {
		wb := unsafe.Slice((*uint16)(unsafe.Pointer(unsafe.SliceData(wp))), len(wp)/2)
		return &wb[2*cb*p.chunks*512], &wb[(2*cb+1)*p.chunks*512], nil
	}
	strip, sp := pooled(2 * p.chunks * 512)
	dequantQ8AMX(&strip[0], &wp[cb*p.stripBytes(w)], 2*p.chunks)
	return &strip[0], &strip[p.chunks*512], sp
}

// putStrips returns strips' scratch, if it took any, to bf16Pool.
func putStrips(sp *[]uint16) {
	if sp != nil {
		bf16Pool.Put(sp)
	}
}

// amxPrefetch is amxMM's prefetch of the next task's weight block: lines
// cache lines from at, per of them each K chunk.
type amxPrefetch struct {
	at         *byte
	lines, per int
}

// prefetch returns the prefetch for a task over column block cb and row
// blocks [p0, p1) whose successor is next: while this task multiplies,
// memory streams the next task's block of w into L2 (unless it is this
// one), so neither the conversion nor the tile loads wait for it.
func (p *amxPlan) prefetch(w *wtensor, cb, next, p0, p1 int) amxPrefetch {
	if next < 0 {
		return amxPrefetch{}
	}
	ncb, _, _ := p.task(next)
	return p.prefetchNext(w, ncb, ncb == cb, p0, p1)
}

// prefetchNext is prefetch with the next task's weight w and column block
// ncb given: none when same (the next task reads this task's block) or
// the weights fit in the cache.
func (p *amxPlan) prefetchNext(w *wtensor, ncb int, same bool, p0, p1 int) amxPrefetch {
	if same || amxResident.Load() <= amxPrefetchMin {
		return amxPrefetch{}
	}
	sb := p.stripBytes(w)
	lines := sb / 64
	rows := min(p1, p.T/32) - p0
	if rows <= 0 {
		rows = 1
	}
	src := w.amxPacked()
	if amxDecodes(w.format) {
		src = w.raw
	}
	return amxPrefetch{&src[ncb*sb], lines, (lines + rows*p.chunks - 1) / (rows * p.chunks)}
}

// mul multiplies w's column block cb by the activations' rows [32·p0,
// min(32·p1, T)) into dst (rows ld floats apart, row 32·p0 at dst[0]):
// on amxQ8Block where fusedQ8 takes the task, else through w's bf16
// strips (strips) and rows.
func (p *amxPlan) mul(dst []float32, ld, p0, p1 int, w *wtensor, cb int, bias *float32, pf amxPrefetch) {
	if left, padded, ok := p.fusedQ8(w, p0, p1); ok {
		p.rowsQ8(dst, ld, p0, w, cb, left, padded, bias, pf)
		return
	}
	w0, w1, sp := p.strips(w, cb)
	p.rows(dst, ld, p0, p1, w0, w1, bias, pf)
	putStrips(sp)
}

// amxFuseQ8 lets fusedQ8 take tasks (a variable so tests can compare
// the two paths).
var amxFuseQ8 = true

// fusedQ8 reports whether a task over row blocks [p0, p1) of a q8_0
// product runs on amxQ8Block, which converts the weight chunk by chunk
// while the tiles multiply: a task of one row block, whose weight the
// strips would convert for that block alone. These are the products of
// cached block steps (32 rows plus the slot before: left 1) and of
// lm_head on their few masked rows (padded: one partial block, through
// scratch); with several row blocks a task's strips serve them all and
// stay as they are. left is the rows past a whole block it also takes
// (bf16Rows' share).
func (p *amxPlan) fusedQ8(w *wtensor, p0, p1 int) (left int, padded, ok bool) {
	if !amxFuseQ8 || w.format != backend.WeightQ8_0 || !useTiles() {
		return 0, false, false
	}
	full := p.T / 32
	rest := p.T - 32*full
	switch {
	case p1-p0 == 1 && p0 < full:
		return 0, false, true
	case p1-p0 == 2 && p0 == full-1 && rest > 0 && rest <= bf16RowsMax:
		return rest, false, true
	case p1-p0 == 1 && p0 == full && rest > bf16RowsMax:
		return 0, true, true
	}
	return 0, false, false
}

// rowsQ8 runs a task fusedQ8 took: row block p0 and the left rows after
// it straight into dst, or (padded) the partial block p0 through
// scratch.
func (p *amxPlan) rowsQ8(dst []float32, ld, p0 int, w *wtensor, cb, left int, padded bool, bias *float32, pf amxPrefetch) {
	wq := &w.amxPacked()[cb*p.stripBytes(w)]
	sp := stagePool.Get().(*stages)
	defer stagePool.Put(sp)
	x := &p.xb[p0*32*p.K]
	if !padded {
		amxQ8Block(&amxTileCfg, x, 2*p.K, wq, p.chunks, &dst[0], 4*ld, left, bias, &sp.at()[0], pf.at, pf.lines, pf.per)
		return
	}
	blk := blockPool.Get().(*[32 * 32]float32)
	amxQ8Block(&amxTileCfg, x, 2*p.K, wq, p.chunks, &blk[0], 4*32, 0, bias, &sp.at()[0], pf.at, pf.lines, pf.per)
	for r := range p.T - 32*p0 {
		copy(dst[r*ld:r*ld+32], blk[r*32:])
	}
	blockPool.Put(blk)
}

// stages is amxQ8Block's buffer: two 2 KiB stages of bf16 B tiles, with
// room to start them on a cache line.
type stages [2048 + 32]uint16

// at returns the 2048 values from the first 64-byte boundary on.
func (s *stages) at() []uint16 {
	off := (64 - int(uintptr(unsafe.Pointer(&s[0]))%64)) % 64 / 2
	return s[off : off+2048]
}

var stagePool = sync.Pool{New: func() any { return new(stages) }}

// rows multiplies the bf16 strips w0, w1 of one 32-column block by the
// activations' rows [32·p0, min(32·p1, T)) into dst, row 32·p0 at
// dst[0] and rows ld floats apart. dst holds those rows only: on the
// tiles a last partial block goes through scratch, or, for a few rows,
// bf16Rows; with VDPBF16PS alone its rows go straight into dst.
func (p *amxPlan) rows(dst []float32, ld, p0, p1 int, w0, w1 *uint16, bias *float32, pf amxPrefetch) {
	K, chunks, T := p.K, p.chunks, p.T
	full := T / 32 // blocks of 32 rows wholly inside dst
	if f := min(p1, full); f > p0 {
		mmBF16(&amxTileCfg, &p.xb[p0*32*K], 2*K, w0, w1, chunks, &dst[0], 4*ld, f-p0, bias, pf.at, pf.lines, pf.per)
		pf.lines = 0
	}
	if p1 <= full {
		return
	}
	at := (full - p0) * 32 * ld
	left := T - 32*full
	if !useTiles() {
		// VDPBF16PS only: the rows there are, four at a time and the
		// last one to three alone, straight into dst; no padded block.
		x := full * 32 * K
		if q := left / 4; q > 0 {
			bf16Rows4(&p.xb[x], 2*K, w0, w1, chunks, &dst[at], 4*ld, q, bias)
		}
		if r := left % 4; r > 0 {
			bf16Rows(&p.xb[x+(left-r)*K], 2*K, w0, w1, chunks, &dst[at+(left-r)*ld], 4*ld, r, bias)
		}
		return
	}
	if left <= bf16RowsMax {
		// A few rows past the last whole block: VDPBF16PS on the same
		// tiles, straight into dst, instead of a padded block.
		bf16Rows(&p.xb[full*32*K], 2*K, w0, w1, chunks, &dst[at], 4*ld, left, bias)
		return
	}
	sp := blockPool.Get().(*[32 * 32]float32)
	mmBF16(&amxTileCfg, &p.xb[full*32*K], 2*K, w0, w1, chunks, &sp[0], 4*32, 1, bias, pf.at, pf.lines, pf.per)
	for r := range T - 32*full {
		copy(dst[at+r*ld:at+r*ld+32], sp[r*32:])
	}
	blockPool.Put(sp)
}

// decodeStripAMX writes column block cb of w (32 stored rows, a format
// amxDecodes) into dst as its two bf16 strips in amxPacked's order: each
// row decoded and rounded to bf16 in one pass (decodeQ4KRowBF16 and its
// kin: the float32 path's values, rounded to nearest even), 16 rows at a
// time; a 16-column strip is those rows' pairs transposed ([K/2][16]
// pairs: pair q of chunk q/16 sits in row q%16 of its tile) by
// transpose16, which writes each tile row whole (scattering pairs a row
// at a time took most of a block step).
func decodeStripAMX(dst []uint16, w *wtensor, cb int) {
	K := w.cols
	rows, rp := pooled(16 * K)
	defer bf16Pool.Put(rp)
	d32 := unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(dst))), len(dst)/2)
	r32 := unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(rows))), 8*K)
	n := K / 2
	var (
		f32 []float32
		fp  *[]float32
	)
	for half := range 2 {
		for i := range 16 {
			r := 32*cb + 16*half + i
			switch row := &w.raw[r*w.rowBytes]; w.format {
			case backend.WeightQ4_K:
				decodeQ4KRowBF16(&rows[i*K], row, K/backend.KBlockSize)
			case backend.WeightQ5_K:
				decodeQ5KRowBF16(&rows[i*K], row, K/backend.KBlockSize)
			case backend.WeightQ6_K:
				decodeQ6KRowBF16(&rows[i*K], row, K/backend.KBlockSize)
			case backend.WeightQ5_0:
				decodeQ5RowBF16(&rows[i*K], row, K/backend.Q8BlockSize)
			default:
				// The formats without a one-pass decoder: the float32
				// path's values, then rounded.
				if f32 == nil {
					fp = padPool.Get().(*[]float32)
					if cap(*fp) < K {
						*fp = make([]float32, K)
					}
					f32 = (*fp)[:K]
					defer padPool.Put(fp)
				}
				w.decodeRowK(f32, w.raw[r*w.rowBytes:(r+1)*w.rowBytes], 0, K)
				cvtBF16(&rows[i*K], &f32[0], K)
			}
		}
		transpose16(&d32[half*16*n], &r32[0], n, n)
	}
}

// transpose16Go is transpose16 in Go (its reference in tests).
func transpose16Go(dst, src []uint32, ld, n int) {
	for q := range n {
		for i := range 16 {
			dst[16*q+i] = src[i*ld+q]
		}
	}
}
