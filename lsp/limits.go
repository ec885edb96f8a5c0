package lsp

import (
	"fmt"
	"strings"
)

// selectionAllowed applies the document limits to the text the engine
// would complete with the popup's selected item applied: that text is as
// much client input as the document itself, so it gets the same size cap
// and NUL check. A refused request gets an empty answer (and the user a
// message when the request was invoked).
func (s *Server) selectionAllowed(r *modelRequest) bool {
	if r.sel == nil {
		return true
	}
	n := len(r.doc.Text) - (r.sel.end - r.sel.start) + len(r.sel.text)
	switch {
	case len(r.sel.text) > s.opts.MaxDocumentBytes || n > s.opts.MaxDocumentBytes:
		s.refuse(r, fmt.Sprintf("the selected completion makes the text too large for completions (%d MiB, limit %d MiB)", n>>20, s.opts.MaxDocumentBytes>>20))
		return false
	case strings.IndexByte(r.sel.text, 0) >= 0:
		s.refuse(r, "the selected completion contains NUL characters")
		return false
	}
	return true
}
