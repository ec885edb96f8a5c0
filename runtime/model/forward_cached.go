package model

import (
	"fmt"

	"github.com/dream-lsp/dream-lsp/runtime/backend"
	"github.com/dream-lsp/dream-lsp/runtime/kvcache"
)

// NewCache returns an empty K/V cache sized for m's layers on m's backend.
// Free it (Cache.Free) when done.
func (m *Model) NewCache() *kvcache.Cache {
	return kvcache.New(m.be, m.cfg.NumLayers, m.cfg.KVDim())
}

func (m *Model) resetCache(c *kvcache.Cache, ids, seqLens, positions []int, valid []bool) error {
	if c.Layers() != m.cfg.NumLayers || c.KVDim() != m.cfg.KVDim() {
		return fmt.Errorf("model: cache has %d layers × %d, model %d × %d", c.Layers(), c.KVDim(), m.cfg.NumLayers, m.cfg.KVDim())
	}
	if err := c.Reset(seqLens, positions, valid); err != nil {
		return fmt.Errorf("model: %w", err)
	}
	c.SetTokens(0, ids)
	return nil
}

// Prefill is Forward that also fills c: c is laid out for in (one cache
// sequence per input, in order) and receives every layer's keys and
// values for every position. The logits are exactly Forward's.
func (m *Model) Prefill(c *kvcache.Cache, in []Input) ([][]float32, error) {
	if c == nil {
		return nil, fmt.Errorf("model: prefill: nil cache")
	}
	out, err := m.forward(in, c)
	if err != nil {
		c.Free() // its rows may be half written: nothing in it may be reused
	}
	return out, err
}

// Block is one canvas's block for ForwardBlocks.
type Block struct {
	Seq   int   // the cache sequence (index of the input in the last Prefill)
	Start int   // first canvas position of the block
	IDs   []int // the block's current tokens, canvas positions [Start, Start+len(IDs))
	// Want lists canvas positions whose shifted logits are returned; the
	// row before each (p−1, or 0 for p = 0) must lie in the block.
	Want []int
}

// ForwardBlocks runs only the blocks' rows, each attending to its cached
// sequence: cached K/V outside the block, fresh K/V inside it (written
// into the cache). Positions and validity come from the cache (the last
// Prefill). Blocks must have strictly increasing Seq. The result is laid
// out like Forward's: out[i][w*VocabSize:(w+1)*VocabSize] for
// blocks[i].Want[w].
//
// When the canvas has not changed since the Prefill, the logits equal
// Forward's up to float32 rounding; after the block changed, the rows
// outside it are stale (that is the approximation the cache makes).
func (m *Model) ForwardBlocks(c *kvcache.Cache, blocks []Block) ([][]float32, error) {
	cfg := m.cfg
	be := m.be
	if c == nil || c.Rows() == 0 {
		return nil, fmt.Errorf("model: forward blocks: cache is empty (Prefill first)")
	}
	if c.Layers() != cfg.NumLayers || c.KVDim() != cfg.KVDim() {
		return nil, fmt.Errorf("model: forward blocks: cache has %d layers × %d, model %d × %d", c.Layers(), c.KVDim(), cfg.NumLayers, cfg.KVDim())
	}
	seqs := c.Seqs()
	cpos := c.Positions()
	var (
		ids, positions, slots, rows []int
		qLens                       = make([]int, len(seqs))
		kLens                       = make([]int, len(seqs))
	)
	for s, sq := range seqs {
		kLens[s] = sq.Len
	}
	prev := -1
	for n, b := range blocks {
		if b.Seq <= prev || b.Seq >= len(seqs) {
			return nil, fmt.Errorf("model: forward blocks: block %d: sequence %d (after %d, cache has %d)", n, b.Seq, prev, len(seqs))
		}
		prev = b.Seq
		sq := seqs[b.Seq]
		B := len(b.IDs)
		if B == 0 || b.Start < 0 || b.Start+B > sq.Len {
			return nil, fmt.Errorf("model: forward blocks: block %d: rows [%d,%d) outside canvas [0,%d)", n, b.Start, b.Start+B, sq.Len)
		}
		base := len(ids)
		for j, id := range b.IDs {
			if id < 0 || id >= cfg.VocabSize {
				return nil, fmt.Errorf("model: forward blocks: block %d: token id %d at %d outside the vocabulary [0,%d)", n, id, b.Start+j, cfg.VocabSize)
			}
			slot := sq.Offset + b.Start + j
			slots = append(slots, slot)
			positions = append(positions, cpos[slot])
		}
		ids = append(ids, b.IDs...)
		qLens[b.Seq] = B
		for _, p := range b.Want {
			r := max(p-1, 0)
			if p < 0 || p >= sq.Len || r < b.Start || r >= b.Start+B {
				return nil, fmt.Errorf("model: forward blocks: block %d: wanted position %d needs row %d outside the block [%d,%d)", n, p, r, b.Start, b.Start+B)
			}
			rows = append(rows, base+r-b.Start)
		}
	}
	out := make([][]float32, len(blocks))
	if len(blocks) == 0 {
		return out, nil
	}
	T := len(ids)
	s := &scratch{be: be}
	defer s.free()
	a := s.activations(cfg, T)
	k := s.alloc(T, cfg.KVDim())
	v := s.alloc(T, cfg.KVDim())
	if s.err != nil {
		return nil, fmt.Errorf("model: forward blocks: allocate activations for %d tokens: %w", T, s.err)
	}
	ap := backend.CachedAttentionParams{Heads: cfg.NumHeads, KVHeads: cfg.NumKVHeads, HeadDim: cfg.HeadDim,
		QueryLens: qLens, KeyLens: kLens, Slots: slots, Valid: c.Valid()}
	kv := func(int) (backend.Tensor, backend.Tensor) { return k, v }
	attend := func(i int, k, v backend.Tensor) error {
		kc, vc := c.Layer(i)
		return backend.AttendCached(be, a.att, a.q, k, v, kc, vc, ap)
	}
	last, at, err := m.stack(s, a, ids, positions, kv, attend, rows)
	if err != nil {
		c.Free() // block rows may be half written
		return nil, fmt.Errorf("model: forward blocks: %w", err)
	}
	if len(rows) == 0 {
		recordBlockTokens(c, blocks)
		return out, nil
	}
	host, err := m.logits(s, last, at)
	if err != nil {
		return nil, fmt.Errorf("model: forward blocks: %w", err)
	}
	V := cfg.VocabSize
	recordBlockTokens(c, blocks)
	off := 0
	for n, b := range blocks {
		w := len(b.Want)
		out[n] = host[off*V : (off+w)*V : (off+w)*V]
		off += w
	}
	return out, nil
}

// recordBlockTokens notes in c which tokens the blocks' K/V rows hold now.
func recordBlockTokens(c *kvcache.Cache, blocks []Block) {
	seqs := c.Seqs()
	for _, b := range blocks {
		c.SetTokens(seqs[b.Seq].Offset+b.Start, b.IDs)
	}
}
