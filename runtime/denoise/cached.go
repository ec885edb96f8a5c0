package denoise

import (
	"errors"
	"fmt"

	"github.com/dream-lsp/dream-lsp/runtime/kvcache"
	"github.com/dream-lsp/dream-lsp/runtime/model"
)

// CacheOptions turns on the dual K/V cache (runtime/kvcache). Refresh
// steps (Policy.Full) run a full forward pass that refills the cache; the
// steps between run only each canvas's block (one slot before its first
// mask to its last mask at the last refresh) against the cached K/V of
// the rest of the canvas. With Policy.Refresh = 1 every step is a full
// pass and the results equal the uncached run exactly.
//
// With Policy.Blocks and confidence_threshold blocks
// (Sampler.BlocksOf() > 0) the cache works per block as Fast-dLLM's dual cache does: a block step recomputes
// only the active block (the first block that still has masks: one slot
// before its first mask to its last mask at the last refresh) and asks
// for logits of that block's masks only; the cache also refreshes when
// the active block changes. Masks of later blocks keep the logits of the
// last refresh (the sampler reads them only when its schedule floor
// spills past the active block).
type CacheOptions struct {
	Enabled bool
	Policy  kvcache.Policy
	// Reuse, when non-nil, is a cache (from CachedModel.NewCache) that
	// outlives the Run: a single-canvas request whose leading tokens match
	// the rows the cache holds from an earlier Run keeps those rows' K/V
	// and its first step recomputes only the rest of the canvas (from one
	// slot before the first mask at the latest), instead of a full
	// forward pass. The kept rows are stale in the same way as between
	// refreshes. Run leaves its final K/V in the cache and does not free
	// it. Nil: a fresh cache per Run.
	Reuse *kvcache.Cache
}

// CachedModel is what the cached mode needs: *model.Model satisfies it.
type CachedModel interface {
	Model
	NewCache() *kvcache.Cache
	Prefill(c *kvcache.Cache, in []model.Input) ([][]float32, error)
	ForwardBlocks(c *kvcache.Cache, blocks []model.Block) ([][]float32, error)
}

// ErrNoCache is returned when Request.Cache is enabled for a model that
// does not implement CachedModel.
var ErrNoCache = errors.New("denoise: the model does not support the K/V cache")

// refreshLayout is the cache as the last full pass left it, kept by the
// host (cachedStepper) and device (runDevice) cached runs alike.
type refreshLayout struct {
	seq   map[int]int    // canvas row -> cache sequence at the last refresh
	block map[int][2]int // canvas row -> block [start, end) at the last refresh
	total int            // masks at the last refresh
}

// due reports whether step must be a full pass: nothing is cached yet,
// the policy asks for one, or a row with masks is not in the cache.
func (l *refreshLayout) due(p kvcache.Policy, step, left int, rows []int) bool {
	if l.seq == nil || p.Full(step, left, l.total) {
		return true
	}
	for _, r := range rows {
		if _, ok := l.seq[r]; !ok {
			return true
		}
	}
	return false
}

// record notes the layout a full pass over inputs (canvas rows rows,
// left masks in all) leaves: input i is sequence i, its block spans its
// masks.
func (l *refreshLayout) record(inputs []model.Input, rows []int, left, mask int) {
	l.seq, l.block, l.total = make(map[int]int, len(rows)), make(map[int][2]int, len(rows)), left
	for i, r := range rows {
		s, e, _ := kvcache.Block(inputs[i].IDs, mask)
		l.seq[r], l.block[r] = i, [2]int{s, e}
	}
}

// blocks returns the block step of every input from the last refresh.
func (l *refreshLayout) blocks(inputs []model.Input, rows []int) []model.Block {
	blocks := make([]model.Block, len(inputs))
	for i, r := range rows {
		b := l.block[r]
		blocks[i] = model.Block{Seq: l.seq[r], Start: b[0], IDs: inputs[i].IDs[b[0]:b[1]], Want: inputs[i].Want}
	}
	return blocks
}

// cachedStepper runs the forward of each step in cached mode.
type cachedStepper struct {
	m      CachedModel
	policy kvcache.Policy
	cache  *kvcache.Cache
	refreshLayout
	mask   int
	owned  bool // cache made here (freed by close)
	reused int  // rows reused from an earlier Run at step 0

	// Blockwise mode (rows with confidence_threshold blocks): blockOf is
	// the runner's rowState.blockOf (nil rows: no blocks); active is each
	// row's active block at the last refresh, stale the logits of every
	// masked position at the last refresh, buf the step's assembled
	// logits (reused, the runner does not keep them).
	blockOf [][]int
	active  map[int]int
	stale   map[int]map[int][]float32
	buf     map[int][]float32
}

// activeBlock returns the block of the first masked slot of a row with
// blocks (blocks are non-decreasing along the row), and false for a row
// without blocks.
func activeBlock(blockOf, want []int) (int, bool) {
	if blockOf == nil || len(want) == 0 {
		return 0, false
	}
	return blockOf[want[0]], true
}

// blockRange returns the rows a block step of block b recomputes: one
// slot before the block's first mask to one past its last.
func blockRange(blockOf, want []int, b int) (start, end int) {
	first, last := -1, -1
	for _, p := range want {
		if blockOf[p] == b {
			if first < 0 {
				first = p
			}
			last = p
		}
	}
	return max(first-1, 0), last + 1
}

func newCachedStepper(m Model, opts CacheOptions) (*cachedStepper, error) {
	cm, ok := m.(CachedModel)
	if !ok {
		return nil, fmt.Errorf("%w (%T)", ErrNoCache, m)
	}
	cs := &cachedStepper{m: cm, policy: opts.Policy, cache: opts.Reuse, mask: m.Config().MaskTokenID}
	if cs.cache == nil {
		cs.cache, cs.owned = cm.NewCache(), true
	}
	return cs, nil
}

func (c *cachedStepper) close() {
	if c.owned {
		c.cache.Free()
	}
}

// reuse runs step 0 of a single-canvas request against the rows an
// earlier Run left in the cache: it keeps the matching leading rows and
// computes the rest as one block. ok is false when nothing can be reused.
func (c *cachedStepper) reuse(in model.Input) (logits [][]float32, ok bool, err error) {
	if c.owned || in.Positions != nil || in.Valid != nil {
		return nil, false, nil
	}
	keep := c.cache.Reuse(in.IDs)
	first, _, has := kvcache.Block(in.IDs, c.mask)
	if !has {
		return nil, false, nil
	}
	keep = min(keep, first) // first is one slot before the first mask
	if keep <= 0 {
		return nil, false, nil
	}
	L := len(in.IDs)
	pos := make([]int, L)
	for i := range pos {
		pos[i] = i
	}
	if err := c.cache.Relayout(keep, L, pos, nil); err != nil {
		return nil, false, err
	}
	logits, err = c.m.ForwardBlocks(c.cache, []model.Block{{Seq: 0, Start: keep, IDs: in.IDs[keep:], Want: in.Want}})
	if err != nil {
		return nil, false, err
	}
	c.reused = keep
	return logits, true, nil
}

func (c *cachedStepper) forward(step int, inputs []model.Input, rows []int) ([][]float32, error) {
	left := 0
	for _, in := range inputs {
		left += len(in.Want)
	}
	full := c.due(c.policy, step, left, rows)
	if !full {
		for i, r := range rows {
			if b, ok := activeBlock(c.rowBlocks(r), inputs[i].Want); ok && b != c.active[r] {
				full = true // Fast-dLLM: refresh when the active block moves on
			}
		}
	}
	if full {
		var (
			logits [][]float32
			reused bool
			err    error
		)
		if c.seq == nil && len(inputs) == 1 {
			logits, reused, err = c.reuse(inputs[0])
			if err != nil {
				return nil, err
			}
		}
		if !reused {
			logits, err = c.m.Prefill(c.cache, inputs)
			if err != nil {
				return nil, err
			}
		}
		c.record(inputs, rows, left, c.mask)
		c.active, c.stale = map[int]int{}, map[int]map[int][]float32{}
		for i, r := range rows {
			want := inputs[i].Want
			if b, ok := activeBlock(c.rowBlocks(r), want); ok {
				s, e := blockRange(c.blockOf[r], want, b)
				c.block[r] = [2]int{s, e}
				c.active[r] = b
				st := make(map[int][]float32, len(want))
				vocab := len(logits[i]) / len(want)
				for j, p := range want {
					st[p] = logits[i][j*vocab : (j+1)*vocab]
				}
				c.stale[r] = st
			}
		}
		return logits, nil
	}
	blocks := c.blocks(inputs, rows)
	for i, r := range rows {
		if _, ok := c.active[r]; ok {
			blocks[i].Want = c.activeWant(r, blocks[i].Want)
		}
	}
	logits, err := c.m.ForwardBlocks(c.cache, blocks)
	if err != nil {
		return nil, err
	}
	for i, r := range rows {
		if _, ok := c.active[r]; ok && len(logits) == len(inputs) {
			logits[i] = c.assemble(r, inputs[i].Want, blocks[i].Want, logits[i])
		}
	}
	return logits, nil
}

// rowBlocks returns row r's block numbers (nil: no blocks).
func (c *cachedStepper) rowBlocks(r int) []int {
	if r >= len(c.blockOf) {
		return nil
	}
	return c.blockOf[r]
}

// activeWant returns the masked positions of row r's active block.
func (c *cachedStepper) activeWant(r int, want []int) []int {
	b := c.active[r]
	out := make([]int, 0, len(want))
	for _, p := range want {
		if c.blockOf[r][p] == b {
			out = append(out, p)
		}
	}
	return out
}

// assemble lays out row r's logits for every masked position in want:
// fresh rows for the active block's masks (fresh, in active's order),
// the last refresh's rows for the rest.
func (c *cachedStepper) assemble(r int, want, active []int, fresh []float32) []float32 {
	if len(active) == 0 || len(active) == len(want) {
		return fresh
	}
	vocab := len(fresh) / len(active)
	n := len(want) * vocab
	out := c.buf[r]
	if cap(out) < n {
		out = make([]float32, n)
		if c.buf == nil {
			c.buf = map[int][]float32{}
		}
		c.buf[r] = out
	}
	out = out[:n]
	k := 0
	for j, p := range want {
		src := c.stale[r][p]
		if k < len(active) && active[k] == p {
			src = fresh[k*vocab : (k+1)*vocab]
			k++
		}
		copy(out[j*vocab:(j+1)*vocab], src)
	}
	return out
}
