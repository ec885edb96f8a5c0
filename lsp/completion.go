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
		indent := lineIndent(r.doc.Text, e.start)
		list.Items = append(list.Items, completionItem(e.text, indent, rng, caps.snippets, i, s.acceptCommand(e.text)))
	}
	s.back.answered(len(list.Items) > 0 && !r.invoked)
	if ctx.Err() != nil {
		return nil, cancelledError(ctx)
	}
	return list, nil
}

// completionItem builds the item for text replacing rng on a line indented
// with indent. Clients insert only the first line of a multi-line
// plain-text item (Neovim's vim.lsp.completion and omnifunc), so a
// multi-line text is sent as a snippet where the client supports snippets,
// which every client expands whole; single-line texts stay plain text.
//
// Indentation: a plain text is already indented for its place, so it goes
// asIs (VS Code would indent every line after the first once more
// otherwise). Snippet engines indent the lines after the first by the
// cursor line's indentation whatever insertTextMode says (Neovim's
// vim.snippet, yasnippet), so a snippet drops that indentation from its
// later lines and says adjustIndentation, which is what LSP defines for
// it. A text with a later line indented less than the cursor's line cannot
// be written that way and stays asIs.
func completionItem(text, indent string, rng protocol.Range, snippets bool, rank int, cmd protocol.Command) protocol.CompletionItem {
	first, _, multi := strings.Cut(text, "\n")
	first = strings.TrimSuffix(first, "\r")
	label := first
	if multi {
		label += " …"
	}
	format, mode, newText := protocol.InsertTextFormatPlainText, protocol.InsertTextModeAsIs, text
	if multi && snippets {
		format = protocol.InsertTextFormatSnippet
		if rel, ok := dedentLater(text, indent); ok && indent != "" {
			mode, newText = protocol.InsertTextModeAdjustIndentation, rel
		}
		newText = escapeSnippet(newText)
	}
	return protocol.CompletionItem{
		Label:            label,
		Kind:             protocol.CompletionItemKindText,
		Detail:           protocol.NewOptional("dream"),
		SortText:         protocol.NewOptional(string(rune('0' + rank))),
		FilterText:       protocol.NewOptional(first),
		InsertTextFormat: format,
		InsertTextMode:   mode,
		TextEdit:         &protocol.TextEdit{Range: rng, NewText: newText},
		Command:          cmd,
	}
}

// lineIndent returns the leading blanks of the line containing offset.
func lineIndent(text string, offset int) string {
	start := strings.LastIndexByte(text[:offset], '\n') + 1
	line := text[start:]
	return line[:len(line)-len(strings.TrimLeft(line, " \t"))]
}

// dedentLater removes indent from every line after the first; blank lines
// may be shorter. It reports false when a non-blank later line does not
// start with indent.
func dedentLater(text, indent string) (string, bool) {
	lines := strings.Split(text, "\n")
	for i := 1; i < len(lines); i++ {
		l := lines[i]
		switch {
		case strings.HasPrefix(l, indent):
			lines[i] = l[len(indent):]
		case strings.Trim(l, " \t\r") == "":
			lines[i] = strings.TrimLeft(l, " \t")
		default:
			return "", false
		}
	}
	return strings.Join(lines, "\n"), true
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
