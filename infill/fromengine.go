package infill

import (
	"context"
	"fmt"

	"github.com/dream-lsp/dream-lsp/runtime/denoise"
	"github.com/dream-lsp/dream-lsp/runtime/model"
	"github.com/dream-lsp/dream-lsp/runtime/sampler"
	"github.com/dream-lsp/dream-lsp/runtime/tokenizer"
)

// EngineRuntime is the part of runtime/engine.Engine that FromEngine uses;
// *engine.Engine satisfies it.
type EngineRuntime interface {
	Tokenizer() *tokenizer.Tokenizer
	Config() model.Config
	ExpandTokenID() (int, bool)
	Denoise(ctx context.Context, req denoise.Request) (*denoise.Result, error)
}

// FromEngine adapts a runtime engine (runtime/engine.Engine) to Runtime.
// User text is encoded in plain mode, so special tokens typed in a file are
// ordinary text. Sampling is greedy with deterministic positions.
func FromEngine(e EngineRuntime) (Runtime, error) {
	tok := e.Tokenizer()
	if tok == nil {
		return nil, fmt.Errorf("infill: the model has no tokenizer")
	}
	cfg := e.Config()
	if cfg.MaskTokenID == model.NoToken {
		return nil, fmt.Errorf("infill: the model has no mask token")
	}
	r := &engineRuntime{e: e, tok: tok, cfg: cfg, eos: cfg.EOSTokenID, pad: cfg.PadTokenID}
	if r.pad == model.NoToken {
		r.pad = r.eos
	}
	return r, nil
}

type engineRuntime struct {
	e        EngineRuntime
	tok      *tokenizer.Tokenizer
	cfg      model.Config
	eos, pad int
}

func (r *engineRuntime) Encode(text string) []int { return r.tok.Encode(text) }
func (r *engineRuntime) Decode(ids []int) string  { return r.tok.DecodeSkipSpecial(ids) }
func (r *engineRuntime) MaskID() int              { return r.cfg.MaskTokenID }
func (r *engineRuntime) EOSID() int               { return r.eos }
func (r *engineRuntime) PadID() int               { return r.pad }
func (r *engineRuntime) ExpandID() (int, bool)    { return r.e.ExpandTokenID() }
func (r *engineRuntime) MaxPositions() int        { return r.cfg.MaxPositionEmbeddings }
func (r *engineRuntime) BOSID() (int, bool) {
	return r.cfg.BOSTokenID, r.cfg.BOSTokenID != model.NoToken && r.cfg.BOSTokenID >= 0
}

func (r *engineRuntime) Denoise(ctx context.Context, req DenoiseRequest) (*DenoiseResult, error) {
	alg := sampler.Alg(req.Alg)
	if alg == "" {
		alg = sampler.Alg(DefaultAlg)
	}
	res, err := r.e.Denoise(ctx, denoise.Request{
		Canvases: req.Canvases,
		Steps:    req.Steps,
		RowSteps: req.RowSteps,
		EOSRuns:  req.EOSRuns,
		Sampler:  sampler.Options{Alg: alg, EOSTokenID: max(r.eos, 0), Threshold: threshold(req.Threshold), BlockSize: blockSize(req.BlockSize)},
	})
	if err != nil {
		return nil, err
	}
	return &DenoiseResult{Canvases: res.Canvases, Confidence: res.Confidence}, nil
}

// threshold is a request's τ, DefaultThreshold when it sets none.
func threshold(t float64) float64 {
	if t <= 0 {
		return DefaultThreshold
	}
	return t
}

// blockSize is a request's block size, DefaultBlockSize when it sets none.
func blockSize(b int) int {
	if b == 0 {
		return DefaultBlockSize
	}
	return b
}
