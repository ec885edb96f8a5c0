package lsp

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime/debug"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"github.com/dream-lsp/dream-lsp/lsp/document"
)

// Text synchronisation runs on the read loop, so edits apply in the order
// the client sent them and a request that follows an edit sees it.

func (s *Server) didOpen(_ context.Context, req *jsonrpc2.Request) (any, error) {
	var p protocol.DidOpenTextDocumentParams
	if err := decode(req, &p); err != nil {
		return nil, err
	}
	td := p.TextDocument
	s.cancelPendingEdits(string(td.URI))
	if len(td.Text) > s.maxSyncBytes() {
		s.dropDocument(string(td.URI))
		s.refuseSync(string(td.URI), len(td.Text))
		return nil, nil
	}
	doc := document.New(string(td.URI), string(td.LanguageID), td.Version, td.Text)
	s.docs.Lock()
	s.docs.m[doc.URI] = doc
	delete(s.docs.deleted, doc.URI)
	s.docs.Unlock()
	s.gatherDocument(doc)
	s.log.Debug("didOpen", "uri", doc.URI, "lang", doc.LanguageID, "version", doc.Version, "n_bytes", len(doc.Text))
	return nil, nil
}

// didChangeParams is DidChangeTextDocumentParams decoded strictly: the
// generated decoder reads a change whose range is malformed as a
// whole-document change, which would silently replace the text.
type didChangeParams struct {
	TextDocument struct {
		URI     uri.URI `json:"uri"`
		Version int32   `json:"version"`
	} `json:"textDocument"`
	ContentChanges []struct {
		Range *protocol.Range `json:"range"`
		Text  *string         `json:"text"`
	} `json:"contentChanges"`
}

func (s *Server) didChange(_ context.Context, req *jsonrpc2.Request) (any, error) {
	var p didChangeParams
	if err := json.Unmarshal(req.Params(), &p); err != nil {
		// We can no longer follow the client's text: forget the document.
		var id struct {
			TextDocument struct {
				URI uri.URI `json:"uri"`
			} `json:"textDocument"`
		}
		if json.Unmarshal(req.Params(), &id) == nil && id.TextDocument.URI != "" {
			s.cancelPendingEdits(string(id.TextDocument.URI))
			s.dropDocument(string(id.TextDocument.URI))
		}
		return nil, fmt.Errorf("didChange params: %w", err)
	}
	uri := string(p.TextDocument.URI)
	// Any change, even one that keeps the version, invalidates the edits
	// being computed on the old text.
	s.cancelPendingEdits(uri)
	changes := make([]document.Change, 0, len(p.ContentChanges))
	deleted := len(p.ContentChanges) > 0
	for i, c := range p.ContentChanges {
		if c.Text == nil {
			s.dropDocument(uri)
			return nil, fmt.Errorf("didChange %s: change %d has no text", uri, i)
		}
		if len(*c.Text) > s.maxSyncBytes() {
			s.dropDocument(uri)
			s.refuseSync(uri, len(*c.Text))
			return nil, nil
		}
		changes = append(changes, document.Change{Range: c.Range, Text: *c.Text})
		deleted = deleted && c.Range != nil && *c.Text == "" && c.Range.Start != c.Range.End
	}
	enc := s.encoding()
	doc := s.snapshot(uri)
	if doc == nil {
		// Not opened, or dropped after an edit we could not follow (logged
		// then); repeating that on every keystroke helps nobody.
		s.log.Debug("didChange for a document that is not open", "uri", uri)
		return nil, nil
	}
	// Apply outside the lock: requests running off the read loop take
	// snapshots meanwhile. Only the read loop replaces documents, so doc is
	// still current when the result is installed.
	next, err := doc.Apply(p.TextDocument.Version, changes, enc)
	if err != nil {
		// The client's text and ours now differ; completing on a wrong text
		// would insert garbage, so forget the document until it is reopened.
		s.dropDocument(uri)
		return nil, fmt.Errorf("didChange: dropping %s until it is reopened: %w", uri, err)
	}
	if len(next.Text) > s.maxSyncBytes() {
		s.dropDocument(uri)
		s.refuseSync(uri, len(next.Text))
		return nil, nil
	}
	if deleted && lineBlankAt(next, *changes[len(changes)-1].Range, enc) {
		// Clearing a line to retype it (Vim's cc and S) is no backspace.
		deleted = false
	}
	s.docs.Lock()
	s.docs.m[uri] = next
	s.docs.deleted[uri] = deleted
	s.docs.Unlock()
	s.gatherEdit(next, changes[len(changes)-1].Range, enc)
	return nil, nil
}

// gatherDocument records an opened or saved document's head as cross-file
// context, for documents in languages completions are enabled for (not
// settings files or prose).
func (s *Server) gatherDocument(doc *document.Document) {
	if doc == nil || !s.settings().LanguageEnabled(doc.LanguageID) {
		return
	}
	s.related.AddDocument(uriPath(doc.URI), doc.Text)
}

// gatherEdit records the region around the last change of doc (a range in
// the text before the change; its start is where the new text begins).
// It runs on the read loop and costs O(region), not O(document).
func (s *Server) gatherEdit(doc *document.Document, rng *protocol.Range, enc document.Encoding) {
	if len(doc.Text) == 0 || !s.settings().LanguageEnabled(doc.LanguageID) {
		return
	}
	if rng == nil { // a whole-document change
		s.gatherDocument(doc)
		return
	}
	off, err := doc.Mapper().PositionOffset(rng.Start, enc)
	if err != nil {
		return
	}
	s.related.AddEditAt(uriPath(doc.URI), doc.Text, off, int(rng.Start.Line))
}

// didSave records the saved document as cross-file context.
func (s *Server) didSave(_ context.Context, req *jsonrpc2.Request) (any, error) {
	var p protocol.DidSaveTextDocumentParams
	if err := decode(req, &p); err != nil {
		return nil, err
	}
	s.gatherDocument(s.snapshot(string(p.TextDocument.URI)))
	return nil, nil
}

// DefaultMaxSyncBytes is the largest document the server keeps when
// Options.MaxSyncBytes is zero.
const DefaultMaxSyncBytes = 64 << 20

// freeAfterBytes: closing or dropping a document at least this large
// returns the freed memory to the operating system at once, instead of
// leaving a 300 MB peak in the process until the runtime scavenges it.
const freeAfterBytes = 32 << 20

func (s *Server) maxSyncBytes() int {
	if s.opts.MaxSyncBytes > 0 {
		return s.opts.MaxSyncBytes
	}
	return DefaultMaxSyncBytes
}

// refuseSync tells the log and the user that uri is too large to follow.
// The document is not kept, so it gets no completions until it is reopened
// smaller; the session goes on.
func (s *Server) refuseSync(uri string, n int) {
	msg := fmt.Sprintf("dream: %s is too large to follow (%d MiB, limit %d MiB); no completions in it", uriPath(uri), n>>20, s.maxSyncBytes()>>20)
	s.log.Warn("document too large; not kept", "uri", uri, "n_bytes", n, "limit", s.maxSyncBytes())
	s.notify(protocol.MethodWindowShowMessage, rawJSON(map[string]any{"type": 2, "message": msg}))
	if n >= freeAfterBytes {
		go debug.FreeOSMemory()
	}
}

// dropDocument forgets uri (closed, or after an edit the server could not
// follow). Dropping a huge document returns its memory to the system.
func (s *Server) dropDocument(uri string) {
	s.docs.Lock()
	old := s.docs.m[uri]
	delete(s.docs.m, uri)
	delete(s.docs.deleted, uri)
	s.docs.Unlock()
	if old != nil && len(old.Text) >= freeAfterBytes {
		go debug.FreeOSMemory()
	}
}

func (s *Server) didClose(_ context.Context, req *jsonrpc2.Request) (any, error) {
	var p protocol.DidCloseTextDocumentParams
	if err := decode(req, &p); err != nil {
		return nil, err
	}
	uri := string(p.TextDocument.URI)
	s.cancelPendingEdits(uri)
	s.dropDocument(uri)
	s.related.Forget(uriPath(uri))
	s.latest.Lock()
	for _, kind := range []string{kindInline, kindCompletion} {
		if slot, ok := s.latest.m[latestKey(uri, kind)]; ok {
			slot.cancel(errSuperseded)
		}
	}
	s.latest.Unlock()
	return nil, nil
}
