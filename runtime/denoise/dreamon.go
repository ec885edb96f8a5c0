package denoise

import (
	"context"
	"fmt"

	"github.com/dream-lsp/dream-lsp/runtime/model"
	"github.com/dream-lsp/dream-lsp/runtime/sampler"
)

// DreamOnOptions selects DreamOn's variable-length loop (Request.DreamOn),
// the loop of DreamLM/DreamOn eval/generator.py
// batch_generate_with_expand_as_token and of the model card's
// DreamOnGenerationMixin._sample (docs/design.md "DreamOn"). Each step
// commits exactly Transfer tokens with no timestep schedule, then edits
// the canvas: a delete (EOS) committed at a masked slot removes the slot,
// an expand token becomes two masks. Request.Steps is not used.
type DreamOnOptions struct {
	ExpandTokenID int // 151667 for DreamOn
	DeleteTokenID int // EOS (151643 for DreamOn); also fills the canvas past the window
	// MaxNewTokens caps the middle: the canvas may grow to max_length =
	// MaxNewTokens + len(canvas) − masks (upstream's max_new_tokens, which
	// counts the masks already there). Must be at least the mask count.
	MaxNewTokens int
	// ExpandBudget is how many expansions may happen in all; 0: upstream's
	// default 2·(max_length − prefix length); negative: none.
	ExpandBudget int
	// MaxIters caps the steps; 0: upstream's 2·(max_length − prefix
	// length) + 2·budget (the eval generator uses its `steps` instead).
	MaxIters int
	// PadDeleteToRight: once a delete token is in the canvas, every slot
	// after the first one that was masked before the step becomes a
	// delete too (upstream's pad_delete_to_right / pad_eos_to_right).
	PadDeleteToRight bool
	// Transfer is number_transfer_tokens (0: 1, DreamOn's only tested value).
	Transfer int
}

// DreamOnResult describes a DreamOn run (Result.DreamOn). The middle is
// Canvases[0][MiddleStart : MiddleStart+MiddleLen].
type DreamOnResult struct {
	MiddleStart, MiddleLen int
	MaxLength              int // the canvas cap
	Expansions, Deletions  int
	BudgetLeft             int
	Trace                  []DreamOnStep
	Cache                  CacheCounts // forward passes by kind (cached mode)
}

// DreamOnStep is one step of a DreamOn run.
type DreamOnStep struct {
	Window   int           `json:"window"`  // canvas length before the step
	Blocked  bool          `json:"blocked"` // expand was pushed down (cap reached or budget spent)
	Commits  []DreamOnEdit `json:"commits"`
	Deleted  []int         `json:"deleted,omitempty"`  // slots removed (positions before the step)
	Expanded []int         `json:"expanded,omitempty"` // slots that became two masks (positions after the deletions)
}

// DreamOnEdit is one committed token.
type DreamOnEdit struct {
	Pos   int     `json:"pos"`
	Token int     `json:"token"`
	Prob  float32 `json:"prob"`
}

// CacheCounts counts a cached run's forward passes: Full (every row),
// Partial (from an edit point to the end, after a length change) and Block
// (the masked block only).
type CacheCounts struct{ Full, Partial, Block int }

// expandPenalty is what upstream subtracts from the expand logit to block
// expansion (logits[:, expand_token_id] -= 1e9).
const expandPenalty = 1e9

// runDreamOn is Run for Request.DreamOn. Its comments name the upstream
// step each block reproduces (bench/gpu/dreamon_ref.py has the same loop
// in PyTorch with line-by-line notes).
func runDreamOn(ctx context.Context, m Model, req Request) (*Result, error) {
	o := *req.DreamOn
	cfg := m.Config()
	mask, vocab := cfg.MaskTokenID, cfg.VocabSize
	if len(req.Canvases) != 1 {
		return nil, fmt.Errorf("denoise: dreamon runs one canvas, got %d (upstream supports batch size 1 only)", len(req.Canvases))
	}
	for _, id := range []int{o.ExpandTokenID, o.DeleteTokenID} {
		if id < 0 || id >= vocab || id == mask {
			return nil, fmt.Errorf("denoise: dreamon: token id %d is not a usable expand/delete id (vocabulary %d, mask %d)", id, vocab, mask)
		}
	}
	if o.Transfer == 0 {
		o.Transfer = 1
	}
	if o.Transfer < 0 {
		return nil, fmt.Errorf("denoise: dreamon: %d tokens per step", o.Transfer)
	}
	in := req.Canvases[0]
	prefix, starts := -1, 0
	for j, id := range in {
		if id < 0 || id >= vocab {
			return nil, fmt.Errorf("denoise: canvas 0: token id %d at %d outside the vocabulary [0,%d)", id, j, vocab)
		}
		if id == mask {
			if prefix < 0 {
				prefix = j
			}
			starts++
		}
	}
	// upstream: prefix_len = first mask, start_gen_len = mask count (a
	// canvas without masks is an error there too).
	if prefix < 0 {
		return nil, fmt.Errorf("denoise: dreamon: the canvas has no mask")
	}
	// upstream: max_length = max_new_tokens + input length − masks.
	if o.MaxNewTokens < starts {
		return nil, fmt.Errorf("denoise: dreamon: max new tokens %d is below the %d masks of the canvas", o.MaxNewTokens, starts)
	}
	maxLen := o.MaxNewTokens + len(in) - starts
	if mp := cfg.MaxPositionEmbeddings; mp > 0 && maxLen > mp {
		return nil, fmt.Errorf("denoise: dreamon: the canvas may grow to %d tokens, the model has %d positions", maxLen, mp)
	}
	// upstream: max_gen_len = max_length − prefix_len; expand_budget =
	// 2·max_gen_len unless given; iterations 2·max_gen_len + 2·budget.
	maxGen := maxLen - prefix
	budget := 2 * maxGen
	switch {
	case o.ExpandBudget > 0:
		budget = o.ExpandBudget
	case o.ExpandBudget < 0:
		budget = 0
	}
	iters := 2*maxGen + 2*budget
	if o.MaxIters > 0 {
		iters = o.MaxIters
	}
	smp, err := sampler.New(req.Sampler, 1, 0)
	if err != nil {
		return nil, fmt.Errorf("denoise: %w", err)
	}
	var cs *dreamonCache
	if req.Cache.Enabled {
		if cs, err = newDreamOnCache(m, req.Cache); err != nil {
			return nil, err
		}
		defer cs.close()
	}
	// upstream: x = input padded to max_length (with EOS in the model card;
	// the padding never enters the window).
	x := make([]int, maxLen)
	copy(x, in)
	for j := len(in); j < maxLen; j++ {
		x[j] = o.DeleteTokenID
	}
	conf := make([]float32, maxLen)
	nGen := starts
	dr := &DreamOnResult{MiddleStart: prefix, MaxLength: maxLen}
	res := &Result{DreamOn: dr}
	edit := -1 // first position whose K/V moved since the last forward (cached mode)
	for step := range iters {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// upstream: window = input length − start_gen_len + n_gen (F.pad
		// crops when it exceeds max_length, reachable only with Transfer >
		// 1); masked slots in the window; stop when there are none.
		w := len(in) - starts + nGen
		wc := min(w, maxLen)
		var want []int
		for j := range wc {
			if x[j] == mask {
				want = append(want, j)
			}
		}
		if len(want) == 0 {
			break
		}
		// upstream: positions cumsum(window) − 1 = 0..wc−1, attention on
		// the window only, shifted logits of the masked slots.
		ids := x[:wc]
		var logits []float32
		if cs != nil {
			logits, err = cs.forward(step, ids, want, edit)
		} else {
			var out [][]float32
			out, err = m.Forward([]model.Input{{IDs: ids, Want: want}})
			if err == nil {
				if len(out) != 1 {
					return nil, fmt.Errorf("denoise: step %d: model returned %d rows", step, len(out))
				}
				logits = out[0]
			}
		}
		if err != nil {
			return nil, fmt.Errorf("denoise: step %d: %w", step, err)
		}
		if len(logits) != len(want)*vocab {
			return nil, fmt.Errorf("denoise: step %d: model returned %d logits, want %d", step, len(logits), len(want)*vocab)
		}
		edit = -1
		// upstream: block expansion when the window is at max_length or
		// the budget is spent.
		st := DreamOnStep{Window: w, Blocked: w == maxLen || budget == 0}
		if st.Blocked {
			for i := range want {
				logits[i*vocab+o.ExpandTokenID] -= expandPenalty
			}
		}
		// upstream: commit exactly number_transfer_tokens slots.
		commits, err := smp.StepTransfer(logits, vocab, o.Transfer)
		if err != nil {
			return nil, fmt.Errorf("denoise: step %d: %w", step, err)
		}
		for _, c := range commits {
			p := want[c.Slot]
			x[p], conf[p] = c.Token, c.Confidence
			st.Commits = append(st.Commits, DreamOnEdit{Pos: p, Token: c.Token, Prob: c.Confidence})
		}
		// upstream: pad_delete_to_right: from the first delete token in x,
		// every slot masked before the step becomes a delete.
		if o.PadDeleteToRight {
			first := -1
			for j, id := range x {
				if id == o.DeleteTokenID {
					first = j
					break
				}
			}
			if first >= 0 {
				for _, p := range want {
					if p >= first {
						x[p] = o.DeleteTokenID
					}
				}
			}
		}
		// upstream (model card order): delete every slot masked before the
		// step that now holds the delete token, right to left; a mask is
		// appended past the end and the middle shrinks by one.
		for i := len(want) - 1; i >= 0; i-- {
			p := want[i]
			if x[p] != o.DeleteTokenID {
				continue
			}
			copy(x[p:], x[p+1:])
			x[len(x)-1] = mask
			copy(conf[p:], conf[p+1:])
			conf[len(conf)-1] = 0
			nGen--
			dr.Deletions++
			st.Deleted = append([]int{p}, st.Deleted...)
			edit = p
		}
		// upstream: every expand token in x, right to left, becomes two
		// masks; the middle grows by one, the budget shrinks by one and x
		// is cut back to max_length.
		for j := len(x) - 1; j >= 0; j-- {
			if x[j] != o.ExpandTokenID {
				continue
			}
			x = append(x[:j+1], x[j:]...)
			x[j], x[j+1] = mask, mask
			conf = append(conf[:j+1], conf[j:]...)
			conf[j], conf[j+1] = 0, 0
			x, conf = x[:maxLen], conf[:maxLen]
			nGen++
			budget--
			dr.Expansions++
			st.Expanded = append([]int{j}, st.Expanded...)
			if edit < 0 || j < edit {
				edit = j
			}
		}
		dr.Trace = append(dr.Trace, st)
		res.Steps = step + 1
		if req.OnStep != nil {
			req.OnStep(step, [][]int{x[:min(len(in)-starts+nGen, maxLen)]})
		}
	}
	wc := min(len(in)-starts+nGen, maxLen)
	res.Canvases = [][]int{append([]int(nil), x[:wc]...)}
	res.Confidence = [][]float32{append([]float32(nil), conf[:wc]...)}
	dr.MiddleLen = max(min(nGen, wc-prefix), 0)
	dr.BudgetLeft = budget
	if cs != nil {
		dr.Cache = cs.counts
	}
	return res, nil
}
