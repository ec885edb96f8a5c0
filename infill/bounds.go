package infill

import (
	"context"
	"fmt"

	"github.com/dream-lsp/dream-lsp/context/syntax"
)

// Large documents are completed on a window of text around the cursor
// (syntax.Bounds, syntax.WindowBytes): parsing, span detection, the
// prefix/suffix windows and the parse check of every candidate then cost
// the same in a 4 MiB file as in a 256 KiB one, and deeply nested input
// cannot make a tree of the whole file. The model sees a few kilobytes of
// context anyway; what is lost is only what lies further away (imports at
// the top of a huge file).

// completeBounded is complete on the window of req.Text around the cursor.
func (e *Engine) completeBounded(ctx context.Context, req Request) (*Result, error) {
	if req.Offset < 0 || req.Offset > len(req.Text) {
		return nil, fmt.Errorf("infill: offset %d outside the document (%d bytes)", req.Offset, len(req.Text))
	}
	lo, hi := syntax.Bounds(req.Text, req.Offset, req.Offset, syntax.WindowBytes)
	if lo == 0 && hi == len(req.Text) {
		return e.complete(ctx, req)
	}
	sub := req
	sub.Text, sub.Offset = req.Text[lo:hi], req.Offset-lo
	e.log.Debug("infill: completing a window of a large document", "n_bytes", len(req.Text), "window_start", lo, "window_end", hi)
	res, err := e.complete(ctx, sub)
	if res == nil {
		return res, err
	}
	for i := range res.Candidates {
		res.Candidates[i].Start += lo
		res.Candidates[i].End += lo
	}
	for i := range res.Dropped {
		res.Dropped[i].Start += lo
		res.Dropped[i].End += lo
	}
	return res, err
}

// fillHolesBounded is fillHoles on a window around the requested range of
// a large document. Filling every hole of a whole large file at once is
// refused: name a range.
func (e *Engine) fillHolesBounded(ctx context.Context, req HolesRequest) ([]Edit, error) {
	start, end := req.Start, req.End
	if start == 0 && end == 0 {
		end = len(req.Text)
	}
	if start < 0 || end > len(req.Text) || start > end {
		return nil, fmt.Errorf("infill: range [%d, %d) outside the document (%d bytes)", start, end, len(req.Text))
	}
	lo, hi := syntax.Bounds(req.Text, start, end, syntax.WindowBytes)
	if lo == 0 && hi == len(req.Text) {
		if len(req.Text) > syntax.WindowBytes {
			return nil, fmt.Errorf("infill: the range to fill is %d KiB; at most %d KiB of a large document can be filled at once (select a smaller range)", (end-start)>>10, syntax.WindowBytes>>10)
		}
		return e.fillHoles(ctx, req)
	}
	sub := req
	sub.Text, sub.Start, sub.End = req.Text[lo:hi], start-lo, end-lo
	edits, err := e.fillHoles(ctx, sub)
	for i := range edits {
		edits[i].Start += lo
		edits[i].End += lo
	}
	return edits, err
}
