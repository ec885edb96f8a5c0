package cpu

import (
	"encoding/binary"
	"fmt"
	"sync"
	"unsafe"

	"github.com/dream-lsp/dream-lsp/runtime/backend"
	"github.com/dream-lsp/dream-lsp/runtime/quant"
	"github.com/dream-lsp/dream-lsp/runtime/weights"
)

// wtensor is a weight matrix kept in its stored format (bf16, f16, q8_0):
// MatMul decodes it panel by panel into float32 scratch that stays in
// cache and runs the float32 tile kernels over it, so a product with a
// stored-format weight is bit for bit the product with the float32
// weight it decodes to, at half (or about a quarter) of the memory and
// of the bytes read per pass.
type wtensor struct {
	rows, cols int
	format     backend.WeightFormat
	raw        []byte // row-major rows, rowBytes each
	rowBytes   int
	// A block format's values and bytes a block (format.Block, looked up
	// once: the map lookup cost a tenth of decoding a 1,024-value row).
	blockVals, blockBytes int
	// A small weight decoded once (decoded), so matmuls stop decoding its
	// panels on every call: packed for the broadcast kernels
	// (packPanels16) on a CPU with AVX2, row-major rows otherwise.
	decOnce sync.Once
	dec     []float32
	packed  bool
	// The weight in AMX tile order (amxPacked), made on the first AMX
	// matmul; amxFree releases it.
	amxOnce sync.Once
	amx     []byte
	amxFree func()
	// disposable: raw was uploaded as disposable (UploadDisposableWeight)
	// to a backend on the tiles, in a format they hold losslessly; once
	// amxPacked has its copy, raw's pages are handed back (dropped) and
	// rows are read from the tiles. mu orders those reads after the drop.
	disposable bool
	mu         sync.RWMutex
	dropped    bool
}

// decodedMax is the largest weight (in float32 values, 4 MiB) matmulW
// keeps decoded: a small model's weights (the built-in model's are 3.2M
// parameters, 12.8 MB as float32) are decoded once instead of once per
// matmul call and row group, where decoding took a tenth of a forward
// pass; a large model's are not, so its memory stays the stored format's.
var decodedMax = 1 << 20 // a variable so tests can run the panel path on small weights

// decoded returns the weight decoded to float32 when it is small enough
// to keep so, else nil, and whether it is packed for the broadcast
// kernels (bcastRows) rather than row-major. The values are decodeRow's.
func (w *wtensor) decoded() ([]float32, bool) {
	if w.rows*w.cols > decodedMax {
		return nil, false
	}
	w.decOnce.Do(func() {
		dec := make([]float32, w.rows*w.cols)
		for r := range w.rows {
			w.decodeRow(dec[r*w.cols:(r+1)*w.cols], r, 0, w.cols)
		}
		if bcastWeight(w.rows, w.cols) {
			dec, w.packed = packPanels16(dec, w.rows, w.cols), true
		}
		w.dec = dec
	})
	return w.dec, w.packed
}

func (t *wtensor) Rows() int { return t.rows }
func (t *wtensor) Cols() int { return t.cols }

// UploadWeight implements backend.WeightUploader. Data is used in place,
// not copied (the caller keeps it alive); f32 weights are copied into a
// float32 tensor.
func (b *Backend) UploadWeight(data []byte, f backend.WeightFormat, rows, cols int) (backend.Tensor, error) {
	rb, ok := f.RowBytes(cols)
	if !ok || rows < 0 || len(data) != rows*rb {
		return nil, backend.ShapeError("upload weight", "%d bytes for [%d,%d] in format %q", len(data), rows, cols, f)
	}
	if f == backend.WeightF32 {
		v, err := quant.Decode(f, data, rows, cols)
		if err != nil {
			return nil, backend.ShapeError("upload weight", "%v", err)
		}
		return &tensor{rows: rows, cols: cols, data: v}, nil
	}
	bv, bb, _ := f.Block()
	return &wtensor{rows: rows, cols: cols, format: f, raw: data, rowBytes: rb, blockVals: bv, blockBytes: bb}, nil
}

// UploadDisposableWeight implements backend.DisposableUploader: on the AMX
// tiles (SetBF16Matmul before loading), a bf16 or q8_0 weight's data is
// handed back to the kernel once the tiles hold it (the first AMX matmul
// with it), so a weight converted at load is resident once, not twice.
// Anywhere else it is UploadWeight.
func (b *Backend) UploadDisposableWeight(data []byte, f backend.WeightFormat, rows, cols int) (backend.Tensor, error) {
	t, err := b.UploadWeight(data, f, rows, cols)
	if w, ok := t.(*wtensor); ok && err == nil && b.bf16 && amxUsable(w) && (f == backend.WeightBF16 || f == backend.WeightQ8_0) {
		w.disposable = true
	}
	return t, err
}

// WeightFormat reports the format a tensor of this backend is kept in.
func WeightFormat(t backend.Tensor) backend.WeightFormat {
	if w, ok := t.(*wtensor); ok {
		return w.format
	}
	return backend.WeightF32
}

// decodeRow writes row r's values [k0, k1) of w into dst (k1−k0 values;
// for q8_0 k0 and k1 are multiples of 32). It uses the SIMD decoders when
// the CPU has them; decodeRowGo is the reference.
func (w *wtensor) decodeRow(dst []float32, r, k0, k1 int) {
	if k1 <= k0 {
		return
	}
	if !w.disposable {
		w.decodeRowFrom(dst, w.raw[r*w.rowBytes:(r+1)*w.rowBytes], k0, k1)
		return
	}
	w.withRow(r, func(row []byte) { w.decodeRowFrom(dst, row, k0, k1) })
}

// withRow calls fn with row r's stored bytes: raw's, or rebuilt from the
// tiles once raw is dropped.
func (w *wtensor) withRow(r int, fn func(row []byte)) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if !w.dropped {
		fn(w.raw[r*w.rowBytes : (r+1)*w.rowBytes])
		return
	}
	p := rowPool.Get().(*[]byte)
	defer rowPool.Put(p)
	if cap(*p) < w.rowBytes {
		*p = make([]byte, w.rowBytes)
	}
	row := (*p)[:w.rowBytes]
	unpackAMXRow(row, w.amx, r, w.cols, w.format)
	fn(row)
}

// rowPool holds rows rebuilt from the tiles for withRow.
var rowPool = sync.Pool{New: func() any { return new([]byte) }}

// decodeRowFrom is decodeRow from row's stored bytes.
func (w *wtensor) decodeRowFrom(dst []float32, row []byte, k0, k1 int) {
	n := k1 - k0
	switch w.format {
	case backend.WeightBF16:
		src := row[2*k0 : 2*k1]
		m := 0
		if haveAVX512 {
			if m = n &^ 15; m > 0 {
				decodeBF16Z(&dst[0], &src[0], m)
			}
		}
		if haveVecOps && n&^7 > m {
			decodeBF16(&dst[m], &src[2*m], n&^7-m)
			m = n &^ 7
		}
		weights.DecodeFloat32(weights.BF16, src[2*m:], dst[m:n])
	case backend.WeightF16:
		src := row[2*k0 : 2*k1]
		m := 0
		if haveF16C {
			m = n &^ 7
			if m > 0 {
				decodeF16(&dst[0], &src[0], m)
			}
		}
		weights.DecodeFloat32(weights.F16, src[2*m:], dst[m:n])
	case backend.WeightQ8_0:
		src := row[k0/backend.Q8BlockSize*backend.Q8BlockBytes : k1/backend.Q8BlockSize*backend.Q8BlockBytes]
		if haveAVX512 && haveF16C {
			decodeQ8Z(&dst[0], &src[0], n/backend.Q8BlockSize)
			return
		}
		if haveF16C {
			decodeQ8(&dst[0], &src[0], n/backend.Q8BlockSize)
			return
		}
		quant.DequantizeQ8_0(dst[:n], src)
	default:
		w.decodeRowK(dst[:n], row, k0, k1) // weights_kquant.go
	}
}

// decodeRowGo is decodeRow in pure Go (the reference for the SIMD
// decoders).
func (w *wtensor) decodeRowGo(dst []float32, r, k0, k1 int) {
	w.withRow(r, func(row []byte) { w.decodeRowGoFrom(dst, row, k0, k1) })
}

func (w *wtensor) decodeRowGoFrom(dst []float32, row []byte, k0, k1 int) {
	switch w.format {
	case backend.WeightBF16:
		for i := range k1 - k0 {
			dst[i] = weights.BF16ToFloat32(binary.LittleEndian.Uint16(row[2*(k0+i):]))
		}
	case backend.WeightF16:
		for i := range k1 - k0 {
			dst[i] = weights.F16ToFloat32(binary.LittleEndian.Uint16(row[2*(k0+i):]))
		}
	case backend.WeightQ8_0:
		quant.DequantizeQ8_0(dst[:k1-k0], row[k0/backend.Q8BlockSize*backend.Q8BlockBytes:k1/backend.Q8BlockSize*backend.Q8BlockBytes])
	default:
		if !quant.DequantizeRange(dst, w.format, row, k0, k1) {
			panic("cpu: decodeRowGo: weight format " + string(w.format) + " has no decoder")
		}
	}
}

// maxRowGroup is the most x rows one task runs over each decoded weight
// panel: the decoding cost is spread over up to this many rows. 512 rows
// of a 1024-wide K slice are 2 MiB of x, still streamed from L2/L3 once
// per panel, while every row group decodes the whole weight again (at 256,
// a 320-token canvas decoded every weight twice per pass).
const maxRowGroup = 8 * blockT

// smallWeight is the size (stored bytes) up to which a weight is cut
// into more row groups: re-decoding it per group is cheap and it stays
// in cache, while few large tasks leave one of two threads idle at the
// end of each matmul (the built-in model's projections are 3 column
// blocks wide; docs/BENCHMARKS.md, issue 12).
const smallWeight = 1 << 20

// rowGroups splits T rows into groups of whole blockT blocks, as few as
// give tasks ≥ tasks per thread on tilesN column blocks (each group
// decodes the weight once more), and returns the group size in rows.
func rowGroups(T, tilesN, threads, tasks int) int {
	blocks := (T + blockT - 1) / blockT
	groups := (T + maxRowGroup - 1) / maxRowGroup
	for groups < blocks && groups*tilesN < tasks*threads {
		groups++
	}
	return (blocks + groups - 1) / groups * blockT
}

// panelPool holds blockN×blockK float32 panels, one per running task.
var panelPool = sync.Pool{New: func() any { s := make([]float32, blockN*blockK); return &s }}

// matmulW is MatMul with a stored-format weight: out[T,N] = x[T,K]·wᵀ
// (+ bias). Tasks are (column block, row group) tiles; each decodes its
// weight panel one K slice at a time and runs the same tile kernels, on
// the same blocking, as the float32 matmul, so the sums are identical.
func (b *Backend) matmulW(out, x []float32, w *wtensor, bias []float32, T, K, N int) {
	if T == 0 {
		return
	}
	tilesN := (N + blockN - 1) / blockN
	tasks := 2
	if N*w.rowBytes <= smallWeight {
		tasks = 8
	}
	rowGroup := rowGroups(T, tilesN, b.threads, tasks)
	groups := (T + rowGroup - 1) / rowGroup
	slices := (K + blockK - 1) / blockK
	if dec, packed := w.decoded(); dec != nil {
		// The same tasks over the decoded weight instead of decoded panels.
		b.parallelTasksAhead(groups*tilesN, func(task, _ int) {
			g0, g1, n0, n1 := taskTile(task, groups, rowGroup, T, N)
			if !packed {
				initOut(out, bias, N, g0, g1, n0, n1)
			}
			for k0 := 0; k0 < K; k0 += blockK {
				kw := min(k0+blockK, K) - k0
				for t0 := g0; t0 < g1; t0 += blockT {
					if packed {
						// The first K slice stores its sums (no clearing
						// pass), as the float32 matmul's broadcast path.
						bcastRows(out, N, x, K, dec, K, t0, min(t0+blockT, g1), n0, n1, k0, kw, k0 > 0)
						continue
					}
					a := operands{out: out, ldo: N, x: x, ldx: K, xk: k0, w: dec, ldw: K, wk: k0, kw: kw}
					a.tile(t0, min(t0+blockT, g1), n0, n1)
				}
			}
			if packed {
				addBias(out, bias, N, g0, g1, n0, n1)
			}
		})
		return
	}
	b.parallelTasksAhead(groups*tilesN, func(task, next int) {
		g0, g1, n0, n1 := taskTile(task, groups, rowGroup, T, N)
		initOut(out, bias, N, g0, g1, n0, n1)
		var pf *prefetcher
		if next >= 0 && K > 0 && !w.disposable { // a disposable raw may be gone
			// The next task's weight rows are contiguous bytes; spread
			// their lines over this task's register blocks.
			m0 := (next / groups) * blockN
			m1 := min(m0+blockN, N)
			lines := ((m1-m0)*w.rowBytes + 63) / 64
			blocks := slices * ((g1 - g0 + 7) / 8) * max(1, (n1-n0)/2)
			pf = &prefetcher{addr: uintptr(unsafe.Pointer(&w.raw[m0*w.rowBytes])), left: lines, per: max(1, (lines+blocks-1)/blocks)}
		}
		pp := panelPool.Get().(*[]float32)
		panel := *pp
		for k0 := 0; k0 < K; k0 += blockK {
			k1 := min(k0+blockK, K)
			kw := k1 - k0
			for j := n0; j < n1; j++ {
				w.decodeRow(panel[(j-n0)*kw:(j-n0+1)*kw], j, k0, k1)
			}
			for t0 := g0; t0 < g1; t0 += blockT {
				panelMatMul(out, x, panel, K, N, kw, t0, min(t0+blockT, g1), n0, n1, k0, pf)
			}
		}
		panelPool.Put(pp)
	})
}

// panelMatMul adds x[t0:t1, k0:k0+kw]·panelᵀ into out[t0:t1, n0:n1], where
// panel row j−n0 holds weight row j's values k0..k0+kw. It is tileMatMul
// with the weight rows taken from the panel.
func panelMatMul(out, x, panel []float32, K, N, kw, t0, t1, n0, n1, k0 int, pf *prefetcher) {
	// tileMatMul indexes w[j*K'+k0' : j*K'+k1']; with K' = kw, k0' = 0 and
	// the panel shifted by n0 rows it reads exactly the panel. x keeps its
	// own stride, so the kernels take both strides.
	a := operands{out: out, ldo: N, x: x, ldx: K, xk: k0, w: panel, ldw: kw, wrow: n0, wk: 0, kw: kw, pf: pf}
	a.tile(t0, t1, n0, n1)
}

// embedW gathers rows of a stored-format table into out (float32).
func embedW(out []float32, w *wtensor, ids []int) {
	d := w.cols
	for i, id := range ids {
		w.decodeRow(out[i*d:(i+1)*d], id, 0, d)
	}
}

// checkWeight validates w for use as a matmul operand.
func checkWeight(op string, t backend.Tensor) (*wtensor, bool, error) {
	w, ok := t.(*wtensor)
	if !ok {
		return nil, false, nil
	}
	if w == nil || (w.raw == nil && w.rows*w.cols != 0) {
		return nil, true, fmt.Errorf("%w: %s: weight tensor used after Free", backend.ErrShape, op)
	}
	return w, true, nil
}
