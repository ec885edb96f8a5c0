package lsp

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"go.lsp.dev/protocol"

	"github.com/dream-lsp/dream-lsp/infill"
	"github.com/dream-lsp/dream-lsp/lsp/document"
)

// Kinds of model requests; latest-wins applies per document and kind.
const (
	kindInline     = "inline"
	kindCompletion = "completion"
)

func latestKey(uri, kind string) string { return kind + "\x00" + uri }

// modelRequest is a completion request as captured on the read loop: an
// immutable snapshot and byte offsets into it.
type modelRequest struct {
	doc     *document.Document
	enc     document.Encoding
	offset  int  // cursor in doc.Text
	invoked bool // an explicit user gesture, not typing
	n       int  // candidates wanted
	sel     *selection
	// afterDelete: the document's last edit only deleted text. Automatic
	// triggers stay quiet then (suggestions popping up on backspace are a
	// common complaint).
	afterDelete bool
}

// selection is LSP's selectedCompletionInfo in byte offsets: the completion
// popup's highlighted item would replace doc.Text[start:end] with text.
type selection struct {
	start, end int
	text       string
}

// view returns the text the engine completes (the document with the
// selected popup item applied) and the cursor in it.
func (r *modelRequest) view() (text string, offset int) {
	if r.sel == nil {
		return r.doc.Text, r.offset
	}
	t := r.doc.Text
	return t[:r.sel.start] + r.sel.text + t[r.sel.end:], r.sel.start + len(r.sel.text)
}

// viewLen is len of view's text, without building it.
func (r *modelRequest) viewLen() int {
	if r.sel == nil {
		return len(r.doc.Text)
	}
	return len(r.doc.Text) - (r.sel.end - r.sel.start) + len(r.sel.text)
}

// edit is a candidate as a replacement of doc.Text[start:end] on the
// cursor's line.
type edit struct {
	start, end int
	text       string
}

// prepare validates a completion position against the snapshot of uri. A
// document that is not open yields (nil, nil): nothing to complete.
func (s *Server) prepare(uri string, pos protocol.Position) (*modelRequest, error) {
	doc, deleted := s.snapshotDeleted(uri)
	if doc == nil {
		s.log.Debug("completion for a document that is not open", "uri", uri)
		return nil, nil
	}
	enc := s.encoding()
	offset, err := doc.Mapper().PositionOffset(pos, enc)
	if err != nil {
		return nil, invalidParams(fmt.Errorf("%s: %w", uri, err))
	}
	return &modelRequest{doc: doc, enc: enc, offset: offset, n: 1, afterDelete: deleted}, nil
}

// run computes candidates for r in view coordinates (see modelRequest.view).
// It runs after jsonrpc2.Async, off the read loop. A nil result with a nil
// error means "nothing to show".
func (s *Server) run(ctx context.Context, r *modelRequest) ([]infill.Candidate, error) {
	conf := s.settings()
	s.conf.Lock()
	disabled := s.conf.disabled
	s.conf.Unlock()
	doc := r.doc
	switch {
	case disabled, !conf.LanguageEnabled(doc.LanguageID), !r.invoked && (conf.TriggerMode == "manual" || r.afterDelete):
		return nil, nil
	// The limits hold for the text the engine completes: the document with
	// the popup's selected item applied (as much client input as the
	// document itself).
	case r.viewLen() > s.opts.MaxDocumentBytes:
		s.refuse(r, fmt.Sprintf("the file is too large for completions (%d MiB, limit %d MiB)", r.viewLen()>>20, s.opts.MaxDocumentBytes>>20))
		return nil, nil
	case strings.IndexByte(doc.Text, 0) >= 0:
		s.refuse(r, "the file looks binary (it contains NUL characters)")
		return nil, nil
	case r.sel != nil && strings.IndexByte(r.sel.text, 0) >= 0:
		s.refuse(r, "the selected completion contains NUL characters")
		return nil, nil
	}
	ref := s.acquire()
	if ref == nil {
		s.sendStatus(true) // tell the client why there is nothing yet
		return nil, nil
	}
	defer ref.users.Done()

	text, offset := r.view()
	key := cacheKey{lang: doc.LanguageID, steps: conf.Steps, maxTokens: conf.MaxTokens, alg: conf.Algorithm, gen: ref.gen, minConf: conf.MinConfidence}
	if cands := s.cache.lookup(key, text, offset, r.n); cands != nil {
		s.log.Debug("cache hit", "uri", doc.URI, "version", doc.Version)
		return cands[:min(len(cands), r.n)], nil
	}
	// Automatic requests wait for typing to pause (longer while the user
	// passes suggestions over); invoked ones go at once.
	if !r.invoked {
		if wait := s.automaticDebounce(conf.Debounce()); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, cancelledError(ctx)
			case <-t.C:
			}
		}
	}
	if ctx.Err() != nil {
		return nil, cancelledError(ctx)
	}

	dctx, cancel := context.WithTimeout(ctx, conf.Deadline())
	defer cancel()
	s.beginBusy()
	start := time.Now()
	var res *infill.Result
	var err error
	func() {
		defer func() { s.endBusy(ctx, dctx, err, time.Since(start), conf.Deadline()) }()
		res, err = ref.engine.Complete(dctx, infill.Request{
			Path:       uriPath(doc.URI),
			LanguageID: doc.LanguageID,
			Text:       text,
			Offset:     offset,
			MaxTokens:  conf.MaxTokens,
			Steps:      conf.Steps,
			Alg:        conf.Algorithm,
			Candidates: r.n,
			// The suggestion policy's threshold (0 in the settings: none).
			MinConfidence: infill.Threshold(conf.MinConfidence),
			Related:       s.related.Chunks(uriPath(doc.URI)),
		})
	}()
	switch {
	case ctx.Err() != nil:
		return nil, cancelledError(ctx)
	case err != nil && errors.Is(dctx.Err(), context.DeadlineExceeded):
		s.log.Debug("completion ran into the deadline", "uri", doc.URI, "deadline_ms", conf.DeadlineMs)
		return nil, nil
	case err != nil:
		s.log.Error("completion failed", "uri", doc.URI, "lang", doc.LanguageID, "err", err)
		return nil, nil
	case res == nil:
		return nil, nil
	}
	s.log.Debug("completion", "uri", doc.URI, "version", doc.Version, "n_candidates", len(res.Candidates),
		"dur_ms", msSince(start), "model_ms", res.Timing.Model.Milliseconds())
	s.cache.store(key, text, offset, r.n, res.Candidates)
	return res.Candidates, nil
}

// refuse logs why a document gets no completions and, for an explicit
// request, tells the user.
func (s *Server) refuse(r *modelRequest, why string) {
	s.log.Debug("completion refused", "uri", r.doc.URI, "reason", why)
	if r.invoked {
		s.notify(protocol.MethodWindowShowMessage, rawJSON(map[string]any{"type": 3, "message": "dream: " + why}))
	}
}

func (s *Server) beginBusy() {
	s.stat.Lock()
	s.stat.busy++
	s.stat.Unlock()
	s.sendStatus(false)
}

// endBusy records the outcome of one model call and updates the status.
func (s *Server) endBusy(ctx, dctx context.Context, err error, took, deadline time.Duration) {
	s.stat.Lock()
	s.stat.busy--
	switch {
	case ctx.Err() != nil:
		// Cancelled: says nothing about the model's speed.
	case err != nil && errors.Is(dctx.Err(), context.DeadlineExceeded):
		s.stat.lastLatency, s.stat.slow, s.stat.failed = took, true, ""
	case err != nil:
		s.stat.failed = fmt.Sprintf("completion failed: %v", err)
	default:
		s.stat.lastLatency, s.stat.failed = took, ""
		s.stat.slow = took > deadline*3/4
	}
	s.stat.Unlock()
	s.sendStatus(false)
}

// editStyle is the shape of the edits a client surface gets.
type editStyle int

const (
	// inlineEdits start at the cursor (or at the selected popup item) so
	// ghost text is drawn from the cursor on.
	inlineEdits editStyle = iota
	// itemEdits start at the beginning of the word before the cursor, which
	// clients filter completion items by, and never extend past the cursor:
	// Neovim expands a snippet item at the cursor and ignores the range's
	// end, so a swallowed ")" would be doubled there.
	itemEdits
)

// edits turns candidates (in view coordinates) into single-line
// replacements in the document that contain the cursor. A candidate's range
// is narrowed to the cursor wherever that inserts the same text: the typed
// part before the cursor and characters after it that the candidate retypes
// are left in place (insert-only), so no client draws the suggestion over
// the user's text. The one exception is inline edits where the rest of the
// line is only auto-closed characters that the candidate retypes: the
// range then covers them, so a client that paints ghost text over the rest
// of the line (Neovim 0.12) shows exactly the line accepting gives.
// Candidates that would span lines, do nothing or repeat an earlier one are
// dropped.
func (r *modelRequest) edits(cands []infill.Candidate, style editStyle) []edit {
	text, voff := r.view()
	doc := r.doc.Text
	m := r.doc.Mapper()
	line := m.LineOf(r.offset)
	_, lineEnd := m.LineBounds(line)
	cur := r.offset // the cursor in doc, after the selected popup item
	if r.sel != nil {
		cur = max(cur, r.sel.end)
	}
	var out []edit
	seen := map[edit]bool{}
	for _, c := range cands {
		if c.Start < 0 || c.End < c.Start || c.End > len(text) {
			continue
		}
		s0, e0 := min(c.Start, voff), max(c.End, voff)
		if r.sel != nil {
			s0 = min(s0, r.sel.start)
		}
		ins := text[s0:c.Start] + c.Text + text[c.End:e0]
		end := e0 // back to document coordinates
		if r.sel != nil {
			end = e0 - len(r.sel.text) + (r.sel.end - r.sel.start)
		}
		if end < s0 || end > len(doc) || m.LineOf(s0) != line || m.LineOf(end) != line {
			continue
		}
		// Before the cursor: drop the typed text the candidate repeats.
		if r.sel == nil && s0 < cur && strings.HasPrefix(ins, doc[s0:cur]) {
			ins, s0 = ins[cur-s0:], cur
		}
		// After the cursor: leave retyped characters in place, or cover the
		// auto-closed rest of the line (see above).
		rest := doc[cur:lineEnd]
		retypesRest := (end == cur || end == lineEnd) && rest != "" && strings.Trim(rest, autoClosers) == "" &&
			len(ins) > len(rest) && strings.HasSuffix(ins, rest)
		switch {
		case retypesRest && style == inlineEdits:
			end = lineEnd
		case retypesRest:
			ins, end = ins[:len(ins)-len(rest)], cur
		case end > cur && strings.HasSuffix(ins, doc[cur:end]):
			ins, end = ins[:len(ins)-(end-cur)], cur
		}
		if style == itemEdits {
			if from := wordStart(doc, r.offset); from < s0 && r.sel == nil {
				ins, s0 = doc[from:s0]+ins, from
			}
		}
		if ins == doc[s0:end] || !utf8.ValidString(ins) {
			continue
		}
		e := edit{start: s0, end: end, text: ins}
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	return out
}

// lineBlankAt reports whether the line where rng starts is blank (only
// whitespace) in doc.
func lineBlankAt(doc *document.Document, rng protocol.Range, enc document.Encoding) bool {
	m := doc.Mapper()
	off, err := m.PositionOffset(rng.Start, enc)
	if err != nil {
		return false
	}
	ls, le := m.LineBounds(m.LineOf(off))
	return strings.TrimSpace(doc.Text[ls:le]) == ""
}

// autoClosers are the characters editors insert after the cursor when the
// user types an opening bracket or quote.
const autoClosers = ")]}\"'`"

// wordStart returns the start of the identifier that ends at offset.
func wordStart(text string, offset int) int {
	for offset > 0 {
		r, size := utf8.DecodeLastRuneInString(text[:offset])
		if r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			break
		}
		offset -= size
	}
	return offset
}

// acceptCommand returns the dream.accept command for a new item id.
func (s *Server) acceptCommand(insertText string) protocol.Command {
	id := fmt.Sprintf("d-%d", s.itemSeq.Add(1))
	s.accept.issue(id, utf16Len(insertText))
	return protocol.Command{
		Title:     "dream: accepted",
		Command:   CommandAccept,
		Arguments: []protocol.LSPAny{protocol.LSPAny(rawJSON(acceptArgs{ID: id}))},
	}
}

func utf16Len(s string) int64 {
	var n int64
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// uriPath returns the file path of a file: URI, or the URI itself.
func uriPath(uri string) string {
	if u, err := url.Parse(uri); err == nil && u.Scheme == "file" {
		return u.Path
	}
	return uri
}
