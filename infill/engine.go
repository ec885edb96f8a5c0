package infill

import (
	"context"
	"errors"
	"hash/maphash"
	"log/slog"
	"sync"
)

// Defaults used when Options and Request leave a field zero.
const (
	DefaultMaxTokens     = 64
	DefaultContextTokens = 1536
	DefaultAlg           = "entropy"
	DefaultCandidates    = 1
)

// Options configure an Engine.
type Options struct {
	Steps int // denoising steps of the longest canvas; 0: one per mask, at most MaxSteps, for each
	// MaxSteps caps each canvas's steps when Steps is 0 (0: DefaultMaxSteps,
	// < 0: no cap).
	MaxSteps int
	Alg      string // sampler algorithm; "": DefaultAlg
	// Threshold and BlockSize are confidence_threshold's τ and block (0:
	// DefaultThreshold, DefaultBlockSize; see DenoiseRequest).
	Threshold float64
	BlockSize int
	// DreamPadding turns end-of-text runs off: every slot of a length
	// candidate, its padding too, commits on Dream's own schedule. By
	// default (false) the padding fills a stretch at a time
	// (DenoiseRequest.EOSRuns), which ends long candidates early with the
	// same held-out quality (docs/BENCHMARKS.md "LSP latency").
	DreamPadding  bool
	MaxTokens     int // longest middle in tokens; 0: DefaultMaxTokens
	ContextTokens int // token budget of prefix + suffix windows; 0: DefaultContextTokens
	// Lengths are the middle lengths tried together in auto mode for
	// single-line and multi-line spans. nil: sized from the neighbouring
	// lines, whose median token count (+1) is L: single-line L/2, L, 2L
	// (less what the cursor's line already holds); multi-line L, 3L, 6L
	// (one line, a few lines, a block), capped at MaxTokens.
	SingleLineLengths, MultiLineLengths []int
	Logger                              *slog.Logger // nil: slog.Default()
	// MinConfidence is the default of Request.MinConfidence: 0 uses
	// DefaultMinConfidence, a negative value turns the threshold off.
	MinConfidence float64
	// Remote, when set, fills the middles instead of the runtime: a model
	// behind HTTP (infill/remote). The runtime then only counts tokens;
	// Complete still chooses span, windows and lengths and post-processes.
	Remote Filler
}

// Engine completes code at a cursor. It is safe for concurrent use and
// does not retain a request's text after returning (typed-ahead reuse keeps
// hashes). Make one with New.
type Engine struct {
	rt       Runtime
	opts     Options
	log      *slog.Logger
	adaptive bool // single-line lengths from the neighbouring lines
	// adaptiveMulti: multi-line lengths from the neighbouring lines too
	adaptiveMulti bool

	seed maphash.Seed
	mu   sync.Mutex
	last *lastResult // for typed-ahead reuse
}

// New returns an engine over a runtime.
func New(rt Runtime, opts Options) *Engine {
	if opts.Alg == "" {
		opts.Alg = DefaultAlg
	}
	if opts.MaxSteps == 0 {
		opts.MaxSteps = DefaultMaxSteps
	}
	if opts.MaxTokens <= 0 {
		opts.MaxTokens = DefaultMaxTokens
	}
	if opts.ContextTokens <= 0 {
		opts.ContextTokens = DefaultContextTokens
	}
	adaptive := opts.SingleLineLengths == nil
	if opts.SingleLineLengths == nil {
		opts.SingleLineLengths = []int{6, 12, 24}
	}
	adaptiveMulti := opts.MultiLineLengths == nil
	if opts.MultiLineLengths == nil {
		opts.MultiLineLengths = []int{16, 32, 64}
	}
	if opts.MinConfidence == 0 {
		opts.MinConfidence = DefaultMinConfidence
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Engine{rt: rt, opts: opts, log: log, adaptive: adaptive, adaptiveMulti: adaptiveMulti, seed: maphash.MakeSeed()}
}

// errNotReady is returned by the zero Engine.
var errNotReady = errors.New("infill: engine has no runtime")

// Complete returns candidates for the middle at req.Offset, best first.
func (e *Engine) Complete(ctx context.Context, req Request) (*Result, error) {
	if e == nil || e.rt == nil {
		return nil, errNotReady
	}
	return e.completeBounded(ctx, req)
}

// FillHoles fills every explicit hole marker in Text[Start:End] jointly, in
// one canvas, and returns one edit per hole in document order.
func (e *Engine) FillHoles(ctx context.Context, req HolesRequest) ([]Edit, error) {
	if e == nil || e.rt == nil {
		return nil, errNotReady
	}
	return e.fillHolesBounded(ctx, req)
}
