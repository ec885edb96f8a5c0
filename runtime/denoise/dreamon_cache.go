package denoise

import (
	"github.com/dream-lsp/dream-lsp/runtime/kvcache"
	"github.com/dream-lsp/dream-lsp/runtime/model"
)

// dreamonCache runs DreamOn's forward passes with the dual K/V cache. A
// DreamOn canvas changes length whenever a slot is deleted or expanded,
// which moves every later position, so the cached K/V after the edit are
// at the wrong positions. The refresh policy:
//
//   - refresh steps of the Policy (step 0, every Refresh steps,
//     RefreshOnCommit) run a full forward pass;
//   - a step after a length change keeps the cached rows before the edit
//     (and before the block) and recomputes from there to the end of the
//     canvas (a partial pass: the middle and the suffix, at their new
//     positions);
//   - other steps recompute only the block (one slot before the first
//     mask to the last mask at the last full or partial pass) against the
//     cached rest, as the fixed-length cached mode does.
//
// With Refresh 1 every step is a full pass and the run equals the
// uncached one exactly.
type dreamonCache struct {
	m      CachedModel
	policy kvcache.Policy
	cache  *kvcache.Cache
	block  [2]int
	total  int
	ok     bool // the cache holds the current layout
	mask   int
	counts CacheCounts
}

func newDreamOnCache(m Model, opts CacheOptions) (*dreamonCache, error) {
	cs, err := newCachedStepper(m, CacheOptions{Enabled: true, Policy: opts.Policy})
	if err != nil {
		return nil, err
	}
	return &dreamonCache{m: cs.m, policy: opts.Policy, cache: cs.cache, mask: cs.mask}, nil
}

func (c *dreamonCache) close() { c.cache.Free() }

// forward returns the shifted logits of want for ids; edit is the first
// position whose row moved since the previous call (-1: none).
func (c *dreamonCache) forward(step int, ids, want []int, edit int) ([]float32, error) {
	s, e, _ := kvcache.Block(ids, c.mask)
	switch {
	case !c.ok || c.policy.Full(step, len(want), c.total):
		out, err := c.m.Prefill(c.cache, []model.Input{{IDs: ids, Want: want}})
		if err != nil {
			return nil, err
		}
		c.ok, c.block, c.total = true, [2]int{s, e}, len(want)
		c.counts.Full++
		return out[0], nil
	case edit >= 0:
		keep := min(edit, s)
		pos := make([]int, len(ids))
		for i := range pos {
			pos[i] = i
		}
		if err := c.cache.Relayout(keep, len(ids), pos, nil); err != nil {
			return nil, err
		}
		out, err := c.m.ForwardBlocks(c.cache, []model.Block{{Seq: 0, Start: keep, IDs: ids[keep:], Want: want}})
		if err != nil {
			c.ok = false
			return nil, err
		}
		c.block = [2]int{s, e}
		c.counts.Partial++
		return out[0], nil
	}
	b := c.block
	out, err := c.m.ForwardBlocks(c.cache, []model.Block{{Seq: 0, Start: b[0], IDs: ids[b[0]:b[1]], Want: want}})
	if err != nil {
		c.ok = false
		return nil, err
	}
	c.counts.Block++
	return out[0], nil
}
