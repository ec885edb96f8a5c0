package cuda

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/dream-lsp/dream-lsp/runtime/backend"
	"github.com/dream-lsp/dream-lsp/runtime/backend/cuda/internal/cu"
	"github.com/dream-lsp/dream-lsp/runtime/backend/cuda/internal/cublaslt"
)

// tensor is a float32 matrix in device memory.
type tensor struct {
	b          *Backend
	rows, cols int
	ptr        cu.DevicePtr
}

func (t *tensor) Rows() int { return t.rows }
func (t *tensor) Cols() int { return t.cols }

// DevicePtr returns the device address (for native.Kernel.Pack).
func (t *tensor) DevicePtr() uint64 { return uint64(t.ptr) }

func (t *tensor) bytes() uint64 { return uint64(t.rows) * uint64(t.cols) * 4 }

// devBuf is a growable device buffer for small host arrays (ids,
// positions, masks).
type devBuf struct {
	ptr cu.DevicePtr
	cap uint64
}

// own checks that t is a live tensor of this backend.
func (b *Backend) own(op string, ts ...backend.Tensor) ([]*tensor, error) {
	out := make([]*tensor, len(ts))
	for i, t := range ts {
		if t == nil {
			continue
		}
		ct, ok := t.(*tensor)
		if !ok || ct.b != b {
			return nil, backend.ShapeError(op, "argument %d is not a tensor of this CUDA backend", i)
		}
		if _, live := b.live[ct.ptr]; !live && ct.bytes() > 0 {
			return nil, backend.ShapeError(op, "argument %d was freed", i)
		}
		out[i] = ct
	}
	return out, nil
}

func (b *Backend) allocLocked(rows, cols int) (*tensor, error) {
	if rows < 0 || cols < 0 {
		return nil, backend.ShapeError("alloc", "[%d,%d]", rows, cols)
	}
	t := &tensor{b: b, rows: rows, cols: cols}
	n := t.bytes()
	if n == 0 {
		return t, nil
	}
	p, err := b.drv.MemAlloc(n)
	if err != nil {
		return nil, fmt.Errorf("cuda: allocate [%d,%d] float32: %w", rows, cols, err)
	}
	t.ptr = p
	b.live[p] = n
	return t, nil
}

// Upload implements backend.Backend.
func (b *Backend) Upload(data []float32, rows, cols int) (backend.Tensor, error) {
	if rows < 0 || cols < 0 || len(data) != rows*cols {
		return nil, backend.ShapeError("upload", "%d values for [%d,%d]", len(data), rows, cols)
	}
	leave, err := b.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	t, err := b.allocLocked(rows, cols)
	if err != nil || len(data) == 0 {
		return t, err
	}
	// Pageable synchronous copy on the legacy stream: ordered after every
	// kernel issued so far and complete in the source before returning.
	if err := b.drv.MemcpyHtoD(t.ptr, f32bytes(data)); err != nil {
		b.freeLocked(t)
		return nil, fmt.Errorf("cuda: upload [%d,%d]: %w", rows, cols, err)
	}
	return t, nil
}

// Alloc implements backend.Backend.
func (b *Backend) Alloc(rows, cols int) (backend.Tensor, error) {
	leave, err := b.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	t, err := b.allocLocked(rows, cols)
	if err != nil || t.bytes() == 0 {
		return t, err
	}
	if err := b.drv.MemsetD8Async(t.ptr, 0, t.bytes(), b.strm); err != nil {
		b.freeLocked(t)
		return nil, fmt.Errorf("cuda: zero [%d,%d]: %w", rows, cols, err)
	}
	return t, nil
}

func (b *Backend) freeLocked(t *tensor) {
	if t.ptr == 0 {
		return
	}
	if _, ok := b.live[t.ptr]; !ok {
		b.log.Error("cuda: double free of a tensor", "rows", t.rows, "cols", t.cols)
		return
	}
	delete(b.live, t.ptr)
	if err := b.drv.MemFree(t.ptr); err != nil {
		b.log.Warn("cuda: free failed", "err", err)
	}
	t.ptr = 0
}

// Free implements backend.Backend.
func (b *Backend) Free(t backend.Tensor) {
	ct, ok := t.(*tensor)
	if !ok || ct.b != b {
		return
	}
	leave, err := b.enter()
	if err != nil {
		return
	}
	defer leave()
	b.freeLocked(ct)
}

// Read implements backend.Backend.
func (b *Backend) Read(t backend.Tensor, dst []float32) error {
	leave, err := b.enter()
	if err != nil {
		return err
	}
	defer leave()
	ts, err := b.own("read", t)
	if err != nil {
		return err
	}
	ct := ts[0]
	if len(dst) != ct.rows*ct.cols {
		return backend.ShapeError("read", "%d values for [%d,%d]", len(dst), ct.rows, ct.cols)
	}
	if len(dst) == 0 {
		return nil
	}
	if err := b.drv.StreamSynchronize(b.strm); err != nil {
		return fmt.Errorf("cuda: read [%d,%d]: %w", ct.rows, ct.cols, err)
	}
	if err := b.drv.MemcpyDtoH(f32bytes(dst), ct.ptr); err != nil {
		return fmt.Errorf("cuda: read [%d,%d]: %w", ct.rows, ct.cols, err)
	}
	return nil
}

func f32bytes(v []float32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), len(v)*4)
}

func i32bytes(v []int32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), len(v)*4)
}

// uploadInts copies a small host array to the named scratch buffer.
func (b *Backend) uploadInts(name string, v []int32) (cu.DevicePtr, error) {
	if len(v) == 0 {
		return 0, nil
	}
	need := uint64(len(v)) * 4
	s := b.scratch[name]
	if s == nil || s.cap < need {
		if s != nil {
			_ = b.drv.MemFree(s.ptr) // synchronises with earlier users
		}
		c := need
		if c < 4096 {
			c = 4096
		}
		p, err := b.drv.MemAlloc(c)
		if err != nil {
			return 0, fmt.Errorf("cuda: scratch %s: %w", name, err)
		}
		s = &devBuf{ptr: p, cap: c}
		b.scratch[name] = s
	}
	// Synchronous copy: the legacy stream runs it after earlier kernels
	// that may still read this buffer.
	if err := b.drv.MemcpyHtoD(s.ptr, i32bytes(v)); err != nil {
		return 0, fmt.Errorf("cuda: upload %s: %w", name, err)
	}
	return s.ptr, nil
}

func gridFor(n, perBlock int) uint32 {
	g := (n + perBlock - 1) / perBlock
	if g < 1 {
		g = 1
	}
	if g > 1<<20 {
		g = 1 << 20
	}
	return uint32(g)
}

// Embed implements backend.Backend.
func (b *Backend) Embed(out, table backend.Tensor, ids []int) error {
	leave, err := b.enter()
	if err != nil {
		return err
	}
	defer leave()
	ts, err := b.own("embed", out, table)
	if err != nil {
		return err
	}
	o, tb := ts[0], ts[1]
	if o == nil || tb == nil || o.rows != len(ids) || o.cols != tb.cols {
		return backend.ShapeError("embed", "out [%d,%d], table [%d,%d], %d ids", dims(o), dims2(o), dims(tb), dims2(tb), len(ids))
	}
	v := make([]int32, len(ids))
	for i, id := range ids {
		if id < 0 || id >= tb.rows {
			return backend.ShapeError("embed", "id %d at %d outside [0,%d)", id, i, tb.rows)
		}
		v[i] = int32(id)
	}
	if len(ids) == 0 {
		return nil
	}
	p, err := b.uploadInts("ids", v)
	if err != nil {
		return err
	}
	return b.launch("embed_gather_f32", [3]uint32{uint32(len(ids))}, 0, o, tb, uint64(p), len(ids), tb.cols, tb.rows)
}

func dims(t *tensor) int {
	if t == nil {
		return -1
	}
	return t.rows
}

func dims2(t *tensor) int {
	if t == nil {
		return -1
	}
	return t.cols
}

// GatherRows implements backend.Backend.
func (b *Backend) GatherRows(out, x backend.Tensor, rows []int) error {
	leave, err := b.enter()
	if err != nil {
		return err
	}
	defer leave()
	ts, err := b.own("gather_rows", out, x)
	if err != nil {
		return err
	}
	o, xt := ts[0], ts[1]
	if o == nil || xt == nil || o.rows != len(rows) || o.cols != xt.cols {
		return backend.ShapeError("gather_rows", "out [%d,%d], x [%d,%d], %d rows", dims(o), dims2(o), dims(xt), dims2(xt), len(rows))
	}
	v := make([]int32, len(rows))
	for i, r := range rows {
		if r < 0 || r >= xt.rows {
			return backend.ShapeError("gather_rows", "row %d at %d outside [0,%d)", r, i, xt.rows)
		}
		v[i] = int32(r)
	}
	if len(rows) == 0 {
		return nil
	}
	p, err := b.uploadInts("rows", v)
	if err != nil {
		return err
	}
	return b.launch("gather_rows_f32", [3]uint32{uint32(len(rows))}, 0, o, xt, uint64(p), len(rows), xt.cols, xt.rows, 0)
}

// MatMul implements backend.Backend through cuBLASLt (fp32, no TF32).
func (b *Backend) MatMul(out, x, w, bias backend.Tensor) error {
	leave, err := b.enter()
	if err != nil {
		return err
	}
	defer leave()
	ts, err := b.own("matmul", out, x, w, bias)
	if err != nil {
		return err
	}
	o, xt, wt, bt := ts[0], ts[1], ts[2], ts[3]
	if o == nil || xt == nil || wt == nil {
		return backend.ShapeError("matmul", "nil tensor")
	}
	T, K, N := xt.rows, xt.cols, wt.rows
	if wt.cols != K || o.rows != T || o.cols != N || (bt != nil && (bt.rows != 1 || bt.cols != N)) {
		return backend.ShapeError("matmul", "x [%d,%d], w [%d,%d], out [%d,%d]", T, K, wt.rows, wt.cols, o.rows, o.cols)
	}
	if o.ptr == xt.ptr && o.ptr != 0 {
		return backend.ShapeError("matmul", "out aliases x")
	}
	if T == 0 || N == 0 {
		return nil
	}
	var biasPtr uint64
	if bt != nil {
		biasPtr = uint64(bt.ptr)
	}
	simple := func() error {
		return b.launch("gemm_f32_simple", [3]uint32{uint32((N + 15) / 16), uint32((T + 15) / 16)}, 0,
			o, xt, wt, biasPtr, T, N, K)
	}
	if K == 0 {
		return simple() // cuBLASLt rejects K = 0; the product is the bias (or zero)
	}
	shape := cublaslt.GEMMShape{M: T, N: N, K: K, XType: cublaslt.R32F, YType: cublaslt.R32F, Bias: bt != nil, Workspace: int(b.wsLen)}
	plan, ok := b.plans[shape]
	if !ok {
		if plan, err = b.lt.NewPlan(shape); err != nil {
			// No cuBLASLt algorithm for this shape: the simple kernel.
			b.log.Debug("cuda: GEMM without cuBLASLt", "m", T, "n", N, "k", K, "err", err)
			b.plans[shape] = nil
			return simple()
		}
		b.plans[shape] = plan
	}
	if plan == nil {
		return simple()
	}
	if err := plan.Run(uint64(o.ptr), uint64(xt.ptr), uint64(wt.ptr), biasPtr, uint64(b.ws), b.wsLen, uintptr(b.strm)); err != nil {
		return fmt.Errorf("cuda: GEMM [%d,%d]x[%d,%d]ᵀ: %w", T, K, N, K, err)
	}
	return nil
}

// RMSNorm implements backend.Backend.
func (b *Backend) RMSNorm(out, x, weight backend.Tensor, eps float32) error {
	leave, err := b.enter()
	if err != nil {
		return err
	}
	defer leave()
	ts, err := b.own("rmsnorm", out, x, weight)
	if err != nil {
		return err
	}
	o, xt, wt := ts[0], ts[1], ts[2]
	if o == nil || xt == nil || wt == nil || o.rows != xt.rows || o.cols != xt.cols || wt.rows != 1 || wt.cols != xt.cols {
		return backend.ShapeError("rmsnorm", "out [%d,%d], x [%d,%d], weight [%d,%d]", dims(o), dims2(o), dims(xt), dims2(xt), dims(wt), dims2(wt))
	}
	if xt.rows == 0 || xt.cols == 0 {
		return nil
	}
	return b.launch("add_rmsnorm_f32", [3]uint32{uint32(xt.rows)}, 0, xt, 0, wt, o, xt.rows, xt.cols, eps)
}

// RoPE implements backend.Backend.
func (b *Backend) RoPE(x backend.Tensor, heads, headDim int, positions []int, theta float64) error {
	leave, err := b.enter()
	if err != nil {
		return err
	}
	defer leave()
	ts, err := b.own("rope", x)
	if err != nil {
		return err
	}
	xt := ts[0]
	if xt == nil || headDim <= 0 || headDim%2 != 0 || heads <= 0 || xt.cols != heads*headDim || len(positions) != xt.rows || !(theta > 0) || theta > math.MaxFloat32 {
		return backend.ShapeError("rope", "x [%d,%d], %d heads × %d, %d positions, theta %g", dims(xt), dims2(xt), heads, headDim, len(positions), theta)
	}
	if xt.rows == 0 {
		return nil
	}
	v := make([]int32, len(positions))
	for i, p := range positions {
		if p < 0 || p > 1<<24 {
			return backend.ShapeError("rope", "position %d at %d outside [0,2^24]", p, i)
		}
		v[i] = int32(p)
	}
	p, err := b.uploadInts("positions", v)
	if err != nil {
		return err
	}
	return b.launch("rope_inplace_f32", [3]uint32{uint32(xt.rows)}, 0, xt, uint64(p), xt.rows, heads, headDim, float32(theta))
}

// attnSplits chooses how many key splits a call uses so that at least
// about two blocks run per SM.
func (b *Backend) attnSplits(blocks, keyTiles int) int {
	target := 2 * b.info.SMs
	if target < 1 {
		target = 1
	}
	s := 1
	for blocks*s < target && s*2 <= keyTiles && s < 16 {
		s *= 2
	}
	return s
}

// Attention implements backend.Backend.
func (b *Backend) Attention(out, q, k, v backend.Tensor, p backend.AttentionParams) error {
	leave, err := b.enter()
	if err != nil {
		return err
	}
	defer leave()
	ts, err := b.own("attention", out, q, k, v)
	if err != nil {
		return err
	}
	o, qt, kt, vt := ts[0], ts[1], ts[2], ts[3]
	if o == nil || qt == nil || kt == nil || vt == nil {
		return backend.ShapeError("attention", "nil tensor")
	}
	lens, err := backend.CheckAttention(o, qt, kt, vt, p)
	if err != nil {
		return err
	}
	H, KVH, hd := p.Heads, p.KVHeads, p.HeadDim
	T := qt.rows
	if hd%4 != 0 || hd > 128 {
		return backend.ShapeError("attention", "head dim %d: the CUDA kernel needs a multiple of 4 up to 128", hd)
	}
	G := H / KVH
	if G > 32 {
		return backend.ShapeError("attention", "%d query heads per K/V head: the CUDA kernel supports up to 32", G)
	}
	if T == 0 {
		return nil
	}
	var valid cu.DevicePtr
	if p.Valid != nil {
		vv := make([]int32, T)
		for i, ok := range p.Valid {
			if ok {
				vv[i] = 1
			}
		}
		if valid, err = b.uploadInts("valid", vv); err != nil {
			return err
		}
	}
	qtok := 32 / G
	scaleLog2 := float32(math.Log2E / math.Sqrt(float64(hd)))
	t0 := 0
	for _, n := range lens {
		if n == 0 {
			continue
		}
		qoff := uint64(t0 * H * hd * 4)
		kvoff := uint64(t0 * KVH * hd * 4)
		var vptr uint64
		if valid != 0 {
			vptr = uint64(valid) + uint64(t0*4)
		}
		blocks := (n + qtok - 1) / qtok
		keyTiles := (n + 31) / 32
		splits := b.attnSplits(blocks*KVH, keyTiles)
		tilesPer := (keyTiles + splits - 1) / splits
		var partO, partML cu.DevicePtr
		if splits > 1 {
			if partO, partML, err = b.attnPartials(splits, n, H, hd); err != nil {
				return err
			}
		}
		if err := b.launch("attention_f32", [3]uint32{uint32(blocks), uint32(KVH), uint32(splits)}, 0,
			uint64(qt.ptr)+qoff, uint64(kt.ptr)+kvoff, uint64(vt.ptr)+kvoff, vptr, vptr, uint64(o.ptr)+qoff,
			uint64(partO), uint64(partML), n, n, H, KVH, hd, qtok, scaleLog2, tilesPer); err != nil {
			return err
		}
		if splits > 1 {
			if err := b.launch("attn_combine_f32", [3]uint32{uint32(n * H)}, 0,
				uint64(partO), uint64(partML), uint64(o.ptr)+qoff, n, H, hd, splits); err != nil {
				return err
			}
		}
		t0 += n
	}
	return nil
}

// attnPartials returns scratch for split attention partial results.
func (b *Backend) attnPartials(splits, n, H, hd int) (cu.DevicePtr, cu.DevicePtr, error) {
	need := func(name string, bytes uint64) (cu.DevicePtr, error) {
		s := b.scratch[name]
		if s != nil && s.cap >= bytes {
			return s.ptr, nil
		}
		if s != nil {
			_ = b.drv.MemFree(s.ptr)
		}
		p, err := b.drv.MemAlloc(bytes)
		if err != nil {
			return 0, fmt.Errorf("cuda: attention scratch %s: %w", name, err)
		}
		b.scratch[name] = &devBuf{ptr: p, cap: bytes}
		return p, nil
	}
	po, err := need("attn_o", uint64(splits*n*H*hd)*4)
	if err != nil {
		return 0, 0, err
	}
	pml, err := need("attn_ml", uint64(splits*n*H*2)*4)
	return po, pml, err
}

// SiLUMul implements backend.Backend.
func (b *Backend) SiLUMul(out, gate, up backend.Tensor) error {
	leave, err := b.enter()
	if err != nil {
		return err
	}
	defer leave()
	ts, err := b.own("silu_mul", out, gate, up)
	if err != nil {
		return err
	}
	o, g, u := ts[0], ts[1], ts[2]
	if o == nil || g == nil || u == nil || g.rows != u.rows || g.cols != u.cols || o.rows != g.rows || o.cols != g.cols {
		return backend.ShapeError("silu_mul", "out [%d,%d], gate [%d,%d], up [%d,%d]", dims(o), dims2(o), dims(g), dims2(g), dims(u), dims2(u))
	}
	n := g.rows * g.cols
	if n == 0 {
		return nil
	}
	return b.launch("silu_mul_f32", [3]uint32{min(gridFor(n, 256), uint32(8*max(b.info.SMs, 1)))}, 0, o, g, u, g.rows, g.cols, g.cols)
}

// Add implements backend.Backend.
func (b *Backend) Add(out, a, c backend.Tensor) error {
	leave, err := b.enter()
	if err != nil {
		return err
	}
	defer leave()
	ts, err := b.own("add", out, a, c)
	if err != nil {
		return err
	}
	o, at, ct := ts[0], ts[1], ts[2]
	if o == nil || at == nil || ct == nil || at.rows != ct.rows || at.cols != ct.cols || o.rows != at.rows || o.cols != at.cols {
		return backend.ShapeError("add", "out [%d,%d], a [%d,%d], b [%d,%d]", dims(o), dims2(o), dims(at), dims2(at), dims(ct), dims2(ct))
	}
	n := at.rows * at.cols
	if n == 0 {
		return nil
	}
	return b.launch("add_f32", [3]uint32{min(gridFor(n, 256), uint32(8*max(b.info.SMs, 1)))}, 0, o, at, ct, int64(n))
}

// Interface check.
var _ backend.Backend = (*Backend)(nil)
