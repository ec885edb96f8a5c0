package infill

import "strings"

// lastResult is the previous completion, kept for typed-ahead reuse.
type lastResult struct {
	text   string
	offset int
	params Request // the request without Text, Offset and Candidates
	cands  []Candidate
}

func params(r Request) Request {
	r.Text, r.Offset, r.Candidates = "", 0, 0
	return r
}

// remember stores a result for typed-ahead reuse.
func (e *Engine) remember(req Request, res *Result) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.last = &lastResult{text: req.Text, offset: req.Offset, params: params(req), cands: append([]Candidate(nil), res.Candidates...)}
}

// reuse answers a request without the model when the user has typed the
// start of the previous completion: the document is the previous one with
// text inserted at the previous cursor, the cursor is after the insertion,
// and a previous candidate begins with the typed text. The rest of that
// candidate is returned.
func (e *Engine) reuse(req Request) *Result {
	e.mu.Lock()
	last := e.last
	e.mu.Unlock()
	if last == nil || last.params != params(req) {
		return nil
	}
	d := len(req.Text) - len(last.text)
	if d == 0 && req.Offset == last.offset && req.Text == last.text && len(last.cands) > 0 && max(req.Candidates, 1) <= len(last.cands) {
		// The same request again (a re-trigger without an edit).
		return &Result{Candidates: append([]Candidate(nil), last.cands[:max(req.Candidates, 1)]...)}
	}
	if d <= 0 || req.Offset != last.offset+d {
		return nil
	}
	if req.Text[:last.offset] != last.text[:last.offset] || req.Text[req.Offset:] != last.text[last.offset:] {
		return nil
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
