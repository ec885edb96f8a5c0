// Package kvcache holds the dual K/V cache used to speed up denoising
// (Fast-dLLM's "dual cache", adapted to infilling).
//
// In infilling the canvas is prefix + masked middle + suffix and only the
// middle changes between denoising steps. A full forward pass (a refresh,
// model.Prefill) computes every layer's keys and values for every
// position and keeps them here; the following steps
// (model.ForwardBlocks) recompute only a block of rows that covers the
// middle, attending to the cached K/V of the prefix and suffix and to the
// block's fresh K/V, which are written over the block's cache rows.
//
// The block of a canvas is [first mask − 1, last mask + 1): it starts one
// slot before the first mask because Dream's logits are shifted (the
// hidden state at p−1 predicts the token at p), so the first masked slot
// needs a freshly computed row before it. The prefix and suffix K/V go
// stale as the middle is filled in (attention is bidirectional); Policy
// decides when to pay for a refresh.
//
// A refresh step's logits come from its own full pass (no extra pass, as
// Fast-dLLM commits the block's first token from the full pass). Across
// requests, Reuse and Relayout let a new canvas keep the K/V rows of an
// unchanged leading prefix (the keystroke case); those rows are stale in
// the same way.
//
// The cache lives on the backend; the attention against it is
// backend.AttendCached (fused on backends implementing
// backend.CachedAttention, a documented host fallback elsewhere).
package kvcache

import (
	"fmt"

	"github.com/dream-lsp/dream-lsp/runtime/backend"
)

// Seq is one canvas's rows in the cache.
type Seq struct {
	Offset int // first cache row
	Len    int // rows (the canvas length)
}

// Cache is a per-layer K/V cache for a batch of canvases packed one after
// another. It is not safe for concurrent use.
type Cache struct {
	be        backend.Backend
	kvDim     int
	k, v      []backend.Tensor // per layer, [Rows, kvDim]
	seqs      []Seq
	positions []int
	valid     []bool
	tokens    []int // the token each row's K/V was computed from (-1: unknown)
	rows      int
	epoch     int
}

// New returns an empty cache for a model with layers decoder layers whose
// keys and values are kvDim wide. Nothing is allocated until Reset.
func New(be backend.Backend, layers, kvDim int) *Cache {
	return &Cache{be: be, kvDim: kvDim, k: make([]backend.Tensor, layers), v: make([]backend.Tensor, layers)}
}

// Reset lays the cache out for canvases of the given lengths, with the
// RoPE position and validity of every row (valid nil: all rows take
// part). The tensors are reallocated only when the total row count
// changes; their contents are undefined until a full forward fills them.
func (c *Cache) Reset(seqLens []int, positions []int, valid []bool) error {
	rows := 0
	seqs := make([]Seq, len(seqLens))
	for i, n := range seqLens {
		if n <= 0 {
			return fmt.Errorf("kvcache: reset: sequence %d has length %d", i, n)
		}
		seqs[i] = Seq{Offset: rows, Len: n}
		rows += n
	}
	if len(positions) != rows {
		return fmt.Errorf("kvcache: reset: %d positions for %d rows", len(positions), rows)
	}
	if valid != nil && len(valid) != rows {
		return fmt.Errorf("kvcache: reset: %d validity flags for %d rows", len(valid), rows)
	}
	if rows != c.rows || len(c.k) > 0 && c.k[0] == nil {
		c.free()
		for i := range c.k {
			k, err := c.be.Alloc(rows, c.kvDim)
			if err != nil {
				c.free()
				return fmt.Errorf("kvcache: allocate layer %d keys [%d,%d]: %w", i, rows, c.kvDim, err)
			}
			c.k[i] = k
			v, err := c.be.Alloc(rows, c.kvDim)
			if err != nil {
				c.free()
				return fmt.Errorf("kvcache: allocate layer %d values [%d,%d]: %w", i, rows, c.kvDim, err)
			}
			c.v[i] = v
		}
		c.rows = rows
	}
	c.seqs = seqs
	c.positions = append(c.positions[:0], positions...)
	c.tokens = c.tokens[:0]
	for range rows {
		c.tokens = append(c.tokens, -1)
	}
	if valid == nil {
		c.valid = nil
	} else {
		c.valid = append(c.valid[:0], valid...)
	}
	c.epoch++
	return nil
}

// Layers is the number of layers the cache holds.
func (c *Cache) Layers() int { return len(c.k) }

// KVDim is the width of a key or value row.
func (c *Cache) KVDim() int { return c.kvDim }

// Layer returns layer i's key and value tensors, [Rows, KVDim].
func (c *Cache) Layer(i int) (k, v backend.Tensor) { return c.k[i], c.v[i] }

// Rows is the total number of cached rows.
func (c *Cache) Rows() int { return c.rows }

// Seqs returns the canvases' row ranges (do not modify).
func (c *Cache) Seqs() []Seq { return c.seqs }

// Positions returns the RoPE position of every cached row (do not modify).
func (c *Cache) Positions() []int { return c.positions }

// Valid returns the validity of every cached row, nil when all are valid
// (do not modify).
func (c *Cache) Valid() []bool { return c.valid }

// Tokens returns the token each cached row's K/V was computed from, -1
// where unknown (do not modify).
func (c *Cache) Tokens() []int { return c.tokens }

// SetTokens records that rows [row, row+len(ids)) now hold K/V computed
// from ids (model.Prefill and model.ForwardBlocks call it).
func (c *Cache) SetTokens(row int, ids []int) { copy(c.tokens[row:], ids) }

// Relayout turns a one-sequence cache into a one-sequence cache of
// seqLen rows with the given positions and validity, keeping the K/V of
// the first keep rows (which must have the same positions as before);
// the other rows are undefined until a forward pass writes them. It is
// how a new request reuses an earlier request's K/V for an unchanged
// prefix (see Reuse).
func (c *Cache) Relayout(keep, seqLen int, positions []int, valid []bool) error {
	if len(c.seqs) != 1 || keep < 0 || keep > c.rows || keep > seqLen {
		return fmt.Errorf("kvcache: relayout: keep %d of %d rows in %d sequences into %d", keep, c.rows, len(c.seqs), seqLen)
	}
	if seqLen == c.rows {
		tokens := append([]int(nil), c.tokens[:keep]...)
		if err := c.Reset([]int{seqLen}, positions, valid); err != nil {
			return err
		}
		copy(c.tokens, tokens)
		return nil
	}
	old := &Cache{be: c.be, kvDim: c.kvDim, k: c.k, v: c.v, rows: c.rows}
	tokens := append([]int(nil), c.tokens[:keep]...)
	c.k, c.v = make([]backend.Tensor, len(old.k)), make([]backend.Tensor, len(old.v))
	c.rows = 0
	defer old.free()
	if err := c.Reset([]int{seqLen}, positions, valid); err != nil {
		return err
	}
	copy(c.tokens, tokens)
	idx := make([]int, seqLen)
	for i := range keep {
		idx[i] = i
	}
	for i := range c.k {
		if err := c.be.GatherRows(c.k[i], old.k[i], idx); err != nil {
			return fmt.Errorf("kvcache: relayout layer %d keys: %w", i, err)
		}
		if err := c.be.GatherRows(c.v[i], old.v[i], idx); err != nil {
			return fmt.Errorf("kvcache: relayout layer %d values: %w", i, err)
		}
	}
	return nil
}

// Reuse returns how many leading rows of a one-sequence cache can serve a
// new canvas ids (RoPE positions 0..len(ids)−1, all valid): the length of
// the common prefix of the cached tokens and ids, when the cache holds
// one sequence laid out the same way; 0 otherwise.
func (c *Cache) Reuse(ids []int) int {
	if len(c.seqs) != 1 || c.valid != nil {
		return 0
	}
	n := 0
	for n < len(ids) && n < c.rows && c.tokens[n] == ids[n] && c.tokens[n] >= 0 && c.positions[n] == n {
		n++
	}
	return n
}

// Epoch counts Resets; callers can use it to notice a refill.
func (c *Cache) Epoch() int { return c.epoch }

// Free releases the cache's tensors; the cache can be Reset again.
func (c *Cache) Free() {
	c.free()
	c.seqs, c.positions, c.valid, c.tokens = nil, nil, nil, nil
}

func (c *Cache) free() {
	for i := range c.k {
		if c.k[i] != nil {
			c.be.Free(c.k[i])
			c.k[i] = nil
		}
		if c.v[i] != nil {
			c.be.Free(c.v[i])
			c.v[i] = nil
		}
	}
	c.rows = 0
}
