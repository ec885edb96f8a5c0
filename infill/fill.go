package infill

import (
	"context"
	"fmt"
	"strings"

	"github.com/dream-lsp/dream-lsp/context/crossfile"
)

// FillRequest asks for middles between a prefix and a suffix that the
// caller has already cut (the windows Complete would build): the request
// `dream-lsp api` serves and a remote model answers. Lengths are tried
// together, one canvas each, as Complete does.
type FillRequest struct {
	Prefix, Suffix string
	// Related are chunks of other documents placed before the prefix in
	// this order (the last nearest the prefix), each under a Comment line
	// naming its path, as Complete places them (RenderRelated).
	Related []crossfile.Chunk
	Comment string // the line comment of the document's language ("": "//")
	// BOS puts the model's BOS before the prefix (Complete does when the
	// prefix window reaches the start of the file).
	BOS bool
	// Lengths are the middle lengths in tokens (nil: one of MaxTokens).
	Lengths []int
	// MaxTokens caps every length and DreamOn's middle (0: Options.MaxTokens).
	MaxTokens int
	Steps     int    // 0: Options.Steps (0 there: one step per middle token)
	Alg       string // "": Options.Alg
	// Expand runs DreamOn's variable-length loop when the model has the
	// expand token (Complete does in auto length mode); Lengths[0] is then
	// the initial mask count.
	Expand bool
	// SingleLine says the engine keeps only the middle's first line (the
	// span is single-line): a streaming remote model may stop there.
	SingleLine bool
}

// Middle is one filled middle: its text (special tokens removed, not
// post-processed), its token count and the sampler's confidences (see
// Candidate for their meaning).
type Middle struct {
	Text      string  `json:"text"`
	Tokens    int     `json:"tokens"`
	SlotMean  float64 `json:"slot_mean"`
	TokenMean float64 `json:"token_mean"`
	TokenMin  float64 `json:"token_min"`
	// NoConfidence marks a middle from a server that reports no
	// confidences (an autoregressive FIM server): the three above are 0.
	NoConfidence bool `json:"-"`
}

// MaxFillLength bounds one length of a FillRequest, as Length "fixed=N" is.
const MaxFillLength = 4096

// Fill denoises one canvas per length (prefix, masks, suffix) and returns
// the middles in the order of req.Lengths. Tokenization, canvases, the
// step schedule and the middle's cleaning are Complete's, so a Fill with
// Complete's windows gives Complete's raw middles.
func (e *Engine) Fill(ctx context.Context, req FillRequest) ([]Middle, error) {
	mids, _, err := e.FillPrompt(ctx, req)
	return mids, err
}

// FillPrompt is Fill that also reports the prompt tokens the canvases
// held around the masks (prefix with related chunks and BOS, and suffix,
// as trimmed to the model's positions), for servers that report usage
// without tokenizing the text a second time.
func (e *Engine) FillPrompt(ctx context.Context, req FillRequest) ([]Middle, int, error) {
	if e == nil || e.rt == nil {
		return nil, 0, errNotReady
	}
	maxTok := e.maxTokens(req.MaxTokens)
	lengths := req.Lengths
	if len(lengths) == 0 {
		lengths = []int{maxTok}
	}
	longest := 0
	for _, n := range lengths {
		if n < 1 || n > MaxFillLength {
			return nil, 0, fmt.Errorf("infill: length %d outside [1, %d]", n, MaxFillLength)
		}
		longest = max(longest, n)
	}
	pre := e.rt.Encode(RenderRelated(req.Related, req.Comment) + req.Prefix)
	if bos, ok := e.rt.BOSID(); ok && req.BOS {
		pre = append([]int{bos}, pre...)
	}
	suf := e.rt.Encode(req.Suffix)
	if mp := e.rt.MaxPositions(); mp > 0 && longest+8 > mp {
		return nil, 0, fmt.Errorf("infill: a middle of %d tokens leaves no room for context in the model's %d positions", longest, mp)
	}
	if mp := e.rt.MaxPositions(); mp > 0 {
		pre, suf = trimToPositions(pre, suf, longest, mp) // as Complete trims
		// Windows far over the budget (Complete never sends them): the suffix gives the rest.
		if over := len(pre) + len(suf) + longest - mp; over > 0 {
			suf = suf[:max(len(suf)-over, 0)]
		}
	}
	steps := req.Steps
	if steps <= 0 {
		steps = e.opts.Steps
	}
	alg := req.Alg
	if alg == "" {
		alg = e.opts.Alg
	}
	var (
		mids []middle
		err  error
	)
	if expand, ok := e.rt.ExpandID(); ok && req.Expand {
		mids, err = e.denoiseExpand(ctx, pre, suf, lengths[0], maxTok, steps, alg, expand)
	} else {
		mids, err = e.denoise(ctx, pre, [][]int{suf}, [][]int{lengths}, steps, alg)
	}
	if err != nil {
		return nil, 0, err
	}
	out := make([]Middle, len(mids))
	for i, m := range mids {
		out[i] = Middle{Text: e.rt.Decode(m.ids), Tokens: len(m.ids), SlotMean: m.conf, TokenMean: m.tokMean, TokenMin: m.tokMin}
	}
	return out, len(pre) + len(suf), nil
}

// RenderRelated is the text Complete puts before the prefix for chunks of
// other documents, in prompt order, each as crossfile.Render writes it
// (as crossfile.Select does for Complete).
func RenderRelated(chunks []crossfile.Chunk, comment string) string {
	var b strings.Builder
	for _, c := range chunks {
		b.WriteString(crossfile.Render(comment, c))
	}
	return b.String()
}

// Tokens counts the tokens of text with the engine's tokenizer (plain
// mode), for servers that report usage.
func (e *Engine) Tokens(text string) int {
	if e == nil || e.rt == nil {
		return 0
	}
	return e.count(text)
}
