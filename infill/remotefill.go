package infill

import (
	"context"
	"fmt"
	"slices"

	"github.com/dream-lsp/dream-lsp/context/crossfile"
	"github.com/dream-lsp/dream-lsp/context/window"
)

// Filler is a model that fills middles from text windows instead of
// canvases: a model behind HTTP (infill/remote's Client, another
// dream-lsp's api or a fill-in-the-middle server). With Options.Remote set,
// Complete still detects the span, cuts the windows (counting tokens with
// the Runtime's tokenizer), chooses the lengths, post-processes, validates
// and ranks; only the denoising goes over the network.
type Filler interface {
	Fill(ctx context.Context, req FillRequest) ([]Middle, error)
}

// fillRemote asks f for the middles of window w at the given lengths, with
// the related chunks (rank order, best first, as crossfile.Select returns
// them) placed before the prefix as Complete places them. The middles come
// back as the in-process path's: ids in the Runtime's vocabulary (the text
// re-encoded, which decodes to the same text) and confidences; a server
// that reports none (an autoregressive FIM server) gets confidence 1, so
// the confidence threshold does not hold its answers back (the other
// policy checks still apply).
func (e *Engine) fillRemote(ctx context.Context, f Filler, w window.Window, related []crossfile.Chunk, comment string,
	lengths []int, maxTok, steps int, alg string, expand, singleLine bool) ([]middle, error) {
	prompt := slices.Clone(related)
	slices.Reverse(prompt) // Select renders the best chunk last, next to the prefix
	_, hasBOS := e.rt.BOSID()
	req := FillRequest{
		Prefix: w.Head + w.Prefix, Suffix: w.Suffix,
		Related: prompt, Comment: comment,
		BOS:     hasBOS && w.PrefixStart == 0 && w.Head == "",
		Lengths: lengths, MaxTokens: maxTok, Steps: steps, Alg: alg, Expand: expand, SingleLine: singleLine,
	}
	got, err := f.Fill(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("infill: remote model: %w", err)
	}
	if len(got) == 0 {
		return nil, fmt.Errorf("infill: remote model: no middle in the answer")
	}
	mids := make([]middle, len(got))
	for i, g := range got {
		m := middle{ids: e.rt.Encode(g.Text), conf: g.SlotMean, tokMean: g.TokenMean, tokMin: g.TokenMin}
		if g.NoConfidence {
			m.conf, m.tokMean, m.tokMin = 1, 1, 1
		}
		mids[i] = m
	}
	return mids, nil
}
