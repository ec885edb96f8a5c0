package cuda

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"
	"unsafe"

	"github.com/dream-lsp/dream-lsp/runtime/backend/cuda/internal/cu"
	"github.com/dream-lsp/dream-lsp/runtime/backend/cuda/internal/cublaslt"
)

// DreamShape is the architecture of a Dream (Qwen2-style) model.
type DreamShape struct {
	Hidden, Intermediate, Layers, Heads, KVHeads, HeadDim, Vocab int
	Theta, Eps                                                   float32
}

// Dream7B is the shape of Dream-v0-7B (and Dream-Coder, DreamOn).
var Dream7B = DreamShape{Hidden: 3584, Intermediate: 18944, Layers: 28, Heads: 28, KVHeads: 4, HeadDim: 128,
	Vocab: 152064, Theta: 1e6, Eps: 1e-6}

func (s DreamShape) qkvDim() int { return (s.Heads + 2*s.KVHeads) * s.HeadDim }
func (s DreamShape) kvDim() int  { return s.KVHeads * s.HeadDim }

func (s DreamShape) validate() error {
	switch {
	case s.Hidden <= 0 || s.Intermediate <= 0 || s.Layers <= 0 || s.Heads <= 0 || s.KVHeads <= 0 || s.Vocab <= 0:
		return fmt.Errorf("cuda: dream shape %+v: sizes must be positive", s)
	case s.Heads%s.KVHeads != 0 || s.Heads/s.KVHeads > 32:
		return fmt.Errorf("cuda: dream shape: %d heads over %d K/V heads", s.Heads, s.KVHeads)
	case s.HeadDim%4 != 0 || s.HeadDim > 128 || s.Heads*s.HeadDim != s.Hidden:
		return fmt.Errorf("cuda: dream shape: head dim %d × %d heads vs hidden %d", s.HeadDim, s.Heads, s.Hidden)
	}
	return nil
}

// BF16Model is a Dream model held in bf16 on the GPU and run with the fused
// kernels of package native plus cuBLASLt GEMMs (fp32 accumulation): the
// fast path that backend.Backend's float32 operations cannot express
// (fused residual + RMSNorm, bias + RoPE + K/V-cache write, attention of a
// short query block against a long cached context, logits only for the
// wanted rows, sampling on the device, CUDA graphs).
//
// A forward call computes T tokens: their ids and RoPE positions, and
// the K/V-cache rows (slots) their keys and values are written to; every
// query attends to cache rows 0..nk-1 (bidirectional). A full forward over
// a canvas is T = nk = canvas length with slots 0..T-1; a cached step
// (Fast-dLLM's dual cache) recomputes only a block of T tokens whose slots
// are their positions, against the cache of the whole canvas.
type BF16Model struct {
	b      *Backend
	s      DreamShape
	stream cu.Stream

	maxT, ctx, maxRows int

	embed, norm, lm cu.DevicePtr
	layers          []bf16Layer
	kc, vc          []cu.DevicePtr

	x, h, qkv, q, attnOut, o, gu, act, mlp cu.DevicePtr // activations [maxT, *]
	hsel                                   cu.DevicePtr // [maxRows, hidden]
	logits                                 cu.DevicePtr // [maxRows, vocab] fp32
	ids, pos, slots, rows, seedStep        cu.DevicePtr
	tok, stats                             cu.DevicePtr
	picks                                  cu.DevicePtr // [2·maxRows] fp32: LogitsAt's gathered values
	partO, partML                          cu.DevicePtr
	maxSplits                              int
	scores, probs, og                      cu.DevicePtr // GEMM attention: S fp32, P bf16 [hkv, T·G, ctx]; O [hkv, T·G, hd]
	attn                                   AttentionMode
	skinny                                 bool       // projections with <= 64 rows through gemm_skinny_bf16
	prof                                   *opProfile // set by ProfileForward for one eager forward

	stage  []byte // pinned host staging (indices in, tokens and stats out)
	allocs []cu.DevicePtr
	plans  map[cublaslt.GEMMShape]*cublaslt.Plan
	graphs map[graphKey]graphExec
	warm   map[graphKey]bool // shapes run eagerly (planned, kernels loaded): captured without a warm-up run
	events [2]cu.Event
}

// AttentionMode selects how the bf16 path computes attention.
type AttentionMode int

const (
	// AttentionFused is the online-softmax kernel of native/attention.cu
	// (fp32 SIMT math, split over keys): no score matrix in memory.
	AttentionFused AttentionMode = iota
	// AttentionGEMM uses cuBLASLt's tensor cores: S = Q·Kᵀ per K/V head
	// (strided batched, fp32 scores), a softmax kernel writing P in bf16,
	// O = P·V; it materialises S (4·T·heads·nk bytes).
	AttentionGEMM
)

func (a AttentionMode) String() string {
	if a == AttentionGEMM {
		return "gemm"
	}
	return "fused"
}

// DefaultAttention is the mode a new model starts in. The tensor-core path
// won everywhere on an H200 (2026-12-04, Dream 7B shape, 1,024-token
// canvas, bench/gpu/run.sh): full forward 30.0 ms against the fused
// kernel's 63.7, cached 64-token step 6.5 ms against 9.8, four batched
// blocks 10.9 ms against 24.1. Its score and probability buffers are
// allocated either way.
const DefaultAttention = AttentionGEMM

// SetAttention selects the attention implementation for later forwards.
func (m *BF16Model) SetAttention(a AttentionMode) { m.attn = a }

// SetSkinnyGEMM routes the bf16 projections with at most 64 rows (cached
// steps) to native's gemm_skinny_bf16 instead of cuBLASLt.
func (m *BF16Model) SetSkinnyGEMM(on bool) { m.skinny = on }

type bf16Layer struct {
	ln1, ln2, wqkv, bqkv, wo, wgu, wd cu.DevicePtr
}

type graphKey struct {
	T      int
	segs   string
	rows   int
	temp   float32
	attn   AttentionMode
	skinny bool
}

type graphExec struct {
	g cu.Graph
	e cu.GraphExec
}

const stageBytes = 1 << 20

// NewRandomBF16Model allocates a model of shape s with random weights
// generated on the device (uniform, standard deviation 0.02 as in HF's
// initialiser; norm weights near 1), a K/V cache of ctx rows per layer and
// activations for up to maxT tokens and maxRows logits rows.
func (b *Backend) NewRandomBF16Model(s DreamShape, ctx, maxT, maxRows int, seed uint64) (*BF16Model, error) {
	m, err := b.newBF16Model(s, ctx, maxT, maxRows)
	if err != nil {
		return nil, err
	}
	leave, err := b.enter()
	if err != nil {
		m.Close()
		return nil, err
	}
	defer leave()
	a := float32(0.02 * math.Sqrt(3))
	n := uint64(0)
	fill := func(p cu.DevicePtr, count int, scale, offset float32) error {
		n++
		return b.launchOn(m.stream, "fill_uniform_bf16", [3]uint32{gridFor(count, 256*64)}, 0, uint64(p), int64(count), seed*1000003+n, scale, offset)
	}
	H, I := s.Hidden, s.Intermediate
	errs := []error{fill(m.embed, s.Vocab*H, a, 0), fill(m.norm, H, 0.1, 1), fill(m.lm, s.Vocab*H, a, 0)}
	for _, l := range m.layers {
		errs = append(errs, fill(l.ln1, H, 0.1, 1), fill(l.ln2, H, 0.1, 1), fill(l.wqkv, s.qkvDim()*H, a, 0),
			fill(l.bqkv, s.qkvDim(), a, 0), fill(l.wo, H*H, a, 0), fill(l.wgu, 2*I*H, a, 0), fill(l.wd, H*I, a, 0))
	}
	if err := errors.Join(errs...); err != nil {
		m.closeLocked()
		return nil, err
	}
	if err := b.drv.StreamSynchronize(m.stream); err != nil {
		m.closeLocked()
		return nil, fmt.Errorf("cuda: generate random weights: %w", err)
	}
	return m, nil
}

// WeightsFunc returns one tensor of a Dream checkpoint as float32 in its
// stored [out, in] shape; names are Hugging Face's
// (model.layers.N.self_attn.q_proj.weight, ...).
type WeightsFunc func(name string) ([]float32, error)

// NewBF16Model uploads a checkpoint's weights (rounded to bf16), fusing
// q/k/v and gate/up as the kernels expect.
func (b *Backend) NewBF16Model(s DreamShape, ctx, maxT, maxRows int, w WeightsFunc) (*BF16Model, error) {
	m, err := b.newBF16Model(s, ctx, maxT, maxRows)
	if err != nil {
		return nil, err
	}
	leave, err := b.enter()
	if err != nil {
		m.Close()
		return nil, err
	}
	defer leave()
	up := func(dst cu.DevicePtr, names ...string) error {
		var all []uint16
		for _, n := range names {
			v, err := w(n)
			if err != nil {
				return fmt.Errorf("cuda: weight %s: %w", n, err)
			}
			for _, f := range v {
				all = append(all, bf16FromF32(f))
			}
		}
		if len(all) == 0 {
			return nil
		}
		return b.drv.MemcpyHtoD(dst, unsafe.Slice((*byte)(unsafe.Pointer(&all[0])), 2*len(all)))
	}
	errs := []error{up(m.embed, "model.embed_tokens.weight"), up(m.norm, "model.norm.weight"), up(m.lm, "lm_head.weight")}
	for i, l := range m.layers {
		p := fmt.Sprintf("model.layers.%d.", i)
		errs = append(errs,
			up(l.ln1, p+"input_layernorm.weight"), up(l.ln2, p+"post_attention_layernorm.weight"),
			up(l.wqkv, p+"self_attn.q_proj.weight", p+"self_attn.k_proj.weight", p+"self_attn.v_proj.weight"),
			up(l.bqkv, p+"self_attn.q_proj.bias", p+"self_attn.k_proj.bias", p+"self_attn.v_proj.bias"),
			up(l.wo, p+"self_attn.o_proj.weight"),
			up(l.wgu, p+"mlp.gate_proj.weight", p+"mlp.up_proj.weight"),
			up(l.wd, p+"mlp.down_proj.weight"))
	}
	if err := errors.Join(errs...); err != nil {
		m.closeLocked()
		return nil, err
	}
	return m, nil
}

func bf16FromF32(f float32) uint16 {
	u := math.Float32bits(f)
	if u&0x7fffffff > 0x7f800000 {
		return 0x7fc0
	}
	u += 0x7fff + (u>>16)&1
	return uint16(u >> 16)
}

func (b *Backend) newBF16Model(s DreamShape, ctx, maxT, maxRows int) (*BF16Model, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	if ctx <= 0 || maxT <= 0 || maxT > ctx || maxRows <= 0 || maxRows > maxT {
		return nil, fmt.Errorf("cuda: bf16 model: ctx %d, maxT %d, maxRows %d", ctx, maxT, maxRows)
	}
	leave, err := b.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	m := &BF16Model{b: b, s: s, maxT: maxT, ctx: ctx, maxRows: maxRows, attn: DefaultAttention,
		plans: map[cublaslt.GEMMShape]*cublaslt.Plan{}, graphs: map[graphKey]graphExec{}, warm: map[graphKey]bool{}}
	fail := func(err error) (*BF16Model, error) {
		m.closeLocked()
		return nil, err
	}
	if m.stream, err = b.drv.StreamCreate(cu.StreamNonBlocking); err != nil {
		return fail(fmt.Errorf("cuda: create stream: %w", err))
	}
	for i := range m.events {
		if m.events[i], err = b.drv.EventCreate(0); err != nil {
			return fail(fmt.Errorf("cuda: create event: %w", err))
		}
	}
	if m.stage, err = b.drv.MemAllocHost(stageBytes); err != nil {
		return fail(fmt.Errorf("cuda: pinned staging: %w", err))
	}
	alloc := func(dst *cu.DevicePtr, bytes int) {
		if err != nil {
			return
		}
		var p cu.DevicePtr
		if p, err = b.drv.MemAlloc(uint64(bytes)); err == nil {
			*dst = p
			m.allocs = append(m.allocs, p)
		}
	}
	H, I, V := s.Hidden, s.Intermediate, s.Vocab
	alloc(&m.embed, 2*V*H)
	alloc(&m.norm, 2*H)
	alloc(&m.lm, 2*V*H)
	m.layers = make([]bf16Layer, s.Layers)
	m.kc = make([]cu.DevicePtr, s.Layers)
	m.vc = make([]cu.DevicePtr, s.Layers)
	for i := range m.layers {
		l := &m.layers[i]
		alloc(&l.ln1, 2*H)
		alloc(&l.ln2, 2*H)
		alloc(&l.wqkv, 2*s.qkvDim()*H)
		alloc(&l.bqkv, 2*s.qkvDim())
		alloc(&l.wo, 2*H*H)
		alloc(&l.wgu, 2*2*I*H)
		alloc(&l.wd, 2*H*I)
		alloc(&m.kc[i], 2*ctx*s.kvDim())
		alloc(&m.vc[i], 2*ctx*s.kvDim())
	}
	alloc(&m.x, 2*maxT*H)
	alloc(&m.h, 2*maxT*H)
	alloc(&m.qkv, 2*maxT*s.qkvDim())
	alloc(&m.q, 2*maxT*H)
	alloc(&m.attnOut, 2*maxT*H)
	alloc(&m.o, 2*maxT*H)
	alloc(&m.gu, 2*maxT*2*I)
	alloc(&m.act, 2*maxT*I)
	alloc(&m.mlp, 2*maxT*H)
	alloc(&m.hsel, 2*maxRows*H)
	alloc(&m.logits, 4*maxRows*V)
	alloc(&m.ids, 4*maxT)
	alloc(&m.pos, 4*maxT)
	alloc(&m.slots, 4*maxT)
	alloc(&m.rows, 4*maxRows)
	alloc(&m.seedStep, 16)
	alloc(&m.tok, 4*maxRows)
	alloc(&m.stats, 16*maxRows)
	alloc(&m.picks, 4*2*maxRows)
	m.maxSplits = 16
	alloc(&m.partO, 4*m.maxSplits*maxT*s.Heads*s.HeadDim)
	alloc(&m.partML, 4*m.maxSplits*maxT*s.Heads*2)
	alloc(&m.scores, 4*maxT*s.Heads*ctx)
	alloc(&m.probs, 2*maxT*s.Heads*ctx)
	alloc(&m.og, 2*maxT*H)
	if err != nil {
		return fail(fmt.Errorf("cuda: allocate bf16 model (%.1f GiB of weights): %w", float64(s.weightBytes())/(1<<30), err))
	}
	if 16*maxT+4*maxRows+16 > stageBytes/2 || 28*maxRows > stageBytes/2 {
		return fail(fmt.Errorf("cuda: bf16 model: %d tokens do not fit the staging buffer", maxT))
	}
	return m, nil
}

func (s DreamShape) weightBytes() int64 {
	H, I, V := int64(s.Hidden), int64(s.Intermediate), int64(s.Vocab)
	per := int64(s.qkvDim())*H + int64(s.qkvDim()) + H*H + 3*H*I + 2*H
	return 2 * (int64(s.Layers)*per + 2*V*H + H)
}

// Close frees the model's device memory and graphs.
func (m *BF16Model) Close() error {
	leave, err := m.b.enter()
	if err != nil {
		return err
	}
	defer leave()
	return m.closeLocked()
}

func (m *BF16Model) closeLocked() error {
	d := m.b.drv
	if m.stream != 0 {
		_ = d.StreamSynchronize(m.stream)
	}
	m.dropGraphs()
	for _, p := range m.plans {
		p.Destroy()
	}
	m.plans = map[cublaslt.GEMMShape]*cublaslt.Plan{}
	for _, p := range m.allocs {
		_ = d.MemFree(p)
	}
	m.allocs = nil
	if m.stage != nil {
		_ = d.MemFreeHost(m.stage)
		m.stage = nil
	}
	for i, e := range m.events {
		if e != 0 {
			_ = d.EventDestroy(e)
			m.events[i] = 0
		}
	}
	if m.stream != 0 {
		_ = d.StreamDestroy(m.stream)
		m.stream = 0
	}
	return nil
}

// maxGraphs bounds the captured forward graphs a model keeps.
const maxGraphs = 64

// dropGraphs destroys every captured graph (after a synchronize).
func (m *BF16Model) dropGraphs() {
	d := m.b.drv
	for k, g := range m.graphs {
		_ = d.GraphExecDestroy(g.e)
		_ = d.GraphDestroy(g.g)
		delete(m.graphs, k)
	}
}

// gemm runs y[M,N] = x[M,K]·w[N,K]ᵀ in bf16 (fp32 output when f32out).
func (m *BF16Model) gemm(y, x, w cu.DevicePtr, M, N, K int, f32out bool) error {
	if m.useSkinny(M, K, f32out) {
		return m.skinnyGEMM(y, x, w, M, N, K)
	}
	yt := cublaslt.R16BF
	if f32out {
		yt = cublaslt.R32F
	}
	return m.gemmShape(y, x, w, 0, cublaslt.GEMMShape{M: M, N: N, K: K, XType: cublaslt.R16BF, YType: yt})
}

func (m *BF16Model) useSkinny(M, K int, f32out bool) bool {
	return m.skinny && !f32out && skinnyOK(M, K) && m.b.unitErrs["gemm.cu"] == nil
}

// gemmBias is gemm (bf16 out) with a bias of length N added in cuBLASLt's
// fp32 epilogue, so the sum is rounded to bf16 once, as PyTorch's F.linear
// does. Rounding x·W first and adding the bias after (what bias_rope_kv
// did) raised the logits' error against float32 by a fifth at Dream 7B's
// shape: 0.0757 relative, against 0.0618 for PyTorch bf16, and PyTorch
// made to round first gave 0.0763 (H200, 2026-12-04, bench/gpu). It
// reports false when it left the bias out (native's skinny GEMM has no
// epilogue): the caller adds it then.
func (m *BF16Model) gemmBias(y, x, w, bias cu.DevicePtr, M, N, K int) (bool, error) {
	if m.useSkinny(M, K, false) {
		return false, m.skinnyGEMM(y, x, w, M, N, K)
	}
	return true, m.gemmShape(y, x, w, bias, cublaslt.GEMMShape{M: M, N: N, K: K, XType: cublaslt.R16BF, YType: cublaslt.R16BF, Bias: true})
}

func skinnyOK(M, K int) bool { return M >= 1 && M <= 64 && K%16 == 0 }

// skinnyGEMM launches gemm_skinny_bf16: one block per 32 output columns.
func (m *BF16Model) skinnyGEMM(y, x, w cu.DevicePtr, M, N, K int) error {
	return m.b.launchOn(m.stream, "gemm_skinny_bf16", [3]uint32{uint32((N + 31) / 32)}, 0, uint64(y), uint64(x), uint64(w), M, N, K)
}

// gemmShape runs one planned GEMM (plans are cached by shape).
func (m *BF16Model) gemmShape(y, x, w, bias cu.DevicePtr, shape cublaslt.GEMMShape) error {
	shape.Workspace = int(m.b.wsLen)
	p, ok := m.plans[shape]
	if !ok {
		var err error
		if p, err = m.b.lt.NewPlan(shape); err != nil {
			return fmt.Errorf("cuda: plan bf16 GEMM %dx%dx%d (batch %d): %w", shape.M, shape.N, shape.K, shape.Batch, err)
		}
		m.plans[shape] = p
	}
	if err := p.Run(uint64(y), uint64(x), uint64(w), uint64(bias), uint64(m.b.ws), m.b.wsLen, uintptr(m.stream)); err != nil {
		return fmt.Errorf("cuda: bf16 GEMM %dx%dx%d (batch %d): %w", shape.M, shape.N, shape.K, shape.Batch, err)
	}
	return nil
}

// attentionFused is one layer's attention with the online-softmax kernel,
// one launch (plus the split combine) per segment.
func (m *BF16Model) attentionFused(li int, segs []Segment) error {
	s, b := m.s, m.b
	G := s.Heads / s.KVHeads
	qtok := 32 / G
	scaleLog2 := float32(math.Log2E / math.Sqrt(float64(s.HeadDim)))
	kvRow := uint64(2 * s.kvDim())
	tokRow := uint64(2 * s.Hidden)
	off := 0
	for _, sg := range segs {
		blocks := (sg.Tokens + qtok - 1) / qtok
		keyTiles := (sg.NK + 31) / 32
		splits := min(b.attnSplits(blocks*s.KVHeads, keyTiles), m.maxSplits)
		tilesPer := (keyTiles + splits - 1) / splits
		q := uint64(m.q) + uint64(off)*tokRow
		out := uint64(m.attnOut) + uint64(off)*tokRow
		kc := uint64(m.kc[li]) + uint64(sg.KeyBase)*kvRow
		vc := uint64(m.vc[li]) + uint64(sg.KeyBase)*kvRow
		if err := b.launchOn(m.stream, "attention_bf16", [3]uint32{uint32(blocks), uint32(s.KVHeads), uint32(splits)}, 0,
			q, kc, vc, 0, 0, out, uint64(m.partO), uint64(m.partML),
			sg.Tokens, sg.NK, s.Heads, s.KVHeads, s.HeadDim, qtok, scaleLog2, tilesPer); err != nil {
			return err
		}
		if splits > 1 {
			if err := b.launchOn(m.stream, "attn_combine_bf16", [3]uint32{uint32(sg.Tokens * s.Heads)}, 0,
				uint64(m.partO), uint64(m.partML), out, sg.Tokens, s.Heads, s.HeadDim, splits); err != nil {
				return err
			}
		}
		off += sg.Tokens
	}
	return nil
}

// attentionGEMM is one layer's attention on the tensor cores (q grouped
// by K/V head, [hkv, T, G, hd], as bias_rope_kv wrote it with q_layout 1),
// per segment: S = Q·Kᵀ, softmax to P, O = P·V into og [hkv, T, G, hd];
// then one reorder to [T, hidden].
func (m *BF16Model) attentionGEMM(li, T int, segs []Segment) error {
	s, b := m.s, m.b
	G, hd, kvh := s.Heads/s.KVHeads, s.HeadDim, s.KVHeads
	kvRow := uint64(2 * s.kvDim())
	scale := float32(1 / math.Sqrt(float64(hd)))
	off := 0
	for _, sg := range segs {
		rows, nk := sg.Tokens*G, sg.NK
		q := uint64(m.q) + uint64(2*off*G*hd)
		og := uint64(m.og) + uint64(2*off*G*hd)
		kc := cu.DevicePtr(uint64(m.kc[li]) + uint64(sg.KeyBase)*kvRow)
		vc := cu.DevicePtr(uint64(m.vc[li]) + uint64(sg.KeyBase)*kvRow)
		scores := cublaslt.GEMMShape{M: rows, N: nk, K: hd, XType: cublaslt.R16BF, YType: cublaslt.R32F,
			LdW: kvh * hd, Batch: kvh, StrideX: int64(T * G * hd), StrideW: int64(hd), StrideY: int64(rows * nk)}
		if err := m.gemmShape(m.scores, cu.DevicePtr(q), kc, 0, scores); err != nil {
			return err
		}
		if err := b.launchOn(m.stream, "attn_softmax_bf16", [3]uint32{uint32(kvh * rows)}, 0,
			uint64(m.scores), uint64(m.probs), 0, 0, sg.Tokens, G, nk, kvh*rows, scale); err != nil {
			return err
		}
		pv := cublaslt.GEMMShape{M: rows, N: hd, K: nk, XType: cublaslt.R16BF, YType: cublaslt.R16BF, TransW: true,
			LdW: kvh * hd, Batch: kvh, StrideX: int64(rows * nk), StrideW: int64(hd), StrideY: int64(T * G * hd)}
		if err := m.gemmShape(cu.DevicePtr(og), m.probs, vc, 0, pv); err != nil {
			return err
		}
		off += sg.Tokens
	}
	n := T * s.Heads * hd
	return b.launchOn(m.stream, "attn_out_reorder_bf16", [3]uint32{min(gridFor(n, 256), uint32(8*max(b.info.SMs, 1)))}, 0,
		uint64(m.og), uint64(m.attnOut), T, kvh, G, hd)
}

// ForwardArgs is one forward call.
type ForwardArgs struct {
	IDs       []int // T token ids
	Positions []int // T RoPE positions
	Slots     []int // T K/V cache rows to write (nil: 0..T-1)
	NK        int   // keys attended: cache rows 0..NK-1 (0: T)
	Rows      []int // canvas rows (indices into the T tokens) whose shifted logits are wanted: hidden row r-1 (0 for 0) predicts token r
	// Segments batch several canvases in one forward (nil: one canvas of
	// all T tokens attending to cache rows 0..NK-1). Tokens of segment i
	// follow those of segment i-1 and attend only to cache rows
	// [KeyBase, KeyBase+NK) — each canvas has its own region of the cache,
	// addressed by Slots. A wanted row must not be a segment's first token
	// (its shifted logits would read the previous canvas).
	Segments []Segment
	// Sampling on the device: Temperature <= 0 is greedy.
	Temperature float32
	Seed, Step  uint64
}

// Segment is one canvas of a batched forward.
type Segment struct {
	Tokens, KeyBase, NK int
}

// ForwardResult holds the sampled token and statistics of each wanted row.
type ForwardResult struct {
	Tokens []int
	// Stats per row: p(token), p(top1), p(top2), Σ p log p.
	Stats [][4]float32
}

func (m *BF16Model) check(a *ForwardArgs) error {
	T := len(a.IDs)
	if T == 0 || T > m.maxT || len(a.Positions) != T || (a.Slots != nil && len(a.Slots) != T) {
		return fmt.Errorf("cuda: forward: %d ids, %d positions, %d slots (max %d tokens)", T, len(a.Positions), len(a.Slots), m.maxT)
	}
	if a.NK == 0 {
		a.NK = T
	}
	if a.NK < 0 || a.NK > m.ctx {
		return fmt.Errorf("cuda: forward: %d keys, cache holds %d", a.NK, m.ctx)
	}
	if len(a.Rows) == 0 || len(a.Rows) > m.maxRows {
		return fmt.Errorf("cuda: forward: %d logits rows (1..%d)", len(a.Rows), m.maxRows)
	}
	for _, id := range a.IDs {
		if id < 0 || id >= m.s.Vocab {
			return fmt.Errorf("cuda: forward: token id %d outside [0,%d)", id, m.s.Vocab)
		}
	}
	for i := range a.Positions {
		if a.Positions[i] < 0 || a.Positions[i] > 1<<24 {
			return fmt.Errorf("cuda: forward: position %d", a.Positions[i])
		}
		if a.Slots != nil && (a.Slots[i] < 0 || a.Slots[i] >= m.ctx) {
			return fmt.Errorf("cuda: forward: slot %d outside the cache", a.Slots[i])
		}
	}
	for _, r := range a.Rows {
		if r < 0 || r >= T {
			return fmt.Errorf("cuda: forward: logits row %d outside [0,%d)", r, T)
		}
	}
	if a.Segments == nil {
		a.Segments = []Segment{{Tokens: T, NK: a.NK}}
		return nil
	}
	starts := map[int]bool{}
	sum := 0
	for _, sg := range a.Segments {
		if sg.Tokens <= 0 || sg.NK <= 0 || sg.KeyBase < 0 || sg.KeyBase+sg.NK > m.ctx {
			return fmt.Errorf("cuda: forward: segment %+v (cache of %d rows)", sg, m.ctx)
		}
		starts[sum] = true
		sum += sg.Tokens
	}
	if sum != T {
		return fmt.Errorf("cuda: forward: segments hold %d tokens, want %d", sum, T)
	}
	for _, r := range a.Rows {
		if starts[r] && r != 0 {
			return fmt.Errorf("cuda: forward: logits row %d is the first token of a segment", r)
		}
	}
	return nil
}

// stageInputs copies the per-call values into device buffers (on the
// model's stream, before the compute, so a captured graph reads them).
func (m *BF16Model) stageInputs(a *ForwardArgs) error {
	T, R := len(a.IDs), len(a.Rows)
	le := binary.LittleEndian
	buf := m.stage
	off := 0
	put := func(vals []int, fallback func(i int) int, n int) []byte {
		start := off
		for i := 0; i < n; i++ {
			v := 0
			if vals != nil {
				v = vals[i]
			} else {
				v = fallback(i)
			}
			le.PutUint32(buf[off:], uint32(int32(v)))
			off += 4
		}
		return buf[start:off]
	}
	ident := func(i int) int { return i }
	ids := put(a.IDs, nil, T)
	pos := put(a.Positions, nil, T)
	slots := put(a.Slots, ident, T)
	rows := put(a.Rows, nil, R)
	ss := buf[off : off+16]
	le.PutUint64(ss, a.Seed)
	le.PutUint64(ss[8:], a.Step)
	d := m.b.drv
	return errors.Join(
		d.MemcpyHtoDAsync(m.ids, ids, m.stream),
		d.MemcpyHtoDAsync(m.pos, pos, m.stream),
		d.MemcpyHtoDAsync(m.slots, slots, m.stream),
		d.MemcpyHtoDAsync(m.rows, rows, m.stream),
		d.MemcpyHtoDAsync(m.seedStep, ss, m.stream))
}

// enqueue issues the whole forward for T tokens, nk keys and R logits rows
// on the model's stream, reading every per-call value from device memory
// (so it can be captured once and replayed).
func (m *BF16Model) enqueue(T int, segs []Segment, R int, temp float32) error {
	s, b := m.s, m.b
	H, I, V := s.Hidden, s.Intermediate, s.Vocab
	st := m.stream
	elemGrid := func(n int) [3]uint32 { return [3]uint32{min(gridFor(n, 256), uint32(8*max(b.info.SMs, 1)))} }
	// bias_rope_kv spreads a token's (head, pair) items one a thread.
	ropeY := uint32(max(1, ((s.Heads+s.KVHeads)*s.HeadDim/2+127)/128))
	qLayout := 0
	if m.attn == AttentionGEMM {
		qLayout = 1 // q grouped by K/V head for the batched GEMMs
	}

	mark := func(op string) error { // ProfileForward's events; nothing otherwise
		if m.prof == nil {
			return nil
		}
		return m.prof.mark(b.drv, st, op)
	}
	if err := mark(""); err != nil {
		return err
	}
	if err := b.launchOn(st, "embed_gather_bf16", [3]uint32{uint32(T)}, 0, uint64(m.x), uint64(m.embed), uint64(m.ids), T, H, V); err != nil {
		return err
	}
	if err := mark("embed"); err != nil {
		return err
	}
	for li, l := range m.layers {
		var res uint64  // the previous layer's MLP output, added into the residual here
		var bias uint64 // the q/k/v bias, when the projection left it to bias_rope_kv
		if li > 0 {
			res = uint64(m.mlp)
		}
		steps := []func() error{
			func() error {
				return b.launchOn(st, "add_rmsnorm_bf16", [3]uint32{uint32(T)}, 0, uint64(m.x), res, uint64(l.ln1), uint64(m.h), T, H, s.Eps)
			},
			func() error {
				in, err := m.gemmBias(m.qkv, m.h, l.wqkv, l.bqkv, T, s.qkvDim(), H)
				if in {
					bias = 0
				} else {
					bias = uint64(l.bqkv)
				}
				return err
			},
			func() error {
				return b.launchOn(st, "bias_rope_kv_bf16", [3]uint32{uint32(T), ropeY}, 0, uint64(m.qkv), bias, uint64(m.pos), uint64(m.slots),
					uint64(m.q), uint64(m.kc[li]), uint64(m.vc[li]), T, s.Heads, s.KVHeads, s.HeadDim, s.Theta, qLayout)
			},
			func() error {
				if m.attn == AttentionGEMM {
					return m.attentionGEMM(li, T, segs)
				}
				return m.attentionFused(li, segs)
			},
			func() error { return m.gemm(m.o, m.attnOut, l.wo, T, H, H, false) },
			func() error {
				return b.launchOn(st, "add_rmsnorm_bf16", [3]uint32{uint32(T)}, 0, uint64(m.x), uint64(m.o), uint64(l.ln2), uint64(m.h), T, H, s.Eps)
			},
			func() error { return m.gemm(m.gu, m.h, l.wgu, T, 2*I, H, false) },
			func() error {
				return b.launchOn(st, "silu_mul_bf16", elemGrid(T*I), 0, uint64(m.act), uint64(m.gu), uint64(m.gu)+uint64(2*I), T, I, 2*I)
			},
			func() error { return m.gemm(m.mlp, m.act, l.wd, T, H, I, false) },
		}
		for i, f := range steps {
			if err := errors.Join(f(), mark(layerOps[i])); err != nil {
				return fmt.Errorf("layer %d: %w", li, err)
			}
		}
	}
	tail := []struct {
		op string
		f  func() error
	}{
		{"final_norm", func() error {
			return b.launchOn(st, "add_rmsnorm_bf16", [3]uint32{uint32(T)}, 0, uint64(m.x), uint64(m.mlp), uint64(m.norm), uint64(m.h), T, H, s.Eps)
		}},
		{"gather", func() error {
			return b.launchOn(st, "gather_rows_bf16", [3]uint32{uint32(R)}, 0, uint64(m.hsel), uint64(m.h), uint64(m.rows), R, H, T, 1)
		}},
		{"lm_head", func() error { return m.gemm(m.logits, m.hsel, m.lm, R, V, H, true) }},
		{"sample", func() error {
			return b.launchOn(st, "sample_rows", [3]uint32{uint32(R)}, 0, uint64(m.logits), R, V, temp, uint64(m.seedStep), uint64(m.tok), uint64(m.stats))
		}},
	}
	for _, t := range tail {
		if err := errors.Join(t.f(), mark(t.op)); err != nil {
			return err
		}
	}
	return nil
}

// layerOps names a layer's steps in enqueue, for ProfileForward.
var layerOps = [...]string{"norm1", "qkv", "bias_rope_kv", "attention", "o", "norm2", "gate_up", "silu_mul", "down"}

// OpTime is one operation's share of a profiled forward: its device time
// summed over the layers.
type OpTime struct {
	Op string  `json:"op"`
	MS float64 `json:"ms"`
}

// opProfile holds the events ProfileForward records after each operation.
type opProfile struct {
	events []cu.Event
	ops    []string
}

func (p *opProfile) mark(d *cu.Driver, st cu.Stream, op string) error {
	e, err := d.EventCreate(0)
	if err != nil {
		return err
	}
	p.events, p.ops = append(p.events, e), append(p.ops, op)
	return d.EventRecord(e, st)
}

// ProfileForward runs one eager forward with a CUDA event after every
// operation and returns each operation's device time summed over the
// layers, in the forward's order. The events serialise nothing the
// stream does not already, but each costs a little: the sum exceeds a
// plain forward's time by a few percent. Like the other calls on m, not
// for concurrent use.
func (m *BF16Model) ProfileForward(a ForwardArgs) ([]OpTime, error) {
	p := &opProfile{}
	m.prof = p
	_, ferr := m.Forward(a, false)
	m.prof = nil
	leave, err := m.b.enter() // the events are read in the backend's context
	if err != nil {
		return nil, err
	}
	defer leave()
	d := m.b.drv
	defer func() {
		for _, e := range p.events {
			_ = d.EventDestroy(e)
		}
	}()
	if ferr != nil {
		return nil, ferr
	}
	if len(p.events) > 0 {
		if err := d.EventSynchronize(p.events[len(p.events)-1]); err != nil {
			return nil, err
		}
	}
	var out []OpTime
	at := map[string]int{}
	for i := 1; i < len(p.events); i++ {
		ms, err := d.EventElapsedTime(p.events[i-1], p.events[i])
		if err != nil {
			return nil, err
		}
		j, ok := at[p.ops[i]]
		if !ok {
			j = len(out)
			at[p.ops[i]] = j
			out = append(out, OpTime{Op: p.ops[i]})
		}
		out[j].MS += float64(ms)
	}
	return out, nil
}

// Forward runs one forward pass eagerly (graph false) or through a CUDA
// graph captured on first use for this (T, nk, rows, temperature) shape,
// and returns the sampled token and statistics of each wanted row.
func (m *BF16Model) Forward(a ForwardArgs, graph bool) (*ForwardResult, error) {
	if err := m.check(&a); err != nil {
		return nil, err
	}
	leave, err := m.b.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	if err := m.stageInputs(&a); err != nil {
		return nil, fmt.Errorf("cuda: forward inputs: %w", err)
	}
	if err := m.run(len(a.IDs), a.Segments, len(a.Rows), a.Temperature, graph); err != nil {
		return nil, err
	}
	return m.results(len(a.Rows))
}

func (m *BF16Model) run(T int, segs []Segment, R int, temp float32, graph bool) error {
	key := graphKey{T, fmt.Sprint(segs), R, temp, m.attn, m.skinny}
	if !graph || !m.b.drv.HasGraphs() {
		if err := m.enqueue(T, segs, R, temp); err != nil {
			return fmt.Errorf("cuda: forward: %w", err)
		}
		if len(m.warm) >= 4096 {
			clear(m.warm)
		}
		m.warm[key] = true
		return nil
	}
	g, ok := m.graphs[key]
	if !ok {
		d := m.b.drv
		if len(m.graphs) >= maxGraphs {
			// A server sees ever new canvas shapes: start over rather
			// than keep every graph (each holds the launch tree).
			m.dropGraphs()
		}
		// One eager run first, unless this shape ran eagerly before:
		// libraries load kernels and plan lazily, which a stream capture
		// does not allow.
		if !m.warm[key] {
			if err := m.enqueue(T, segs, R, temp); err != nil {
				return fmt.Errorf("cuda: forward: %w", err)
			}
		}
		if err := d.StreamSynchronize(m.stream); err != nil {
			return fmt.Errorf("cuda: forward: %w", err)
		}
		if err := d.StreamBeginCapture(m.stream, cu.CaptureModeThreadLocal); err != nil {
			return fmt.Errorf("cuda: begin capture: %w", err)
		}
		eerr := m.enqueue(T, segs, R, temp)
		graph, cerr := d.StreamEndCapture(m.stream)
		if eerr != nil || cerr != nil {
			if graph != 0 {
				_ = d.GraphDestroy(graph)
			}
			return fmt.Errorf("cuda: capture forward: %w", errors.Join(eerr, cerr))
		}
		exec, err := d.GraphInstantiate(graph)
		if err != nil {
			_ = d.GraphDestroy(graph)
			return fmt.Errorf("cuda: instantiate forward graph: %w", err)
		}
		g = graphExec{graph, exec}
		m.graphs[key] = g
	}
	if err := m.b.drv.GraphLaunch(g.e, m.stream); err != nil {
		return fmt.Errorf("cuda: launch forward graph: %w", err)
	}
	return nil
}

func (m *BF16Model) results(R int) (*ForwardResult, error) {
	d := m.b.drv
	half := stageBytes / 2
	tok := m.stage[half : half+4*R]
	stats := m.stage[half+4*R : half+4*R+16*R]
	if err := errors.Join(d.MemcpyDtoHAsync(tok, m.tok, m.stream), d.MemcpyDtoHAsync(stats, m.stats, m.stream)); err != nil {
		return nil, fmt.Errorf("cuda: forward results: %w", err)
	}
	if err := d.StreamSynchronize(m.stream); err != nil {
		return nil, fmt.Errorf("cuda: forward: %w", err)
	}
	le := binary.LittleEndian
	r := &ForwardResult{Tokens: make([]int, R), Stats: make([][4]float32, R)}
	for i := range R {
		r.Tokens[i] = int(int32(le.Uint32(tok[4*i:])))
		for j := range 4 {
			r.Stats[i][j] = math.Float32frombits(le.Uint32(stats[16*i+4*j:]))
		}
	}
	return r, nil
}

// Logits copies the fp32 logits of the last forward's rows.
func (m *BF16Model) Logits(rows int) ([]float32, error) {
	if rows <= 0 || rows > m.maxRows {
		return nil, fmt.Errorf("cuda: logits: %d rows", rows)
	}
	leave, err := m.b.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	if err := m.b.drv.StreamSynchronize(m.stream); err != nil {
		return nil, err
	}
	out := make([]float32, rows*m.s.Vocab)
	if err := m.b.drv.MemcpyDtoH(f32bytes(out), m.logits); err != nil {
		return nil, fmt.Errorf("cuda: read logits: %w", err)
	}
	return out, nil
}

// LogitsAt returns the fp32 logits of the last forward at (rows[i],
// cols[i]): a few values (len ≤ 2·maxRows) gathered on the device, instead
// of rows·vocab of them (Logits).
func (m *BF16Model) LogitsAt(rows, cols []int) ([]float32, error) {
	n := len(rows)
	if n != len(cols) || n > 2*m.maxRows {
		return nil, fmt.Errorf("cuda: logits at: %d rows, %d columns (at most %d)", n, len(cols), 2*m.maxRows)
	}
	if n == 0 {
		return nil, nil
	}
	for i := range rows {
		if rows[i] < 0 || rows[i] >= m.maxRows || cols[i] < 0 || cols[i] >= m.s.Vocab {
			return nil, fmt.Errorf("cuda: logits at (%d, %d): outside [%d, %d]", rows[i], cols[i], m.maxRows, m.s.Vocab)
		}
	}
	leave, err := m.b.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	d := m.b.drv
	for i := range rows {
		src := uint64(m.logits) + 4*(uint64(rows[i])*uint64(m.s.Vocab)+uint64(cols[i]))
		if err := d.MemcpyDtoDAsync(m.picks+cu.DevicePtr(4*i), cu.DevicePtr(src), 4, m.stream); err != nil {
			return nil, fmt.Errorf("cuda: logits at: %w", err)
		}
	}
	half := stageBytes / 2
	buf := m.stage[half+20*m.maxRows : half+20*m.maxRows+4*n]
	if err := d.MemcpyDtoHAsync(buf, m.picks, m.stream); err != nil {
		return nil, fmt.Errorf("cuda: logits at: %w", err)
	}
	if err := d.StreamSynchronize(m.stream); err != nil {
		return nil, fmt.Errorf("cuda: logits at: %w", err)
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:]))
	}
	return out, nil
}

// Timing is a device-timed measurement: the median and spread of reps
// runs after warm-up runs, each between two CUDA events on the stream.
type Timing struct {
	MedianMS, MinMS, MaxMS float64
	Reps                   int
}

// TimeForward times the compute of one forward shape (inputs staged once,
// outside the timed region) eagerly or as a graph replay.
func (m *BF16Model) TimeForward(a ForwardArgs, graph bool, warmup, reps int) (Timing, error) {
	if err := m.check(&a); err != nil {
		return Timing{}, err
	}
	leave, err := m.b.enter()
	if err != nil {
		return Timing{}, err
	}
	defer leave()
	if err := m.stageInputs(&a); err != nil {
		return Timing{}, err
	}
	T, R := len(a.IDs), len(a.Rows)
	return m.time(func() error { return m.run(T, a.Segments, R, a.Temperature, graph) }, warmup, reps)
}

func (m *BF16Model) time(fn func() error, warmup, reps int) (Timing, error) {
	d := m.b.drv
	for range warmup {
		if err := fn(); err != nil {
			return Timing{}, err
		}
	}
	if err := d.StreamSynchronize(m.stream); err != nil {
		return Timing{}, err
	}
	ms := make([]float64, 0, reps)
	for range reps {
		if err := d.EventRecord(m.events[0], m.stream); err != nil {
			return Timing{}, err
		}
		if err := fn(); err != nil {
			return Timing{}, err
		}
		if err := d.EventRecord(m.events[1], m.stream); err != nil {
			return Timing{}, err
		}
		if err := d.EventSynchronize(m.events[1]); err != nil {
			return Timing{}, err
		}
		t, err := d.EventElapsedTime(m.events[0], m.events[1])
		if err != nil {
			return Timing{}, err
		}
		ms = append(ms, float64(t))
	}
	return summarize(ms), nil
}

func summarize(ms []float64) Timing {
	if len(ms) == 0 {
		return Timing{}
	}
	s := append([]float64(nil), ms...)
	sort.Float64s(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return Timing{MedianMS: med, MinMS: s[0], MaxMS: s[len(s)-1], Reps: len(s)}
}

// TimeGEMM times y[M,N] = x[M,K]·w[N,K]ᵀ in bf16 with random x and w
// (w a slice of the LM head, so N·K must not exceed vocab·hidden).
func (m *BF16Model) TimeGEMM(M, N, K int, warmup, reps int) (Timing, error) {
	if M <= 0 || N <= 0 || K <= 0 || int64(N)*int64(K) > int64(m.s.Vocab)*int64(m.s.Hidden) {
		return Timing{}, fmt.Errorf("cuda: time GEMM %dx%dx%d: bad shape", M, N, K)
	}
	leave, err := m.b.enter()
	if err != nil {
		return Timing{}, err
	}
	defer leave()
	d := m.b.drv
	x, err := d.MemAlloc(uint64(2 * M * K))
	if err != nil {
		return Timing{}, err
	}
	defer d.MemFree(x)
	y, err := d.MemAlloc(uint64(2 * M * N))
	if err != nil {
		return Timing{}, err
	}
	defer d.MemFree(y)
	if err := m.b.launchOn(m.stream, "fill_uniform_bf16", [3]uint32{gridFor(M*K, 256*64)}, 0, uint64(x), int64(M*K), uint64(12345), float32(1), float32(0)); err != nil {
		return Timing{}, err
	}
	t, err := m.time(func() error { return m.gemm(y, x, m.lm, M, N, K, false) }, warmup, reps)
	if err == nil && m.skinny && !skinnyOK(M, K) {
		err = fmt.Errorf("cuda: skinny GEMM needs M <= 64 and K %% 16 == 0 (M %d, K %d)", M, K)
	}
	if err == nil && m.skinny && m.b.unitErrs["gemm.cu"] != nil {
		err = fmt.Errorf("cuda: skinny GEMM unavailable: %w", m.b.unitErrs["gemm.cu"])
	}
	if serr := d.StreamSynchronize(m.stream); err == nil {
		err = serr
	}
	return t, err
}

// TimeWall measures host wall time of fn (which must synchronise).
func TimeWall(fn func() error, warmup, reps int) (Timing, error) {
	for range warmup {
		if err := fn(); err != nil {
			return Timing{}, err
		}
	}
	ms := make([]float64, 0, reps)
	for range reps {
		start := time.Now()
		if err := fn(); err != nil {
			return Timing{}, err
		}
		ms = append(ms, float64(time.Since(start).Microseconds())/1000)
	}
	return summarize(ms), nil
}

// TunedGEMM reports one plan's autotuning: the heuristic's pick (candidate
// 0) against the fastest candidate, in device milliseconds.
type TunedGEMM struct {
	M, N, K, Batch int
	Candidates     int
	Best           int
	HeuristicMS    float64
	BestMS         float64
}

// TuneGEMMs times every cuBLASLt candidate of every GEMM plan the model
// has used so far (run a forward of each shape first) and keeps the
// fastest. Captured graphs are dropped, since they hold the old choice.
func (m *BF16Model) TuneGEMMs(warmup, reps int) ([]TunedGEMM, error) {
	leave, err := m.b.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	d := m.b.drv
	if err := d.StreamSynchronize(m.stream); err != nil {
		return nil, err
	}
	m.dropGraphs()
	var out []TunedGEMM
	for shape, p := range m.plans {
		r := TunedGEMM{M: shape.M, N: shape.N, K: shape.K, Batch: shape.Batch, Candidates: p.NumAlgos()}
		// Scratch operands big enough for every plan of the model: X from
		// the gate/up activations or the attention probabilities, W from
		// the LM head, Y into the score buffer.
		x := m.gu
		if shape.TransW {
			x = m.probs
		}
		best := math.Inf(1)
		for i := range p.NumAlgos() {
			p.UseAlgo(i)
			var bias uint64
			if shape.Bias { // only the q/k/v projection's plans
				bias = uint64(m.layers[0].bqkv)
			}
			tm, err := m.time(func() error {
				return p.Run(uint64(m.scores), uint64(x), uint64(m.lm), bias, uint64(m.b.ws), m.b.wsLen, uintptr(m.stream))
			}, warmup, reps)
			if err != nil {
				continue // a candidate that fails to run is skipped
			}
			if i == 0 {
				r.HeuristicMS = tm.MedianMS
			}
			if tm.MedianMS < best {
				best, r.Best, r.BestMS = tm.MedianMS, i, tm.MedianMS
			}
		}
		p.UseAlgo(r.Best)
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].HeuristicMS-out[i].BestMS > out[j].HeuristicMS-out[j].BestMS })
	return out, d.StreamSynchronize(m.stream)
}
