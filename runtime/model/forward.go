package model

import (
	"errors"
	"fmt"
	"slices"

	"github.com/dream-lsp/dream-lsp/runtime/backend"
	"github.com/dream-lsp/dream-lsp/runtime/kvcache"
	"github.com/dream-lsp/dream-lsp/runtime/weights"
)

// Model is a Dream model whose weights live on a backend. Forward is not
// safe for concurrent use; callers serialise (the denoise loop does).
type Model struct {
	cfg    Config
	be     backend.Backend
	embed  backend.Tensor // [vocab, hidden]
	norm   backend.Tensor // [1, hidden]
	lmHead backend.Tensor // [vocab, hidden]; the embedding when tied
	layers []layer
	owned  []backend.Tensor
	// inPlace is set when some weights use the source's memory in place.
	inPlace bool
	// frees release converted weights held outside the Go heap.
	frees []func()
}

// layer holds one decoder block's weights ([out, in] as in the checkpoint).
type layer struct {
	inNorm, postNorm    backend.Tensor
	q, k, v, o          backend.Tensor
	qBias, kBias, vBias backend.Tensor
	gate, up, down      backend.Tensor
}

// wrapper is implemented by backends that can adopt host memory without a
// copy (the CPU backend).
type wrapper interface {
	Wrap(data []float32, rows, cols int) (backend.Tensor, error)
}

// WeightSource yields a tensor's values converted to float32, together
// with its stored shape. *weights.Checkpoint satisfies it through
// CheckpointSource.
type WeightSource interface {
	// Float32 returns the named tensor's values and shape.
	Float32(name string) ([]float32, []int, error)
}

// CheckpointSource adapts a weights.Checkpoint to WeightSource.
func CheckpointSource(c *weights.Checkpoint) WeightSource { return ckptSource{c} }

type ckptSource struct{ c *weights.Checkpoint }

func (s ckptSource) Float32(name string) ([]float32, []int, error) {
	t, ok := s.c.Tensor(name)
	if !ok {
		return nil, nil, fmt.Errorf("tensor %s: %w", name, ErrMissingTensor)
	}
	data, err := s.c.Float32(name)
	if err != nil {
		return nil, nil, err
	}
	return data, t.Shape, nil
}

// ErrMissingTensor is wrapped when a weight the config needs is absent.
var ErrMissingTensor = errors.New("tensor missing from checkpoint")

// Load converts the weights the config names to float32 and puts them on
// the backend. Every tensor's shape is checked against the config. The
// source may be closed once Load returns.
func Load(cfg Config, src WeightSource, be backend.Backend) (*Model, error) {
	return LoadWith(cfg, src, be, LoadOptions{Weights: WeightsF32})
}

// LoadWith is Load with the big linear weights kept in the format
// opts.Weights asks for (see WeightMode). Unless that is f32, the model
// may use a RawSource's memory in place: keep the source open until the
// model is closed.
func LoadWith(cfg Config, src WeightSource, be backend.Backend, opts LoadOptions) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	mode := opts.Weights
	if mode == "" {
		mode = WeightsAuto
	}
	if _, err := ParseWeightMode(string(mode)); err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	m := &Model{cfg: cfg, be: be}
	D, I, V, KV := cfg.HiddenSize, cfg.IntermediateSize, cfg.VocabSize, cfg.KVDim()
	QD := cfg.NumHeads * cfg.HeadDim
	get := func(name string, shape ...int) (backend.Tensor, error) {
		if len(shape) == 2 {
			t, ok, err := storedWeight(be, src, mode, name, shape[0], shape[1], &m.inPlace, &m.frees)
			if err != nil {
				return nil, err
			}
			if ok {
				m.owned = append(m.owned, t)
				return t, nil
			}
		}
		data, got, err := src.Float32(name)
		if err != nil {
			return nil, fmt.Errorf("model: load %s: %w", name, err)
		}
		if !equalShape(got, shape) {
			// CheckPlan reports this with the file name first; this guards
			// sources that skip the plan.
			return nil, fmt.Errorf("model: tensor %s has shape %v, config wants %v", name, got, shape)
		}
		rows, cols := 1, shape[len(shape)-1]
		if len(shape) == 2 {
			rows = shape[0]
		}
		var t backend.Tensor
		if w, ok := be.(wrapper); ok {
			t, err = w.Wrap(data, rows, cols)
		} else {
			t, err = be.Upload(data, rows, cols)
		}
		if err != nil {
			return nil, fmt.Errorf("model: upload %s: %w", name, err)
		}
		m.owned = append(m.owned, t)
		return t, nil
	}
	var err error
	fail := func(e error) (*Model, error) {
		m.Close()
		return nil, e
	}
	if m.embed, err = get(TensorEmbed, V, D); err != nil {
		return fail(err)
	}
	if m.norm, err = get(TensorFinalNorm, D); err != nil {
		return fail(err)
	}
	if cfg.TieWordEmbeddings {
		m.lmHead = m.embed
	} else if m.lmHead, err = get(TensorLMHead, V, D); err != nil {
		return fail(err)
	}
	m.layers = make([]layer, cfg.NumLayers)
	for i := range m.layers {
		l := &m.layers[i]
		n := LayerTensorNames(i)
		for _, w := range []struct {
			dst   *backend.Tensor
			name  string
			shape []int
		}{
			{&l.inNorm, n.InputNorm, []int{D}},
			{&l.postNorm, n.PostAttnNorm, []int{D}},
			{&l.q, n.QWeight, []int{QD, D}},
			{&l.qBias, n.QBias, []int{QD}},
			{&l.k, n.KWeight, []int{KV, D}},
			{&l.kBias, n.KBias, []int{KV}},
			{&l.v, n.VWeight, []int{KV, D}},
			{&l.vBias, n.VBias, []int{KV}},
			{&l.o, n.OWeight, []int{D, QD}},
			{&l.gate, n.GateWeight, []int{I, D}},
			{&l.up, n.UpWeight, []int{I, D}},
			{&l.down, n.DownWeight, []int{D, I}},
		} {
			if *w.dst, err = get(w.name, w.shape...); err != nil {
				return fail(err)
			}
		}
	}
	if p, ok := be.(matmulPreparer); ok {
		p.PrepareMatMul(m.lmHead)
		for i := range m.layers {
			l := &m.layers[i]
			for _, w := range []backend.Tensor{l.q, l.k, l.v, l.o, l.gate, l.up, l.down} {
				p.PrepareMatMul(w)
			}
		}
	}
	return m, nil
}

// matmulPreparer is a backend that readies a weight for its products
// ahead of the first one (the CPU backend's AMX tile layout, seconds of
// repacking for a 7B model). Load calls it for every weight a matmul
// reads, so that time is the load's and the first completion does not
// wait for it; the embedding table, only looked up, is left as it is.
type matmulPreparer interface {
	PrepareMatMul(w backend.Tensor)
}

// Config returns the model's configuration.
func (m *Model) Config() Config { return m.cfg }

// Backend returns the backend the weights live on.
func (m *Model) Backend() backend.Backend { return m.be }

// Close frees the weights on the backend.
func (m *Model) Close() error {
	for _, t := range m.owned {
		m.be.Free(t)
	}
	m.owned = nil
	for _, f := range m.frees {
		f()
	}
	m.frees = nil
	return nil
}

// Input is one canvas for Forward.
type Input struct {
	IDs []int
	// Positions are the RoPE positions (nil: 0..len(IDs)-1).
	Positions []int
	// Valid marks the slots that take part in attention (nil: all). Invalid
	// slots (padding) neither attend nor are attended to.
	Valid []bool
	// Want lists the canvas positions whose shifted logits are returned.
	// Dream's hidden state at j predicts the token at j+1, so position p
	// reads lm_head on row p−1 (row 0 for p = 0).
	Want []int
}

// Forward runs the model over one or more canvases packed into one batch
// (each attends only within itself) and returns, per input, the shifted
// logits of its Want positions: out[i][w*VocabSize : (w+1)*VocabSize] scores
// the token at in[i].Want[w]. lm_head runs only on the rows needed.
func (m *Model) Forward(in []Input) ([][]float32, error) {
	return m.forward(in, nil)
}

// forward is Forward; with a non-nil cache it also keeps every layer's
// post-RoPE keys and values in c (laid out for in; see Prefill).
func (m *Model) forward(in []Input, c *kvcache.Cache) ([][]float32, error) {
	cfg := m.cfg
	be := m.be
	var (
		ids, positions []int
		valid          []bool
		seqLens        []int
		rows           []int // hidden rows feeding lm_head
		anyInvalid     bool
	)
	for n, c := range in {
		L := len(c.IDs)
		if L == 0 {
			return nil, fmt.Errorf("model: forward: canvas %d is empty", n)
		}
		if c.Positions != nil && len(c.Positions) != L {
			return nil, fmt.Errorf("model: forward: canvas %d has %d positions for %d ids", n, len(c.Positions), L)
		}
		if c.Valid != nil && len(c.Valid) != L {
			return nil, fmt.Errorf("model: forward: canvas %d has %d validity flags for %d ids", n, len(c.Valid), L)
		}
		base := len(ids)
		for j, id := range c.IDs {
			if id < 0 || id >= cfg.VocabSize {
				return nil, fmt.Errorf("model: forward: canvas %d: token id %d at %d outside the vocabulary [0,%d)", n, id, j, cfg.VocabSize)
			}
			p := j
			if c.Positions != nil {
				p = c.Positions[j]
				if p < 0 || p >= cfg.MaxPositionEmbeddings {
					return nil, fmt.Errorf("model: forward: canvas %d: position %d outside [0,%d)", n, p, cfg.MaxPositionEmbeddings)
				}
			} else if j >= cfg.MaxPositionEmbeddings {
				return nil, fmt.Errorf("model: forward: canvas %d has %d tokens, more than max_position_embeddings %d", n, L, cfg.MaxPositionEmbeddings)
			}
			positions = append(positions, p)
			v := c.Valid == nil || c.Valid[j]
			anyInvalid = anyInvalid || !v
			valid = append(valid, v)
		}
		ids = append(ids, c.IDs...)
		seqLens = append(seqLens, L)
		for _, p := range c.Want {
			if p < 0 || p >= L {
				return nil, fmt.Errorf("model: forward: canvas %d: wanted position %d outside [0,%d)", n, p, L)
			}
			rows = append(rows, base+max(p-1, 0))
		}
	}
	if !anyInvalid {
		valid = nil
	}
	T := len(ids)
	s := &scratch{be: be}
	defer s.free()
	a := s.activations(cfg, T)
	var k, v backend.Tensor // per layer from the cache when there is one
	if c == nil {
		k = s.alloc(T, cfg.KVDim())
		v = s.alloc(T, cfg.KVDim())
	}
	if s.err != nil {
		return nil, fmt.Errorf("model: forward: allocate activations for %d tokens: %w", T, s.err)
	}
	ap := backend.AttentionParams{Heads: cfg.NumHeads, KVHeads: cfg.NumKVHeads, HeadDim: cfg.HeadDim, SeqLens: seqLens, Valid: valid}
	if len(seqLens) == 1 {
		ap.SeqLens = nil
	}
	if c != nil {
		if err := m.resetCache(c, ids, seqLens, positions, valid); err != nil {
			return nil, err
		}
	}
	kv := func(int) (backend.Tensor, backend.Tensor) { return k, v }
	if c != nil {
		kv = c.Layer
	}
	attend := func(_ int, k, v backend.Tensor) error { return be.Attention(a.att, a.q, k, v, ap) }
	last, at, err := m.stack(s, a, ids, positions, kv, attend, rows)
	if err != nil {
		return nil, fmt.Errorf("model: forward: %w", err)
	}
	out := make([][]float32, len(in))
	if len(rows) == 0 {
		return out, nil
	}
	host, err := m.logits(s, last, at)
	if err != nil {
		return nil, fmt.Errorf("model: forward: %w", err)
	}
	V := cfg.VocabSize
	off := 0
	for n, c := range in {
		w := len(c.Want)
		out[n] = host[off*V : (off+w)*V : (off+w)*V]
		off += w
	}
	return out, nil
}

// scratch allocates one pass's tensors on be and frees them together. The
// first allocation error sticks in err; later allocations return nil.
type scratch struct {
	be   backend.Backend
	bufs []backend.Tensor
	err  error
}

func (s *scratch) alloc(r, c int) backend.Tensor {
	if s.err != nil {
		return nil
	}
	t, err := s.be.Alloc(r, c)
	if err != nil {
		s.err = err
		return nil
	}
	s.bufs = append(s.bufs, t)
	return t
}

func (s *scratch) free() {
	for _, t := range s.bufs {
		s.be.Free(t)
	}
	s.bufs = nil
}

// activations are a pass's working tensors over T rows; the keys and
// values are not among them (their home depends on the cache).
type activations struct {
	x, h, q, att, gate, up backend.Tensor
}

// activations allocates the working tensors for T rows (check s.err).
func (s *scratch) activations(cfg Config, T int) activations {
	D, I := cfg.HiddenSize, cfg.IntermediateSize
	return activations{
		x: s.alloc(T, D), h: s.alloc(T, D), q: s.alloc(T, D),
		att: s.alloc(T, D), gate: s.alloc(T, I), up: s.alloc(T, I),
	}
}

// stack runs the embedding and every decoder layer over ids at positions.
// kv(i) gives the tensors that take layer i's keys and values of these
// rows; attend(i, k, v) writes layer i's attention output into a.att from
// a.q and them. rows are the hidden rows lm_head will read, in the order
// of the logits asked for (a row may repeat). It returns the tensor of
// last hidden states and, for each entry of rows, its row there: a.x and
// rows themselves when rows cover every row, else a tensor of s holding
// only the distinct rows. Every layer's keys and values cover all rows
// (the cache and the last layer's attention need them), but after the
// last layer's attention only those rows go on: its output projection and
// MLP, most of a layer's work, run on the rows lm_head reads (the masked
// positions' rows of a canvas, a block's masks in a cached step) and on no
// others. Every operation there is row by row, so those rows' values are
// what the whole pass gives them.
func (m *Model) stack(s *scratch, a activations, ids, positions []int, kv func(i int) (k, v backend.Tensor), attend func(i int, k, v backend.Tensor) error, rows []int) (last backend.Tensor, at []int, err error) {
	cfg, be := m.cfg, m.be
	x, h, q, gate, up := a.x, a.h, a.q, a.gate, a.up
	eps := float32(cfg.RMSNormEps)
	T := len(ids)
	keep, at := lmRows(rows)
	narrow := narrowLastLayer && len(keep) < T
	steps := []func() error{func() error { return be.Embed(x, m.embed, ids) }}
	for i := range m.layers {
		l := &m.layers[i]
		k, v := kv(i)
		steps = append(steps,
			func() error { return be.RMSNorm(h, x, l.inNorm, eps) },
			func() error { return m.qkv(q, k, v, h, l) },
			func() error { return be.RoPE(q, cfg.NumHeads, cfg.HeadDim, positions, cfg.RopeTheta) },
			func() error { return be.RoPE(k, cfg.NumKVHeads, cfg.HeadDim, positions, cfg.RopeTheta) },
			func() error { return attend(i, k, v) },
		)
		if narrow && i == len(m.layers)-1 {
			break
		}
		steps = append(steps, m.tail(l, x, h, a.att, gate, up)...)
	}
	for _, st := range steps {
		if err := st(); err != nil {
			return nil, nil, err
		}
	}
	if !narrow {
		return x, rows, nil
	}
	if len(keep) == 0 {
		return nil, at, nil
	}
	// The last layer's tail on keep's rows only.
	R := len(keep)
	D, I := cfg.HiddenSize, cfg.IntermediateSize
	xs, hs, att := s.alloc(R, D), s.alloc(R, D), s.alloc(R, D)
	gs, us := s.alloc(R, I), s.alloc(R, I)
	if s.err != nil {
		return nil, nil, fmt.Errorf("allocate the last layer's %d rows: %w", R, s.err)
	}
	steps = []func() error{
		func() error { return be.GatherRows(xs, x, keep) },
		func() error { return be.GatherRows(att, a.att, keep) },
	}
	steps = append(steps, m.tail(&m.layers[len(m.layers)-1], xs, hs, att, gs, us)...)
	for _, st := range steps {
		if err := st(); err != nil {
			return nil, nil, err
		}
	}
	return xs, at, nil
}

// narrowLastLayer lets tests run the last layer on every row, to check
// that narrowing it changes no value.
var narrowLastLayer = true

// tail is a decoder layer after its attention: the output projection of
// att and the residual into x, then the MLP and its residual (h, gate and
// up are scratch of x's rows).
func (m *Model) tail(l *layer, x, h, att, gate, up backend.Tensor) []func() error {
	be := m.be
	eps := float32(m.cfg.RMSNormEps)
	return []func() error{
		func() error { return be.MatMul(h, att, l.o, nil) },
		func() error { return be.Add(x, x, h) },
		func() error { return be.RMSNorm(h, x, l.postNorm, eps) },
		func() error { return m.swiGLU(gate, up, h, l) },
		func() error { return be.MatMul(h, gate, l.down, nil) },
		func() error { return be.Add(x, x, h) },
	}
}

// lmRows returns the sorted, distinct rows of rows (the hidden rows
// lm_head reads, in the order of the logits asked for) and, for each
// entry of rows, its index among them.
func lmRows(rows []int) (keep, at []int) {
	keep = slices.Clone(rows)
	slices.Sort(keep)
	keep = slices.Compact(keep)
	at = make([]int, len(rows))
	for j, r := range rows {
		at[j], _ = slices.BinarySearch(keep, r)
	}
	return keep, at
}

// matMulser is a backend that multiplies one input by several weights
// in one pass (the CPU on AMX tiles: the input rounded to bf16 once, one
// parallel region), bit for bit as separate MatMuls. It reports false,
// doing nothing, for weights it cannot take that way.
type matMulser interface {
	MatMuls(outs []backend.Tensor, x backend.Tensor, ws, biases []backend.Tensor) (bool, error)
}

// qkv sets q, k and v to layer l's projections of h, in one pass where
// the backend can.
func (m *Model) qkv(q, k, v, h backend.Tensor, l *layer) error {
	be := m.be
	if f, ok := be.(matMulser); ok {
		done, err := f.MatMuls([]backend.Tensor{q, k, v}, h, []backend.Tensor{l.q, l.k, l.v}, []backend.Tensor{l.qBias, l.kBias, l.vBias})
		if done || err != nil {
			return err
		}
	}
	if err := be.MatMul(q, h, l.q, l.qBias); err != nil {
		return err
	}
	if err := be.MatMul(k, h, l.k, l.kBias); err != nil {
		return err
	}
	return be.MatMul(v, h, l.v, l.vBias)
}

// swiGLUer is a backend that runs the MLP's gate and up products and
// SiLU in one pass (the CPU on AMX tiles), bit for bit as the three
// operations would. It reports false, doing nothing, for weights it
// cannot take that way.
type swiGLUer interface {
	SwiGLU(out, x, gate, up backend.Tensor) (bool, error)
}

// swiGLU sets gate to silu(h·gateᵀ) ⊙ (h·upᵀ) for layer l, in one pass
// where the backend can, through up otherwise.
func (m *Model) swiGLU(gate, up, h backend.Tensor, l *layer) error {
	be := m.be
	if f, ok := be.(swiGLUer); ok {
		if done, err := f.SwiGLU(gate, h, l.gate, l.up); done || err != nil {
			return err
		}
	}
	if err := be.MatMul(gate, h, l.gate, nil); err != nil {
		return err
	}
	if err := be.MatMul(up, h, l.up, nil); err != nil {
		return err
	}
	return be.SiLUMul(gate, gate, up)
}

// logits runs the final norm and lm_head on x's rows and returns the
// scores on the host, [len(rows), VocabSize] row-major.
func (m *Model) logits(s *scratch, x backend.Tensor, rows []int) ([]float32, error) {
	be := m.be
	R, V := len(rows), m.cfg.VocabSize
	sel := s.alloc(R, m.cfg.HiddenSize)
	// On a backend that can adopt host memory (the CPU) lm_head writes
	// straight into the slice returned: no second [R, vocab] buffer and
	// copy (39 MB per step at Qwen's vocabulary and 64 masks).
	var host []float32
	var logits backend.Tensor
	if w, ok := be.(wrapper); ok {
		host = make([]float32, R*V)
		var err error
		if logits, err = w.Wrap(host, R, V); err != nil {
			return nil, fmt.Errorf("wrap logits for %d rows: %w", R, err)
		}
	} else {
		logits = s.alloc(R, V)
	}
	if s.err != nil {
		return nil, fmt.Errorf("allocate logits for %d rows: %w", R, s.err)
	}
	for _, st := range []func() error{
		func() error { return be.GatherRows(sel, x, rows) },
		func() error { return be.RMSNorm(sel, sel, m.norm, float32(m.cfg.RMSNormEps)) },
		func() error { return be.MatMul(logits, sel, m.lmHead, nil) },
	} {
		if err := st(); err != nil {
			return nil, fmt.Errorf("lm_head: %w", err)
		}
	}
	if host != nil {
		return host, nil
	}
	host = make([]float32, R*V)
	if err := be.Read(logits, host); err != nil {
		return nil, fmt.Errorf("read logits: %w", err)
	}
	return host, nil
}
