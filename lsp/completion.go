package lsp

import (
	"context"
	"strings"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
)

// completion answers textDocument/completion for clients without inline
// completion (Tabby's dual path): the item's label and text start at the
// word before the cursor so the client's filter keeps it, its text edit
// replaces that word up to what the candidate swallows, and the list is
// incomplete so the client asks again as the user types.
func (s *Server) completion(ctx context.Context, req *jsonrpc2.Request) (any, error) {
	var p protocol.CompletionParams
	if err := decode(req, &p); err != nil {
		return nil, err
	}
	uri := string(p.TextDocument.URI)
	r, err := s.prepare(uri, p.Position)
	if err != nil || r == nil {
		return emptyCompletion(), err
	}
	// Clients send Invoked for typing as well, so every completion request
	// is debounced; an explicit trigger only matters in manual mode.
	r.invoked = false
	if s.settings().TriggerMode == "manual" && p.Context.TriggerKind == protocol.CompletionTriggerKindInvoked {
		r.invoked = true
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	defer s.supersede(latestKey(uri, kindCompletion), cancel)()
	release(ctx)

	cands, err := s.run(ctx, r)
	if err != nil {
		return nil, err
	}
	list := emptyCompletion()
	for i, e := range r.edits(cands, true) {
		rng, err := r.doc.Mapper().OffsetsRange(e.start, e.end, r.enc)
		if err != nil {
			continue
		}
		label, _, multi := strings.Cut(e.text, "\n")
		if multi {
			label += " …"
		}
		list.Items = append(list.Items, protocol.CompletionItem{
			Label:            label,
			Kind:             protocol.CompletionItemKindText,
			Detail:           protocol.NewOptional("dream"),
			SortText:         protocol.NewOptional(string(rune('0' + i))),
			FilterText:       protocol.NewOptional(e.text),
			InsertTextFormat: protocol.InsertTextFormatPlainText,
			TextEdit:         &protocol.TextEdit{Range: rng, NewText: e.text},
			Command:          s.acceptCommand(e.text),
		})
	}
	if ctx.Err() != nil {
		return nil, cancelledError(ctx)
	}
	return list, nil
}

func emptyCompletion() *protocol.CompletionList {
	return &protocol.CompletionList{IsIncomplete: true, Items: []protocol.CompletionItem{}}
}
