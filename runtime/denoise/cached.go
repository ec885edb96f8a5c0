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

// cachedStepper runs the forward of each step in cached mode.
type cachedStepper struct {
	m      CachedModel
	policy kvcache.Policy
	cache  *kvcache.Cache
	seq    map[int]int    // canvas row -> cache sequence at the last refresh
	block  map[int][2]int // canvas row -> block [start, end) at the last refresh
	total  int            // masks at the last refresh
	mask   int
	owned  bool // cache made here (freed by close)
	reused int  // rows reused from an earlier Run at step 0
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
	full := c.seq == nil || c.policy.Full(step, left, c.total)
	if !full {
		for _, r := range rows {
			if _, ok := c.seq[r]; !ok {
				full = true
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
		c.seq, c.block, c.total = make(map[int]int, len(rows)), make(map[int][2]int, len(rows)), left
		for i, r := range rows {
			s, e, _ := kvcache.Block(inputs[i].IDs, c.mask)
			c.seq[r], c.block[r] = i, [2]int{s, e}
		}
		return logits, nil
	}
	blocks := make([]model.Block, len(inputs))
	for i, r := range rows {
		b := c.block[r]
		blocks[i] = model.Block{Seq: c.seq[r], Start: b[0], IDs: inputs[i].IDs[b[0]:b[1]], Want: inputs[i].Want}
	}
	return c.m.ForwardBlocks(c.cache, blocks)
}
