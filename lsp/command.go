package lsp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"github.com/dream-lsp/dream-lsp/infill"
	"github.com/dream-lsp/dream-lsp/lsp/document"
)

// codeAction offers "Fill holes" when the user asks for code actions
// explicitly or for refactorings, never on the automatic lightbulb requests
// editors send on every cursor move.
func (s *Server) codeAction(_ context.Context, req *jsonrpc2.Request) (any, error) {
	var p protocol.CodeActionParams
	if err := decode(req, &p); err != nil {
		return nil, err
	}
	wanted := p.Context.TriggerKind == protocol.CodeActionTriggerKindInvoked
	for _, k := range p.Context.Only {
		if k == protocol.CodeActionKindRefactor || k == protocol.CodeActionKindRefactorRewrite {
			wanted = true
		}
	}
	uri := string(p.TextDocument.URI)
	doc := s.snapshot(uri)
	if doc == nil {
		return []protocol.CommandOrCodeAction{}, nil
	}
	if !wanted {
		// Automatic requests get the action only where a hole is marked on
		// the cursor's line, so the lightbulb means something.
		if start, err := doc.Mapper().PositionOffset(p.Range.Start, s.encoding()); err == nil {
			ls, le := doc.Mapper().LineBounds(doc.Mapper().LineOf(start))
			wanted = hasHoleMarker(doc.Text[ls:le])
		}
	}
	if !wanted {
		return []protocol.CommandOrCodeAction{}, nil
	}
	args := fillHolesArgs{URI: p.TextDocument.URI}
	title := "Fill holes in file (dream)"
	if p.Range.Start != p.Range.End {
		r := p.Range
		args.Range = &r
		title = "Fill holes in selection (dream)"
	}
	kind := protocol.CodeActionKindRefactorRewrite
	return []protocol.CommandOrCodeAction{&protocol.CodeAction{
		Title: title,
		Kind:  &kind,
		Command: protocol.Command{
			Title:     title,
			Command:   CommandFillHoles,
			Arguments: []protocol.LSPAny{protocol.LSPAny(rawJSON(args))},
		},
	}}, nil
}

// holeMarkers are the explicit hole markers of docs/design.md that are
// unambiguous on a line (the "..." marker is not: Python and Go use it).
var holeMarkers = []string{"/* fill */", "// fill", "# fill"}

func hasHoleMarker(line string) bool {
	for _, m := range holeMarkers {
		if strings.Contains(line, m) {
			return true
		}
	}
	return false
}

func (s *Server) executeCommand(ctx context.Context, req *jsonrpc2.Request) (any, error) {
	var p protocol.ExecuteCommandParams
	if err := decode(req, &p); err != nil {
		return nil, err
	}
	arg := func(v any) error {
		if len(p.Arguments) == 0 {
			return invalidParams(fmt.Errorf("%s needs an argument", p.Command))
		}
		if err := protocol.Unmarshal(p.Arguments[0], v); err != nil {
			return invalidParams(fmt.Errorf("%s argument: %w", p.Command, err))
		}
		return nil
	}
	switch p.Command {
	case CommandAccept:
		var a acceptArgs
		if err := arg(&a); err != nil {
			return nil, err
		}
		s.accept.accepted(a.ID)
		return nil, nil
	case CommandToggle:
		s.conf.Lock()
		s.conf.disabled = !s.conf.disabled
		enabled := !s.conf.disabled
		s.conf.Unlock()
		if !enabled {
			s.cancelAllModelRequests()
		}
		s.sendStatus(true)
		return rawJSON(map[string]bool{"enabled": enabled}), nil
	case CommandStatus:
		s.conf.Lock()
		enabled := !s.conf.disabled
		s.conf.Unlock()
		return rawJSON(StatusResult{Status: s.status(), Enabled: enabled, Acceptance: s.accept.counts()}), nil
	case CommandFillHoles:
		var a fillHolesArgs
		if err := arg(&a); err != nil {
			return nil, err
		}
		return s.fillHoles(ctx, a)
	}
	return nil, invalidParams(fmt.Errorf("unknown command %q", p.Command))
}

// kindFillHoles is the latest-wins slot of a document's fill-holes request;
// any change to the document cancels it (cancelPendingEdits).
const kindFillHoles = "fillHoles"

// errDocChanged is the cancellation cause of a server-initiated edit whose
// document changed or closed while the edit was computed.
var errDocChanged = errors.New("the document changed while its edit was computed")

// cancelPendingEdits cancels the edits being computed for uri: they would
// land on text they were not computed for. Called for every didChange and
// didClose of the document.
func (s *Server) cancelPendingEdits(uri string) {
	s.latest.Lock()
	if slot, ok := s.latest.m[latestKey(uri, kindFillHoles)]; ok {
		slot.cancel(errDocChanged)
	}
	s.latest.Unlock()
}

// contentModified is the reply to a fill-holes request whose document
// changed under it.
func contentModified(uri string) error {
	return jsonrpc2.NewError(protocol.CodeContentModified, "dream.fillHoles: "+uri+" changed while its holes were filled; nothing was applied")
}

// fillHoles fills every marked hole of a document (or range) jointly and
// asks the client to apply the edits as one WorkspaceEdit.
//
// The edits are sent only if they still apply to the text they were
// computed on (the snapshot taken here, on the read loop): a didChange or
// didClose of the document cancels the request, and just before sending,
// the current text must equal the snapshot's, not just its version (VS Code
// restarts versions at 1 when a file is reopened).
func (s *Server) fillHoles(ctx context.Context, a fillHolesArgs) (any, error) {
	key := string(a.URI)
	doc := s.snapshot(key)
	if doc == nil {
		return nil, invalidParams(fmt.Errorf("dream.fillHoles: %s is not open", a.URI))
	}
	enc := s.encoding()
	start, end := 0, len(doc.Text)
	if a.Range != nil {
		var err error
		if start, end, err = doc.Mapper().RangeOffsets(*a.Range, enc); err != nil {
			return nil, invalidParams(fmt.Errorf("dream.fillHoles range: %w", err))
		}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	defer s.supersede(latestKey(key, kindFillHoles), cancel)()
	release(ctx) // the rest calls the client and waits

	ref := s.acquire()
	if ref == nil {
		s.sendStatus(true)
		return nil, jsonrpc2.NewError(jsonrpc2.InternalError, "dream: the model is not ready")
	}
	defer ref.users.Done()
	// Filling several holes jointly is one bigger request than a completion.
	dctx, dcancel := context.WithTimeout(ctx, max(4*s.settings().Deadline(), 10*time.Second))
	defer dcancel()
	edits, err := ref.engine.FillHoles(dctx, infill.HolesRequest{LanguageID: doc.LanguageID, Path: uriPath(doc.URI), Text: doc.Text, Start: start, End: end})
	if ctx.Err() != nil {
		if errors.Is(context.Cause(ctx), errDocChanged) {
			return nil, contentModified(doc.URI)
		}
		return nil, cancelledError(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("dream.fillHoles %s: %w", doc.URI, err)
	}
	if len(edits) == 0 {
		s.notify(protocol.MethodWindowShowMessage, rawJSON(map[string]any{"type": 3, "message": "dream: no marked holes to fill"}))
		return rawJSON(fillHolesResult{}), nil
	}
	if !s.unchanged(doc) {
		return nil, contentModified(doc.URI)
	}
	textEdits := make([]protocol.TextEdit, 0, len(edits))
	for _, e := range edits {
		rng, err := doc.Mapper().OffsetsRange(e.Start, e.End, enc)
		if err != nil {
			return nil, fmt.Errorf("dream.fillHoles: engine edit outside %s: %w", doc.URI, err)
		}
		textEdits = append(textEdits, protocol.TextEdit{Range: rng, NewText: e.NewText})
	}
	var res protocol.ApplyWorkspaceEditResult
	if _, err := s.conn.Call(ctx, protocol.MethodWorkspaceApplyEdit, s.applyEditParams(doc, textEdits), &res); err != nil {
		return nil, fmt.Errorf("dream.fillHoles: workspace/applyEdit: %w", err)
	}
	return rawJSON(fillHolesResult{Edits: len(edits), Applied: res.Applied}), nil
}

// unchanged reports whether doc is still the text of its document: open,
// same version and same text.
func (s *Server) unchanged(doc *document.Document) bool {
	cur := s.snapshot(doc.URI)
	return cur != nil && cur.Version == doc.Version && (cur == doc || cur.Text == doc.Text)
}

// applyEditParams builds workspace/applyEdit's params for edits on doc. A
// client that supports versioned document changes gets them with doc's
// version, so it can refuse the edit itself if its text moved on in the
// meantime.
func (s *Server) applyEditParams(doc *document.Document, edits []protocol.TextEdit) any {
	s.life.Lock()
	versioned := s.life.caps.documentChanges
	s.life.Unlock()
	label := "dream: fill holes"
	if versioned {
		return rawJSON(map[string]any{"label": label, "edit": map[string]any{"documentChanges": []any{map[string]any{
			"textDocument": map[string]any{"uri": doc.URI, "version": doc.Version},
			"edits":        edits,
		}}}})
	}
	return &protocol.ApplyWorkspaceEditParams{Label: &label, Edit: protocol.WorkspaceEdit{
		Changes: map[uri.URI][]protocol.TextEdit{uri.URI(doc.URI): edits},
	}}
}

func (s *Server) didShowCompletion(_ context.Context, req *jsonrpc2.Request) (any, error) {
	var p shownItem
	if err := json.Unmarshal(req.Params(), &p); err != nil {
		return nil, fmt.Errorf("didShowCompletion params: %w", err)
	}
	s.accept.shown(p.itemID())
	return nil, nil
}

func (s *Server) didPartiallyAcceptCompletion(_ context.Context, req *jsonrpc2.Request) (any, error) {
	var p shownItem
	if err := json.Unmarshal(req.Params(), &p); err != nil {
		return nil, fmt.Errorf("didPartiallyAcceptCompletion params: %w", err)
	}
	s.accept.partial(p.itemID(), p.AcceptedLength)
	return nil, nil
}

// acceptance keeps the local acceptance counters and the items issued
// recently, so an item is counted once however often the client reports it.
type acceptance struct {
	mu    sync.Mutex
	c     Acceptance
	items map[string]*issuedItem
	order []string // issue order, for evicting the oldest
}

type issuedItem struct {
	length         int64 // UTF-16 units of the insert text
	shown, counted bool
}

const maxIssuedItems = 4096

func (a *acceptance) issue(id string, length int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.items == nil {
		a.items = map[string]*issuedItem{}
	}
	if len(a.order) >= maxIssuedItems {
		delete(a.items, a.order[0])
		a.order = a.order[1:]
	}
	a.items[id] = &issuedItem{length: length}
	a.order = append(a.order, id)
}

func (a *acceptance) shown(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if it := a.items[id]; it != nil && !it.shown {
		it.shown = true
		a.c.Shown++
	}
}

func (a *acceptance) accepted(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if it := a.items[id]; it != nil && !it.counted {
		it.counted = true
		a.c.Accepted++
		a.c.AcceptedChars += it.length
	}
}

func (a *acceptance) partial(id string, length int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if it := a.items[id]; it != nil && !it.counted && length > 0 {
		a.c.PartiallyAccepted++
		a.c.AcceptedChars += min(length, it.length)
	}
}

func (a *acceptance) counts() Acceptance {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.c
}
