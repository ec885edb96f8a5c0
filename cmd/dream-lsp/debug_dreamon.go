package main

import (
	"flag"
	"fmt"

	"github.com/dream-lsp/dream-lsp/runtime/denoise"
	"github.com/dream-lsp/dream-lsp/runtime/engine"
	"github.com/dream-lsp/dream-lsp/runtime/model"
)

// dreamOnFlags are debug denoise's flags for DreamOn's variable-length
// loop (runtime/denoise DreamOnOptions).
type dreamOnFlags struct {
	on           *bool
	maxNew       *int
	padRight     *bool
	budget       *int
	maxIters     *int
	expandID     *int
	transferToks *int
}

func addDreamOnFlags(fs *flag.FlagSet) *dreamOnFlags {
	return &dreamOnFlags{
		on:           fs.Bool("dreamon", false, "run DreamOn's variable-length loop (one commit per step; expand and delete edit the canvas); --steps is unused"),
		maxNew:       fs.Int("max-new-tokens", 64, "--dreamon: cap on the middle, the canvas's masks included"),
		padRight:     fs.Bool("pad-delete-to-right", false, "--dreamon: a committed delete (EOS) also deletes every masked slot after it"),
		budget:       fs.Int("expand-budget", 0, "--dreamon: expansions allowed in all (0: upstream's 2·(max length − prefix); -1: none)"),
		maxIters:     fs.Int("max-iters", 0, "--dreamon: step cap (0: upstream's 2·(max length − prefix) + 2·budget)"),
		expandID:     fs.Int("expand-id", -1, "--dreamon: the expand token id (default: the model's, 151667 for DreamOn)"),
		transferToks: fs.Int("transfer", 1, "--dreamon: tokens committed per step (DreamOn: 1)"),
	}
}

// options returns the DreamOn options, or nil without --dreamon.
func (f *dreamOnFlags) options(e *engine.Engine) (*denoise.DreamOnOptions, error) {
	if !*f.on {
		return nil, nil
	}
	expand := *f.expandID
	if expand < 0 {
		id, ok := e.ExpandTokenID()
		if !ok {
			return nil, fmt.Errorf("%w: the model has no expand token (a DreamOn checkpoint's tokenizer defines 151667); give --expand-id", errUsage)
		}
		expand = id
	}
	eos := e.Config().EOSTokenID
	if eos == model.NoToken {
		return nil, fmt.Errorf("%w: the model has no EOS (delete) token", errUsage)
	}
	if *f.transferToks < 1 {
		return nil, fmt.Errorf("%w: --transfer %d", errUsage, *f.transferToks)
	}
	return &denoise.DreamOnOptions{
		ExpandTokenID: expand, DeleteTokenID: eos, MaxNewTokens: *f.maxNew,
		ExpandBudget: *f.budget, MaxIters: *f.maxIters, PadDeleteToRight: *f.padRight,
		Transfer: *f.transferToks,
	}, nil
}

// dreamOnDoc is the "dreamon" part of debug denoise's output: the middle
// and the per-step edits.
type dreamOnDoc struct {
	MiddleStart int                   `json:"middle_start"`
	MiddleLen   int                   `json:"middle_len"`
	Middle      []int                 `json:"middle"`
	MaxLength   int                   `json:"max_length"`
	Expansions  int                   `json:"expansions"`
	Deletions   int                   `json:"deletions"`
	BudgetLeft  int                   `json:"expand_budget_left"`
	Steps       []denoise.DreamOnStep `json:"steps"`
}

func newDreamOnDoc(res *denoise.Result) *dreamOnDoc {
	d := res.DreamOn
	if d == nil {
		return nil
	}
	return &dreamOnDoc{
		MiddleStart: d.MiddleStart, MiddleLen: d.MiddleLen,
		Middle:    res.Canvases[0][d.MiddleStart : d.MiddleStart+d.MiddleLen],
		MaxLength: d.MaxLength, Expansions: d.Expansions, Deletions: d.Deletions,
		BudgetLeft: d.BudgetLeft, Steps: d.Trace,
	}
}
