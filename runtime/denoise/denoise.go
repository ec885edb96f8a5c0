// Package denoise runs Dream's denoising loop over a batch of canvases:
// each step runs one forward pass over every canvas that still has masks
// (packed into one batch), samples the masked slots and commits tokens by
// the chosen algorithm (runtime/sampler).
//
// Rows are independent: each runs Dream's schedule on its own mask count
// and stops as soon as it has no mask left, so rows may differ in length
// and mask count. The context is checked before every step; a cancelled
// run returns ctx.Err().
package denoise

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"github.com/dream-lsp/dream-lsp/runtime/model"
	"github.com/dream-lsp/dream-lsp/runtime/sampler"
)

// Request is one denoising job.
type Request struct {
	Canvases [][]int // one row per canvas; slots equal to the mask id are filled, the rest are pinned.
	// Rows may differ in length and mask count (each row runs Dream's schedule on its own masks).
	Steps int // denoising steps (>= 1); with no masks left a row stops early
	// RowSteps optionally gives each canvas its own step count (0: Steps), so
	// a short canvas batched with a long one runs its own schedule (one token
	// per step, say) and leaves the batch early instead of committing most of
	// its tokens in the last steps of the long one's schedule. The loop runs
	// the largest count.
	RowSteps []int
	Sampler  sampler.Options
	OnStep   func(step int, canvases [][]int) // optional; canvases after step (do not retain)
	// Cache selects the dual K/V cache (zero value: off, every step is a
	// full forward pass). See CacheOptions.
	Cache CacheOptions
	// EOSTail pads each run of masks after its first committed eos in the
	// same step (Sampler.EOSTokenID; see eosTail). Off: Dream's schedule.
	EOSTail bool
	// EOSRuns fills the end-of-text padding at the end of each run of masks
	// a stretch at a time (see eosRuns); a row that got such slots goes on
	// with a replanned schedule (sampler.Replanned). Off: Dream's schedule.
	// DreamOn requests, whose canvas changes length, ignore it.
	EOSRuns bool
	// DreamOn, when set, runs DreamOn's variable-length loop on the one
	// canvas instead of Dream's schedule (Steps is then unused); see
	// DreamOnOptions. OnStep sees the canvas, whose length changes.
	DreamOn *DreamOnOptions
}

// Result is the outcome of a Request.
type Result struct {
	Canvases   [][]int        // final canvases
	Confidence [][]float32    // per slot: the sampler's confidence when the slot was committed (0 for pinned slots)
	Steps      int            // steps actually run (max over rows)
	DreamOn    *DreamOnResult // set for Request.DreamOn: the middle, edits and trace
}

// Model is what the loop needs from a model: *model.Model satisfies it.
type Model interface {
	Config() model.Config
	Forward(in []model.Input) ([][]float32, error)
}

// Run denoises req.Canvases with m. The canvases in req are not modified.
func Run(ctx context.Context, m Model, req Request) (*Result, error) {
	if req.DreamOn != nil {
		return runDreamOn(ctx, m, req)
	}
	if dm, ok := m.(DeviceModel); ok {
		return runDevice(ctx, dm, req) // device.go: the device's own fast path
	}
	cfg := m.Config()
	mask, vocab := cfg.MaskTokenID, cfg.VocabSize
	if err := checkRequest(req); err != nil {
		return nil, err
	}
	for r := range req.Canvases { // a bad step count fails before the cache is set up
		if _, err := rowStepsOf(req, r); err != nil {
			return nil, err
		}
	}
	var (
		fwd func(step int, inputs []model.Input, rows []int) ([][]float32, error)
		cs  *cachedStepper
	)
	if req.Cache.Enabled {
		var err error
		cs, err = newCachedStepper(m, req.Cache)
		if err != nil {
			return nil, err
		}
		defer cs.close()
		fwd = cs.forward
	} else {
		fwd = func(_ int, inputs []model.Input, _ []int) ([][]float32, error) { return m.Forward(inputs) }
	}
	rs, err := newRows(req, mask, vocab, 0, true)
	if err != nil {
		return nil, err
	}
	res, samplers, blockOf, steps := rs.res, rs.samplers, rs.blockOf, rs.steps
	if cs != nil && req.Cache.Policy.Blocks {
		cs.blockOf = blockOf // block steps per confidence_threshold block
	}
	for step := range steps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		inputs, rows, _ := maskedInputs(res.Canvases, mask)
		if len(inputs) == 0 {
			break
		}
		logits, err := fwd(step, inputs, rows)
		if err != nil {
			return nil, fmt.Errorf("denoise: step %d: %w", step, err)
		}
		if len(logits) != len(inputs) {
			return nil, fmt.Errorf("denoise: step %d: model returned logits for %d canvases, want %d", step, len(logits), len(inputs))
		}
		for i, r := range rows {
			if want := len(inputs[i].Want) * vocab; len(logits[i]) != want {
				return nil, fmt.Errorf("denoise: step %d, canvas %d: model returned %d logits, want %d", step, r, len(logits[i]), want)
			}
		}
		// Rows sample and commit side by side: each has its own sampler.
		errs := make([]error, len(rows))
		sideBySide(len(rows), func(i int) {
			r := rows[i]
			_, errs[i] = commitRow(req, samplers[r], step, res.Canvases[r], res.Confidence[r], req.Canvases[r], inputs[i].Want, slotBlocks(blockOf[r], inputs[i].Want), logits[i], vocab, mask)
		})
		for i, err := range errs {
			if err != nil {
				return nil, fmt.Errorf("denoise: step %d, canvas %d: %w", step, rows[i], err)
			}
		}
		res.Steps = step + 1
		if req.OnStep != nil {
			req.OnStep(step, res.Canvases)
		}
	}
	return res, nil
}

// commitRow runs one row's step after its forward pass: the sampler's
// commits into canvas and conf (the row's current tokens and confidences;
// orig its initial canvas, want the positions logits scores), then the
// request's end-of-text rules, replanning the row's schedule when
// EOSRuns filled slots. It returns how many slots the step filled.
func commitRow(req Request, s *sampler.Sampler, step int, canvas []int, conf []float32, orig, want, blocks []int, logits []float32, vocab, mask int) (int, error) {
	commits, err := s.StepBlocks(step, logits, vocab, blocks)
	if err != nil {
		return 0, err
	}
	for _, c := range commits {
		p := want[c.Slot]
		canvas[p] = c.Token
		conf[p] = c.Confidence
	}
	n := len(commits)
	eos := req.Sampler.EOSTokenID
	if req.EOSTail {
		n += eosTail(canvas, conf, orig, want, logits, vocab, mask, eos)
	}
	if req.EOSRuns {
		if k := eosRuns(canvas, conf, orig, want, mask, eos, eosFromLogits(logits, vocab)); k > 0 {
			n += k
			s.Replan(step+1, MaskCount(canvas, mask))
		}
	}
	return n, nil
}

// sideBySide runs f(0..n-1) on at most GOMAXPROCS goroutines and waits:
// the per-row (Run) and per-job (Stream) sampling after a forward pass.
func sideBySide(n int, f func(i int)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			f(i)
		}()
	}
	wg.Wait()
}
