package infill

import (
	"hash/maphash"
	"strings"
)

// lastResult is the previous completion, kept for typed-ahead reuse. It
// keeps hashes of the document around the cursor, never the text itself
// (callers may require that a request's text is not retained).
type lastResult struct {
	prefix, suffix uint64 // hashes of Text[:Offset] and Text[Offset:]
	textLen        int
	offset         int
	params         reqKey // the request without Text, Offset and Candidates
	cands          []Candidate
}

// reqKey is what a request asks for apart from the document, the cursor
// and the number of candidates (Related by hash).
type reqKey struct {
	Path, LanguageID string
	MaxTokens, Steps int
	Alg, Length      string
	MinConfidence    float64
	related          uint64
}

func (e *Engine) params(r Request) reqKey {
	var h maphash.Hash
	h.SetSeed(e.seed)
	for _, c := range r.Related {
		h.WriteString(c.Path)
		h.WriteByte(0)
		h.WriteString(c.Text)
		h.WriteByte(0)
	}
	return reqKey{r.Path, r.LanguageID, r.MaxTokens, r.Steps, r.Alg, r.Length, r.MinConfidence, h.Sum64()}
}

func (e *Engine) hash(s string) uint64 { return maphash.String(e.seed, s) }

// remember stores a result for typed-ahead reuse.
func (e *Engine) remember(req Request, res *Result) {
	l := &lastResult{prefix: e.hash(req.Text[:req.Offset]), suffix: e.hash(req.Text[req.Offset:]), textLen: len(req.Text),
		offset: req.Offset, params: e.params(req), cands: append([]Candidate(nil), res.Candidates...)}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.last = l
}

// reuse answers a request without the model when the user has typed the
// start of the previous completion: the document is the previous one with
// text inserted at the previous cursor, the cursor is after the insertion,
// and a previous candidate begins with the typed text. The rest of that
// candidate is returned. The same request again is answered from the
// previous result.
func (e *Engine) reuse(req Request) *Result {
	e.mu.Lock()
	last := e.last
	e.mu.Unlock()
	if last == nil || last.params != e.params(req) {
		return nil
	}
	d := len(req.Text) - last.textLen
	if d < 0 || req.Offset != last.offset+d || last.offset > len(req.Text) {
		return nil
	}
	if e.hash(req.Text[:last.offset]) != last.prefix || e.hash(req.Text[req.Offset:]) != last.suffix {
		return nil
	}
	if d == 0 {
		n := max(req.Candidates, 1)
		if len(last.cands) == 0 || n > len(last.cands) {
			return nil
		}
		return &Result{Candidates: append([]Candidate(nil), last.cands[:n]...)}
	}
	typed := req.Text[last.offset:req.Offset]
	res := &Result{}
	for _, c := range last.cands {
		if c.Start != last.offset || c.End != last.offset || !strings.HasPrefix(c.Text, typed) || len(c.Text) == len(typed) {
			continue
		}
		c.Text = c.Text[len(typed):]
		c.Start, c.End = req.Offset, req.Offset
		res.Candidates = append(res.Candidates, c)
	}
	if len(res.Candidates) == 0 {
		return nil
	}
	if req.Candidates > 0 && len(res.Candidates) > req.Candidates {
		res.Candidates = res.Candidates[:req.Candidates]
	}
	e.remember(req, res)
	return res
}
