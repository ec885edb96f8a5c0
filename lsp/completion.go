package lsp

import (
	"context"
	"encoding/json"
	"strings"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
)

// completion answers textDocument/completion for clients without inline
// completion (Tabby's dual path): the item's label and text start at the
// word before the cursor so the client's filter keeps it, its text edit
// replaces that word, and the list is incomplete so the client asks again as
// the user types.
//
// One keystroke costs one model pass: a client that declared inline
// completion gets its suggestions as ghost text, so its completion requests
// are answered with an empty list, without running the model, unless the
// user asked explicitly (triggerKind Invoked: Neovim's vim.lsp.completion.get
// and omnifunc). Such an answer is complete, so typing on does not ask again.
// Clients without inline completion get the fallback as before; there
// Invoked is also sent for typing (VS Code, Emacs with company), so only
// manual mode treats it as explicit.
func (s *Server) completion(ctx context.Context, req *jsonrpc2.Request) (any, error) {
	var p protocol.CompletionParams
	if err := decode(req, &p); err != nil {
		return nil, err
	}
	caps := s.clientCaps()
	invokedKind := p.Context.TriggerKind == protocol.CompletionTriggerKindInvoked
	if caps.inline && !invokedKind {
		return &protocol.CompletionList{IsIncomplete: false, Items: []protocol.CompletionItem{}}, nil
	}
	uri := string(p.TextDocument.URI)
	r, err := s.prepare(uri, p.Position)
	if err != nil || r == nil {
		return emptyCompletion(), err
	}
	r.invoked = invokedKind && (caps.inline || s.settings().TriggerMode == "manual")

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	defer s.supersede(latestKey(uri, kindCompletion), cancel)()
	release(ctx)

	cands, err := s.run(ctx, r)
	if err != nil {
		return nil, err
	}
	list := emptyCompletion()
	list.IsIncomplete = !caps.inline
	for i, e := range r.edits(cands, itemEdits) {
		rng, err := r.doc.Mapper().OffsetsRange(e.start, e.end, r.enc)
		if err != nil {
			continue
		}
		list.Items = append(list.Items, completionItem(e.text, rng, caps.snippets, i, s.acceptCommand(e.text)))
	}
	s.back.answered(len(list.Items) > 0 && !r.invoked)
	if ctx.Err() != nil {
		return nil, cancelledError(ctx)
	}
	return list, nil
}

// completionItem builds the item for text replacing rng. Clients insert
// only the first line of a multi-line plain-text item (Neovim's
// vim.lsp.completion and omnifunc), so a multi-line text is sent as a
// snippet where the client supports snippets, which every client expands
// whole; single-line texts stay plain text. insertTextMode asIs: the text
// is already indented for its place, and VS Code would indent every line
// after the first once more otherwise.
func completionItem(text string, rng protocol.Range, snippets bool, rank int, cmd protocol.Command) protocol.CompletionItem {
	first, _, multi := strings.Cut(text, "\n")
	first = strings.TrimSuffix(first, "\r")
	label := first
	if multi {
		label += " …"
	}
	format, newText := protocol.InsertTextFormatPlainText, text
	if multi && snippets {
		format, newText = protocol.InsertTextFormatSnippet, escapeSnippet(text)
	}
	return protocol.CompletionItem{
		Label:            label,
		Kind:             protocol.CompletionItemKindText,
		Detail:           protocol.NewOptional("dream"),
		SortText:         protocol.NewOptional(string(rune('0' + rank))),
		FilterText:       protocol.NewOptional(first),
		InsertTextFormat: format,
		InsertTextMode:   protocol.InsertTextModeAsIs,
		TextEdit:         &protocol.TextEdit{Range: rng, NewText: newText},
		Command:          cmd,
	}
}

// escapeSnippet makes text a snippet that inserts text literally: LSP's
// snippet grammar gives "$", "}" and "\" a meaning, each escaped with "\".
func escapeSnippet(text string) string {
	return strings.NewReplacer(`\`, `\\`, `$`, `\$`, `}`, `\}`).Replace(text)
}

// completionCaps reads from initialize params whether the client has inline
// completion and snippet completion items, from the raw params: only these
// two booleans matter here, whatever else a client sends.
func completionCaps(params []byte) (inline, snippets bool) {
	var p struct {
		Capabilities struct {
			TextDocument struct {
				InlineCompletion json.RawMessage `json:"inlineCompletion"`
				Completion       struct {
					CompletionItem struct {
						SnippetSupport bool `json:"snippetSupport"`
					} `json:"completionItem"`
				} `json:"completion"`
			} `json:"textDocument"`
		} `json:"capabilities"`
	}
	// A value of the wrong type leaves its field false and the others read.
	_ = json.Unmarshal(params, &p)
	ic := strings.TrimSpace(string(p.Capabilities.TextDocument.InlineCompletion))
	inline = ic != "" && ic != "null" && ic != "false"
	return inline, p.Capabilities.TextDocument.Completion.CompletionItem.SnippetSupport
}

// clientCaps returns what initialize negotiated.
func (s *Server) clientCaps() clientCaps {
	s.life.Lock()
	defer s.life.Unlock()
	return s.life.caps
}

func emptyCompletion() *protocol.CompletionList {
	return &protocol.CompletionList{IsIncomplete: true, Items: []protocol.CompletionItem{}}
}
