package lsp

import (
	"context"
	"fmt"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"

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
	s.docs.Unlock()
	s.log.Debug("didOpen", "uri", doc.URI, "lang", doc.LanguageID, "version", doc.Version, "n_bytes", len(doc.Text))
	return nil, nil
}

func (s *Server) didChange(_ context.Context, req *jsonrpc2.Request) (any, error) {
	var p protocol.DidChangeTextDocumentParams
	if err := decode(req, &p); err != nil {
		return nil, err
	}
	uri := string(p.TextDocument.URI)
	changes := make([]document.Change, 0, len(p.ContentChanges))
	for _, c := range p.ContentChanges {
		switch c := c.(type) {
		case *protocol.TextDocumentContentChangePartial:
			r := c.Range
			changes = append(changes, document.Change{Range: &r, Text: c.Text})
		case *protocol.TextDocumentContentChangeWholeDocument:
			changes = append(changes, document.Change{Text: c.Text})
		default:
			return nil, fmt.Errorf("didChange %s: unknown change %T", uri, c)
		}
	}
	enc := s.encoding()
	s.docs.Lock()
	defer s.docs.Unlock()
	doc, ok := s.docs.m[uri]
	if !ok {
		return nil, fmt.Errorf("didChange for %s, which is not open", uri)
	}
	next, err := doc.Apply(p.TextDocument.Version, changes, enc)
	if err != nil {
		// The client's text and ours now differ; completing on a wrong text
		// would insert garbage, so forget the document until it is reopened.
		delete(s.docs.m, uri)
		return nil, fmt.Errorf("didChange: dropping %s until it is reopened: %w", uri, err)
	}
	s.docs.m[uri] = next
	return nil, nil
}

func (s *Server) didClose(_ context.Context, req *jsonrpc2.Request) (any, error) {
	var p protocol.DidCloseTextDocumentParams
	if err := decode(req, &p); err != nil {
		return nil, err
	}
	uri := string(p.TextDocument.URI)
	s.docs.Lock()
	delete(s.docs.m, uri)
	s.docs.Unlock()
	s.latest.Lock()
	for _, kind := range []string{kindInline, kindCompletion} {
		if slot, ok := s.latest.m[latestKey(uri, kind)]; ok {
			slot.cancel(errSuperseded)
		}
	}
	s.latest.Unlock()
	return nil, nil
}
