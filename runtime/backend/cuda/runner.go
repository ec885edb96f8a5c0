package cuda

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/dream-lsp/dream-lsp/runtime/denoise"
	"github.com/dream-lsp/dream-lsp/runtime/model"
)

// DreamModel is BF16Model behind runtime/denoise's DeviceModel, the form
// runtime/engine runs on a GPU: a Dream checkpoint in bf16 with a K/V
// cache of Context rows shared by the canvases of one call (each canvas
// has its own region, Segments), device sampling and CUDA graphs for
// shapes seen before. Canvases are grouped into as few forward calls as
// the buffers allow.
type DreamModel struct {
	m    *BF16Model
	cfg  model.Config
	seqs []dreamSeq      // cache layout of the last full call
	seen map[string]bool // forward shapes run once (the second run is captured)
}

type dreamSeq struct {
	base, n int
	pos     []int
}

// DreamLimits sizes a DreamModel's device buffers.
type DreamLimits struct {
	// Context is the K/V cache rows: the canvases of one Denoise call
	// together (0: 4096, and never more than the model's
	// max_position_embeddings times the batch it would hold).
	Context int
	// Rows is the most logits rows (masked slots) one forward computes
	// (0: min(Context, 512)); more are computed in several passes.
	Rows int
}

// LoadDeviceModel loads cfg's weights from src in bf16 for the engine
// (runtime/engine's DeviceLoader): checked against what the kernels
// support, so a caller can fall back to the float32 backend on an error.
func (b *Backend) LoadDeviceModel(cfg model.Config, src model.WeightSource, maxTokens int) (denoise.DeviceModel, error) {
	return b.LoadDream(cfg, src, DreamLimits{Context: maxTokens})
}

// LoadDream is LoadDeviceModel with the concrete type and every limit.
func (b *Backend) LoadDream(cfg model.Config, src model.WeightSource, lim DreamLimits) (*DreamModel, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("cuda: dream model: %w", err)
	}
	if cfg.HiddenAct != "" && cfg.HiddenAct != "silu" {
		return nil, fmt.Errorf("cuda: dream model: activation %q (the kernels do silu)", cfg.HiddenAct)
	}
	ctx := lim.Context
	if ctx <= 0 {
		ctx = 4096
	}
	rows := lim.Rows
	if rows <= 0 {
		rows = min(ctx, 512)
	}
	s := DreamShape{Hidden: cfg.HiddenSize, Intermediate: cfg.IntermediateSize, Layers: cfg.NumLayers,
		Heads: cfg.NumHeads, KVHeads: cfg.NumKVHeads, HeadDim: cfg.HeadDim, Vocab: cfg.VocabSize,
		Theta: float32(cfg.RopeTheta), Eps: float32(cfg.RMSNormEps)}
	w := func(name string) ([]float32, error) {
		if name == "lm_head.weight" && cfg.TieWordEmbeddings {
			name = "model.embed_tokens.weight"
		}
		v, _, err := src.Float32(name)
		return v, err
	}
	m, err := b.NewBF16Model(s, ctx, ctx, rows, w)
	if err != nil {
		return nil, err
	}
	return &DreamModel{m: m, cfg: cfg, seen: map[string]bool{}}, nil
}

// Config returns the model's configuration.
func (d *DreamModel) Config() model.Config { return d.cfg }

// DeviceTokens is the K/V cache rows one call's canvases share:
// runtime/denoise runs larger batches in groups that fit.
func (d *DreamModel) DeviceTokens() int { return d.m.ctx }

// Path names this path in the engine's logs and status.
func (d *DreamModel) Path() string { return "cuda-bf16" }

// BF16 returns the underlying model (attention mode, skinny GEMMs, timing).
func (d *DreamModel) BF16() *BF16Model { return d.m }

// Close frees the device memory (the backend stays open).
func (d *DreamModel) Close() error { return d.m.Close() }

// Forward returns the shifted logits of the wanted positions of each
// canvas, like model.Model.Forward (bf16 weights, fp32 logits).
func (d *DreamModel) Forward(in []model.Input) ([][]float32, error) {
	out, err := d.DeviceStep(denoise.DeviceCall{Full: in, Logits: true})
	if err != nil {
		return nil, err
	}
	return out.Logits, nil
}

// segment is one canvas or block of a DeviceStep.
type segment struct {
	ids, pos, slots []int
	keyBase, nk     int
	rows            []int // wanted rows, indices into ids
}

// DeviceStep runs one full pass or cached step (denoise.DeviceCall).
func (d *DreamModel) DeviceStep(c denoise.DeviceCall) (*denoise.DeviceOutput, error) {
	segs, err := d.layout(c)
	if err != nil {
		return nil, err
	}
	out := &denoise.DeviceOutput{}
	if c.Logits {
		out.Logits = make([][]float32, len(segs))
	} else {
		out.Samples = make([][]denoise.Sample, len(segs))
	}
	V := d.cfg.VocabSize
	for _, g := range d.groups(segs) {
		var a ForwardArgs
		var owner, local []int // per wanted row: its segment and index there
		for _, si := range g {
			sg := segs[si]
			off := len(a.IDs)
			a.IDs = append(a.IDs, sg.ids...)
			a.Positions = append(a.Positions, sg.pos...)
			a.Slots = append(a.Slots, sg.slots...)
			a.Segments = append(a.Segments, Segment{Tokens: len(sg.ids), KeyBase: sg.keyBase, NK: sg.nk})
			for j, r := range sg.rows {
				a.Rows = append(a.Rows, off+r)
				owner, local = append(owner, si), append(local, j)
			}
		}
		a.Temperature, a.Seed, a.Step = c.Temperature, c.Seed, c.Step
		all := a.Rows
		for lo := 0; lo < len(all); lo += d.m.maxRows {
			hi := min(len(all), lo+d.m.maxRows)
			a.Rows = all[lo:hi]
			res, err := d.m.Forward(a, d.graph(&a))
			if err != nil {
				return nil, err
			}
			var lg, eos []float32 // eos: per row, the logits of EOS and of the row's token
			if c.Logits {
				if lg, err = d.m.Logits(hi - lo); err != nil {
					return nil, err
				}
			} else if c.EOSProb {
				if c.EOS < 0 || c.EOS >= V || c.Temperature > 0 {
					return nil, fmt.Errorf("cuda: dream model: p(eos) of token %d at temperature %g (greedy only)", c.EOS, c.Temperature)
				}
				rows, cols := make([]int, 0, 2*(hi-lo)), make([]int, 0, 2*(hi-lo))
				for i := range hi - lo {
					rows, cols = append(rows, i, i), append(cols, c.EOS, res.Tokens[i])
				}
				if eos, err = d.m.LogitsAt(rows, cols); err != nil {
					return nil, err
				}
			}
			for i := range hi - lo {
				si := owner[lo+i]
				if c.Logits {
					if out.Logits[si] == nil {
						out.Logits[si] = make([]float32, len(segs[si].rows)*V)
					}
					copy(out.Logits[si][local[lo+i]*V:], lg[i*V:(i+1)*V])
					continue
				}
				if out.Samples[si] == nil {
					out.Samples[si] = make([]denoise.Sample, len(segs[si].rows))
				}
				st := res.Stats[i]
				smp := denoise.Sample{Token: res.Tokens[i], Prob: float64(st[0]), Top1: float64(st[1]), Top2: float64(st[2]), Neg: float64(st[3])}
				if eos != nil {
					// Greedy: the token is the top one, so p(eos) = p(top1)·e^(l_eos − l_top1).
					smp.EOS = smp.Top1 * math.Exp(float64(eos[2*i]-eos[2*i+1]))
				}
				out.Samples[si][local[lo+i]] = smp
			}
		}
	}
	return out, nil
}

// layout turns a call into segments: a full call lays the canvases out
// one after another in the cache, a cached step addresses the layout of
// the last full call.
func (d *DreamModel) layout(c denoise.DeviceCall) ([]segment, error) {
	var segs []segment
	if c.Full != nil {
		d.seqs = nil
		base := 0
		var seqs []dreamSeq
		for i, in := range c.Full {
			n := len(in.IDs)
			if n == 0 {
				return nil, fmt.Errorf("cuda: dream model: canvas %d is empty", i)
			}
			if in.Valid != nil {
				return nil, fmt.Errorf("cuda: dream model: canvas %d: padding masks are not supported by the bf16 path", i)
			}
			if base+n > d.m.ctx {
				return nil, fmt.Errorf("cuda: dream model: the canvases need %d K/V cache rows, the device holds %d (engine option DeviceTokens)", total(c.Full), d.m.ctx)
			}
			pos := in.Positions
			maxPos := d.cfg.MaxPositionEmbeddings
			if pos == nil {
				// The model was trained on at most maxPos positions: refuse
				// longer canvases as the CPU model does, not run them.
				if maxPos > 0 && n > maxPos {
					return nil, fmt.Errorf("cuda: dream model: canvas %d has %d tokens, more than max_position_embeddings %d", i, n, maxPos)
				}
				pos = iotaFrom(n, 0)
			} else if len(pos) != n {
				return nil, fmt.Errorf("cuda: dream model: canvas %d: %d positions for %d tokens", i, len(pos), n)
			} else if j := slices.IndexFunc(pos, func(p int) bool { return p < 0 || maxPos > 0 && p >= maxPos }); j >= 0 {
				return nil, fmt.Errorf("cuda: dream model: canvas %d: position %d outside [0,%d)", i, pos[j], maxPos)
			}
			rows, err := wantRows(in.Want, 0, n)
			if err != nil {
				return nil, fmt.Errorf("cuda: dream model: canvas %d: %w", i, err)
			}
			seqs = append(seqs, dreamSeq{base: base, n: n, pos: pos})
			segs = append(segs, segment{ids: in.IDs, pos: pos, slots: iotaFrom(n, base), keyBase: base, nk: n, rows: rows})
			base += n
		}
		d.seqs = seqs
		return segs, nil
	}
	if len(d.seqs) == 0 {
		return nil, fmt.Errorf("cuda: dream model: cached step before a full pass")
	}
	for i, b := range c.Blocks {
		if b.Seq < 0 || b.Seq >= len(d.seqs) {
			return nil, fmt.Errorf("cuda: dream model: block %d: sequence %d of %d", i, b.Seq, len(d.seqs))
		}
		s := d.seqs[b.Seq]
		n := len(b.IDs)
		if n == 0 || b.Start < 0 || b.Start+n > s.n {
			return nil, fmt.Errorf("cuda: dream model: block %d: [%d,%d) outside its canvas of %d", i, b.Start, b.Start+n, s.n)
		}
		rows, err := wantRows(b.Want, b.Start, n)
		if err != nil {
			return nil, fmt.Errorf("cuda: dream model: block %d: %w", i, err)
		}
		segs = append(segs, segment{ids: b.IDs, pos: s.pos[b.Start : b.Start+n], slots: iotaFrom(n, s.base+b.Start),
			keyBase: s.base, nk: s.n, rows: rows})
	}
	return segs, nil
}

// wantRows maps wanted canvas positions to rows of a segment starting at
// canvas position start: Dream's shifted logits read row p−1 (0 for p = 0),
// which must lie in the segment; BF16Model reads row r−1 for row r.
func wantRows(want []int, start, n int) ([]int, error) {
	rows := make([]int, len(want))
	for j, p := range want {
		r := p - start
		if r < 0 || r >= n || (r == 0 && p != 0) {
			return nil, fmt.Errorf("wanted position %d: its logits row is outside [%d,%d)", p, start, start+n)
		}
		rows[j] = r
	}
	return rows, nil
}

// groups packs segments into forward calls: at most maxT tokens each, and
// a segment that wants its own first row (canvas position 0) opens a new
// call, where BF16Model reads that row as Dream does (row 0 for p = 0).
func (d *DreamModel) groups(segs []segment) [][]int {
	var out [][]int
	var cur []int
	tokens := 0
	for i, sg := range segs {
		if len(cur) > 0 && (slices.Contains(sg.rows, 0) || tokens+len(sg.ids) > d.m.maxT) {
			out = append(out, cur)
			cur, tokens = nil, 0
		}
		cur = append(cur, i)
		tokens += len(sg.ids)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// graph reports whether to run a forward as a CUDA graph: from the second
// time a shape is seen (capturing costs more than one eager run, and a
// denoising run's shapes change as masks are filled). The set of captured
// shapes is bounded by BF16Model.
func (d *DreamModel) graph(a *ForwardArgs) bool {
	var k strings.Builder
	k.WriteString(strconv.Itoa(len(a.IDs)))
	for _, s := range a.Segments {
		fmt.Fprintf(&k, "/%d,%d,%d", s.Tokens, s.KeyBase, s.NK)
	}
	fmt.Fprintf(&k, "/%d/%g", len(a.Rows), a.Temperature)
	key := k.String()
	if d.seen[key] {
		return true
	}
	if len(d.seen) > 4096 {
		clear(d.seen)
	}
	d.seen[key] = true
	return false
}

func iotaFrom(n, from int) []int {
	v := make([]int, n)
	for i := range v {
		v[i] = from + i
	}
	return v
}

func total(in []model.Input) int {
	n := 0
	for _, x := range in {
		n += len(x.IDs)
	}
	return n
}
