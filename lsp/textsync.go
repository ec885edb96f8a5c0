package lsp

import (
	"context"
	"encoding/json"
	"fmt"

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
	doc := document.New(string(td.URI), string(td.LanguageID), td.Version, td.Text)
	s.docs.Lock()
	s.docs.m[doc.URI] = doc
	delete(s.docs.deleted, doc.URI)
	s.docs.Unlock()
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
			s.dropDocument(string(id.TextDocument.URI))
		}
		return nil, fmt.Errorf("didChange params: %w", err)
	}
	uri := string(p.TextDocument.URI)
	changes := make([]document.Change, 0, len(p.ContentChanges))
	deleted := len(p.ContentChanges) > 0
	for i, c := range p.ContentChanges {
		if c.Text == nil {
			s.dropDocument(uri)
			return nil, fmt.Errorf("didChange %s: change %d has no text", uri, i)
		}
		changes = append(changes, document.Change{Range: c.Range, Text: *c.Text})
		deleted = deleted && c.Range != nil && *c.Text == "" && c.Range.Start != c.Range.End
	}
	enc := s.encoding()
	s.docs.Lock()
	defer s.docs.Unlock()
	doc, ok := s.docs.m[uri]
	if !ok {
		// Not opened, or dropped after an edit we could not follow (logged
		// then); repeating that on every keystroke helps nobody.
		s.log.Debug("didChange for a document that is not open", "uri", uri)
		return nil, nil
	}
	next, err := doc.Apply(p.TextDocument.Version, changes, enc)
	if err != nil {
		// The client's text and ours now differ; completing on a wrong text
		// would insert garbage, so forget the document until it is reopened.
		delete(s.docs.m, uri)
		delete(s.docs.deleted, uri)
		return nil, fmt.Errorf("didChange: dropping %s until it is reopened: %w", uri, err)
	}
	if deleted && lineBlankAt(next, *changes[len(changes)-1].Range, enc) {
		// Clearing a line to retype it (Vim's cc and S) is no backspace.
		deleted = false
	}
	s.docs.m[uri] = next
	s.docs.deleted[uri] = deleted
	return nil, nil
}

// dropDocument forgets uri after an edit the server could not follow.
func (s *Server) dropDocument(uri string) {
	s.docs.Lock()
	delete(s.docs.m, uri)
	delete(s.docs.deleted, uri)
	s.docs.Unlock()
}

func (s *Server) didClose(_ context.Context, req *jsonrpc2.Request) (any, error) {
	var p protocol.DidCloseTextDocumentParams
	if err := decode(req, &p); err != nil {
		return nil, err
	}
	uri := string(p.TextDocument.URI)
	s.dropDocument(uri)
	s.latest.Lock()
	for _, kind := range []string{kindInline, kindCompletion} {
		if slot, ok := s.latest.m[latestKey(uri, kind)]; ok {
			slot.cancel(errSuperseded)
		}
	}
	s.latest.Unlock()
	return nil, nil
}
