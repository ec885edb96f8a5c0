package infill

import (
	"context"
	"fmt"

	"github.com/dream-lsp/dream-lsp/runtime/denoise"
	"github.com/dream-lsp/dream-lsp/runtime/sampler"
)

// DreamOn's recommended settings (DreamLM/DreamOn readme quickstart and
// eval/eval_humaneval_infilling.sh), the defaults for checkpoints with the
// expand token: entropy order, temperature 0.2, top-p 0.9, one token per
// step, a small initial mask count, and a 64-token cap on the middle
// (DefaultMaxTokens, or the request's MaxTokens).
const (
	DreamOnAlg          = "entropy"
	DreamOnTemperature  = 0.2
	DreamOnTopP         = 0.9
	DreamOnInitialMasks = 4 // the smallest of upstream's evaluated {4, 8, 16, 32, 64}
)

// ExpandRequest is one DreamOn infill: Canvas holds BOS, the prefix, the
// initial masks, the suffix and EOS, as upstream's prompt does.
type ExpandRequest struct {
	Canvas       []int
	MaxNewTokens int    // cap on the middle, the initial masks included
	MaxIters     int    // step cap (0: upstream's default, see denoise.DreamOnOptions)
	Alg          string // "": DreamOnAlg
	Temperature  float64
	TopP         float64
	Seed         uint64
}

// ExpandResult is the middle DreamOn settled on, with each token's
// confidence when it was committed.
type ExpandResult struct {
	Middle     []int
	Confidence []float32
	Steps      int
	Expansions int
	Deletions  int
}

// ExpandDenoiser is implemented by runtimes that run DreamOn's own loop
// (FromEngine's does, through runtime/denoise). Complete uses it whenever
// the runtime reports an expand token; a runtime without it falls back to
// whole-pass approximation in denoiseExpand.
type ExpandDenoiser interface {
	DenoiseExpand(ctx context.Context, req ExpandRequest) (*ExpandResult, error)
}

// DenoiseExpand runs DreamOn's loop (denoise.DreamOnOptions) on the engine.
func (r *engineRuntime) DenoiseExpand(ctx context.Context, req ExpandRequest) (*ExpandResult, error) {
	expand, ok := r.e.ExpandTokenID()
	if !ok {
		return nil, fmt.Errorf("infill: the model has no expand token")
	}
	alg := req.Alg
	if alg == "" {
		alg = DreamOnAlg
	}
	res, err := r.e.Denoise(ctx, denoise.Request{
		Canvases: [][]int{req.Canvas},
		Sampler: sampler.Options{
			Alg: sampler.Alg(alg), Temperature: req.Temperature, TopP: req.TopP,
			Seed: req.Seed, EOSTokenID: max(r.eos, 0),
		},
		DreamOn: &denoise.DreamOnOptions{ExpandTokenID: expand, DeleteTokenID: r.eos, MaxNewTokens: req.MaxNewTokens, MaxIters: req.MaxIters},
	})
	if err != nil {
		return nil, err
	}
	d := res.DreamOn
	if d == nil || len(res.Canvases) != 1 || d.MiddleStart+d.MiddleLen > len(res.Canvases[0]) {
		return nil, fmt.Errorf("infill: the runtime returned no DreamOn middle")
	}
	s, n := d.MiddleStart, d.MiddleLen
	return &ExpandResult{
		Middle:     res.Canvases[0][s : s+n],
		Confidence: res.Confidence[0][s : s+n],
		Steps:      res.Steps,
		Expansions: d.Expansions,
		Deletions:  d.Deletions,
	}, nil
}

// dreamOn completes with DreamOn's loop: BOS + prefix + the initial masks
// + suffix + EOS, grown and shrunk by the model up to maxTok tokens of
// middle. The prefix is cut from the left when the grown canvas would
// exceed the model's positions. steps > 0 caps the loop's steps (as the
// eval generator's `steps` does; masks left then are dropped from the
// middle); 0 keeps upstream's cap. The request's context (its deadline) is
// checked between steps.
func (e *Engine) dreamOn(ctx context.Context, rt ExpandDenoiser, pre, suf []int, maxTok, steps int, alg string) ([]middle, error) {
	mask, eos := e.rt.MaskID(), e.rt.EOSID()
	n := min(DreamOnInitialMasks, maxTok)
	var head []int
	if bos, ok := e.rt.BOSID(); ok {
		head = []int{bos}
		if len(pre) > 0 && pre[0] == bos {
			pre = pre[1:]
		}
	}
	if mp := e.rt.MaxPositions(); mp > 0 {
		over := len(head) + len(pre) + len(suf) + 1 + maxTok - mp
		if over > len(pre) {
			return nil, fmt.Errorf("infill: a middle of %d tokens leaves no room for context in the model's %d positions", maxTok, mp)
		}
		if over > 0 {
			pre = pre[over:]
		}
	}
	canvas := make([]int, 0, len(head)+len(pre)+n+len(suf)+1)
	canvas = append(append(canvas, head...), pre...)
	for range n {
		canvas = append(canvas, mask)
	}
	canvas = append(append(canvas, suf...), eos)
	switch alg {
	case "maskgit_plus", "topk_margin", "entropy":
	default: // origin and confidence_threshold have no one-token-per-step form upstream
		e.log.Debug("dreamon: algorithm not supported by the loop, using entropy", "alg", alg)
		alg = DreamOnAlg
	}
	out, err := rt.DenoiseExpand(ctx, ExpandRequest{
		Canvas: canvas, MaxNewTokens: maxTok, MaxIters: max(steps, 0), Alg: alg,
		Temperature: DreamOnTemperature, TopP: DreamOnTopP,
	})
	if err != nil {
		return nil, fmt.Errorf("infill: dreamon: %w", err)
	}
	e.log.Debug("dreamon", "initial_masks", n, "cap", maxTok, "steps", out.Steps,
		"expansions", out.Expansions, "deletions", out.Deletions, "middle_tokens", len(out.Middle))
	return []middle{e.cleanMiddle(out.Middle, out.Confidence)}, nil
}
