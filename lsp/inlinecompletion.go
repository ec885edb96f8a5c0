package lsp

import (
	"context"
	"fmt"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
)

// inlineCompletion answers textDocument/inlineCompletion: one item for an
// automatic trigger, up to three for an invoked one (which skips the
// debounce). Each item's range is on the cursor's line and, where possible,
// empty at the cursor (see modelRequest.edits); it carries the dream.accept
// command.
func (s *Server) inlineCompletion(ctx context.Context, req *jsonrpc2.Request) (any, error) {
	var p protocol.InlineCompletionParams
	if err := decode(req, &p); err != nil {
		return nil, err
	}
	uri := string(p.TextDocument.URI)
	r, err := s.prepare(uri, p.Position)
	if err != nil || r == nil {
		return emptyInline(), err
	}
	r.invoked = p.Context.TriggerKind == protocol.InlineCompletionTriggerKindInvoked
	if r.invoked {
		r.n = 3
	}
	if sel := p.Context.SelectedCompletionInfo; sel.Text != "" || sel.Range != (protocol.Range{}) {
		start, end, err := r.doc.Mapper().RangeOffsets(sel.Range, r.enc)
		if err != nil {
			return nil, invalidParams(fmt.Errorf("selectedCompletionInfo of %s: %w", uri, err))
		}
		if start > r.offset || end < start {
			return nil, invalidParams(fmt.Errorf("selectedCompletionInfo range of %s does not start before the cursor", uri))
		}
		r.sel = &selection{start: start, end: end, text: sel.Text}
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	defer s.supersede(latestKey(uri, kindInline), cancel)()
	release(ctx) // from here on, later messages are handled concurrently

	cands, err := s.run(ctx, r)
	if err != nil {
		return nil, err
	}
	list := emptyInline()
	for _, e := range r.edits(cands, inlineEdits) {
		rng, err := r.doc.Mapper().OffsetsRange(e.start, e.end, r.enc)
		if err != nil {
			s.log.Error("candidate outside the document", "uri", uri, "err", err)
			continue
		}
		list.Items = append(list.Items, protocol.InlineCompletionItem{
			InsertText: protocol.String(e.text),
			Range:      &rng,
			Command:    s.acceptCommand(e.text),
		})
		if len(list.Items) == r.n {
			break
		}
	}
	s.back.answered(len(list.Items) > 0 && !r.invoked)
	if ctx.Err() != nil {
		return nil, cancelledError(ctx)
	}
	return list, nil
}

func emptyInline() *protocol.InlineCompletionList {
	return &protocol.InlineCompletionList{Items: []protocol.InlineCompletionItem{}}
}
