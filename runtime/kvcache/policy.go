package kvcache

// DefaultRefresh is Policy.Refresh's default: a full forward pass every
// 4 steps (chosen by measurement, docs/BENCHMARKS.md "KV cache (CPU)").
const DefaultRefresh = 4

// Policy decides which denoising steps run a full forward pass (refresh
// the cache) and which run only the block.
type Policy struct {
	// Refresh: a full forward pass on every step s with s%Refresh == 0
	// (step 0 always refreshes). 1 refreshes every step, which is the
	// uncached computation; a negative value never refreshes after step 0.
	// 0 means DefaultRefresh.
	Refresh int
	// RefreshOnCommit, when > 0, also refreshes once at least that
	// fraction of the block's masks present at the last refresh have been
	// committed since (0 < f ≤ 1; 0: off).
	RefreshOnCommit float64
	// Blocks turns on Fast-dLLM's per-block dual cache for samplers with
	// blocks (confidence_threshold, Options.BlocksOf() > 0): a block step
	// recomputes only the active block and the cache also refreshes when
	// the active block changes. Off (or without blocks), a block step
	// spans every mask, as before. Only denoise.Run implements it: a
	// stream refuses such requests (engine.Batcher runs them alone) and
	// the device path keeps the whole-row block.
	Blocks bool
}

// Full reports whether step is a refresh step, given how many of the
// masks present at the last refresh are still masked (left of total).
func (p Policy) Full(step, left, total int) bool {
	if step == 0 {
		return true
	}
	r := p.Refresh
	if r == 0 {
		r = DefaultRefresh
	}
	if r > 0 && step%r == 0 {
		return true
	}
	if p.RefreshOnCommit > 0 && total > 0 && float64(total-left) >= p.RefreshOnCommit*float64(total) {
		return true
	}
	return false
}

// Block returns the block [start, end) of canvas ids that a cached step
// recomputes: from one slot before the first mask (Dream's shifted logits
// read the row before each masked slot) to one past the last mask. ok is
// false when ids holds no mask.
func Block(ids []int, mask int) (start, end int, ok bool) {
	first, last := -1, -1
	for j, id := range ids {
		if id == mask {
			if first < 0 {
				first = j
			}
			last = j
		}
	}
	if first < 0 {
		return 0, 0, false
	}
	return max(first-1, 0), last + 1, true
}
