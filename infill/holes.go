package infill

import (
	"context"
	"fmt"

	"github.com/dream-lsp/dream-lsp/context/window"
	"github.com/dream-lsp/dream-lsp/infill/post"
)

// Hole lengths in tokens: a hole on its own line gets a multi-line budget.
const (
	inlineHoleTokens = 12
	lineHoleTokens   = 32
)

func (e *Engine) fillHoles(ctx context.Context, req HolesRequest) ([]Edit, error) {
	start, end := req.Start, req.End
	if end == 0 && start == 0 {
		end = len(req.Text)
	}
	if start < 0 || end > len(req.Text) || start > end {
		return nil, fmt.Errorf("infill: range [%d, %d) outside the document (%d bytes)", start, end, len(req.Text))
	}
	d, err := e.parse(ctx, req.LanguageID, req.Path, req.Text)
	if err != nil {
		return nil, err
	}
	defer d.close()
	holes := window.Holes(d.tree, req.Text, start, end)
	if len(holes) == 0 {
		return nil, nil
	}
	first, last := holes[0], holes[len(holes)-1]
	total := 0
	for _, h := range holes {
		if h.Multiline {
			total += min(lineHoleTokens, e.opts.MaxTokens)
		} else {
			total += min(inlineHoleTokens, e.opts.MaxTokens)
		}
	}
	if len(holes) > 1 {
		total += e.count(req.Text[first.End:last.Start])
	}
	budget, err := e.budget(total)
	if err != nil {
		return nil, err
	}
	wFirst := window.Build(d.tree, req.Text, first, budget*3/4, e.count)
	wLast := window.Build(d.tree, req.Text, last, budget/4, e.count)
	pre := e.prefixTokens(wFirst, "")
	segs := make([][]int, len(holes))
	lens := make([][]int, len(holes))
	for k, h := range holes {
		if k+1 < len(holes) {
			segs[k] = e.rt.Encode(req.Text[h.End:holes[k+1].Start])
		} else {
			segs[k] = e.rt.Encode(wLast.Suffix)
		}
		n := inlineHoleTokens
		if h.Multiline {
			n = lineHoleTokens
		}
		lens[k] = []int{min(n, e.opts.MaxTokens)}
	}
	mids, err := e.denoise(ctx, pre, segs, lens, e.opts.Steps, e.opts.Alg)
	if err != nil {
		return nil, err
	}
	edits := make([]Edit, len(holes))
	for k, h := range holes {
		text := post.Apply(e.rt.Decode(mids[k].ids), h, req.Text[h.End:])
		edits[k] = Edit{Start: h.Start, End: h.End, NewText: text}
	}
	return edits, nil
}
