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
}

func newCachedStepper(m Model, opts CacheOptions) (*cachedStepper, error) {
	cm, ok := m.(CachedModel)
	if !ok {
		return nil, fmt.Errorf("%w (%T)", ErrNoCache, m)
	}
	return &cachedStepper{m: cm, policy: opts.Policy, cache: cm.NewCache(), mask: m.Config().MaskTokenID}, nil
}

func (c *cachedStepper) close() { c.cache.Free() }

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
		logits, err := c.m.Prefill(c.cache, inputs)
		if err != nil {
			return nil, err
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
