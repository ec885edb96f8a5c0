package infill

// The default denoising schedule (issue 15). Every length candidate runs
// one token per step, except its end-of-text padding: once a candidate's
// run of masks ends in eos, the masked slots before it whose greedy token
// is eos fill in the same step (DenoiseRequest.EOSRuns; Options.DreamPadding
// turns that off). A long candidate whose middle is short then ends after
// about its middle's steps instead of one step per mask, with the same
// held-out exact match (docs/BENCHMARKS.md "LSP latency (issue 15)").
// Committing several ordinary slots a step (a step cap of 12 with entropy
// or confidence_threshold, 4 or 8 tokens a step) lost exact matches with
// the built-in model, whose probabilities rarely clear a threshold and
// whose long candidates then fill with noise instead of padding.
// Options.MaxSteps and the steps setting trade that quality for speed.
const (
	// DefaultMaxSteps caps the steps of a length candidate when neither
	// the request nor Options set steps: one token per step up to this
	// many steps, more per step beyond (0: no cap).
	DefaultMaxSteps = 0
	// DefaultThreshold is confidence_threshold's τ when a request sets
	// none (Fast-dLLM's).
	DefaultThreshold = 0.9
	// DefaultBlockSize is confidence_threshold's block of masked slots when
	// a request sets none: the whole middle is one block, since an infill
	// middle's end is as known as its start (Fast-dLLM's 32-slot blocks
	// decode left to right).
	DefaultBlockSize = -1
)

// rowSteps returns the steps of each canvas with totals[r] masks. steps
// > 0 is the longest canvas's count, the others get their share of it, so
// short candidates are not committed all at once at the end of the long
// one's schedule and leave the batch early; steps <= 0 gives every canvas
// one step per mask, at most maxSteps (when > 0). The second result is
// the loop's count (the largest).
func rowSteps(totals []int, steps, maxSteps int) ([]int, int) {
	maxMasks := 0
	for _, t := range totals {
		maxMasks = max(maxMasks, t)
	}
	out := make([]int, len(totals))
	longest := 1
	for r, total := range totals {
		if steps <= 0 {
			out[r] = max(1, total)
			if maxSteps > 0 {
				out[r] = min(out[r], maxSteps)
			}
		} else {
			out[r] = max(1, (steps*total+maxMasks-1)/max(maxMasks, 1))
		}
		longest = max(longest, out[r])
	}
	return out, longest
}
