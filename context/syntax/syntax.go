// Package syntax parses documents with tree-sitter and runs the language
// registry's queries over the trees.
package syntax

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	sitter "github.com/smacker/go-tree-sitter"

	"github.com/dream-lsp/dream-lsp/context/lang"
)

// Tree is a parsed document. Close it when done.
type Tree struct {
	Lang *lang.Language
	Src  []byte
	t    *sitter.Tree
}

// MaxParseTime bounds one parse whatever the caller's deadline: a file
// that takes longer (megabytes, or pathological nesting) fails with an
// error wrapping sitter.ErrOperationLimit instead of holding a CPU.
const MaxParseTime = time.Second

// Parse parses src. It returns an error only when ctx ends, the parse runs
// past MaxParseTime or the parser fails; syntax errors in src are
// represented in the tree.
func Parse(ctx context.Context, l *lang.Language, src []byte) (*Tree, error) {
	p := sitter.NewParser()
	defer p.Close()
	p.SetLanguage(l.Grammar())
	limit := MaxParseTime
	if d, ok := ctx.Deadline(); ok {
		limit = max(min(limit, time.Until(d)), time.Millisecond)
	}
	p.SetOperationLimit(int(limit.Microseconds()))
	t, err := p.ParseCtx(ctx, nil, src)
	if err != nil {
		return nil, fmt.Errorf("syntax: parse %s (%d bytes): %w", l.ID, len(src), err)
	}
	if t == nil {
		return nil, fmt.Errorf("syntax: parse %s: parser returned no tree", l.ID)
	}
	return &Tree{Lang: l, Src: src, t: t}, nil
}

// WindowBytes is the size beyond which callers parse a window of the text
// around the place they work on instead of the whole text (see Bounds).
const WindowBytes = 256 << 10

// Bounds returns the byte range [lo, hi) of text to parse for work on
// text[start:end]: the whole text when it is at most limit bytes long, else
// about limit/2 bytes on each side of the range, moved to a line boundary
// where one lies in the outer eighth of the window and to a character
// boundary always. A range longer than limit is returned as is.
func Bounds(text string, start, end, limit int) (lo, hi int) {
	if len(text) <= limit || end-start >= limit {
		return 0, len(text)
	}
	side := (limit - (end - start)) / 2
	lo, hi = start-side, end+side
	if lo <= 0 {
		lo, hi = 0, limit
	} else if hi >= len(text) {
		lo, hi = len(text)-limit, len(text)
	}
	slack := limit / 8
	if lo > 0 && text[lo-1] != '\n' {
		if i := strings.IndexByte(text[lo:min(lo+slack, start)], '\n'); i >= 0 {
			lo += i + 1
		} else {
			for lo < start && !utf8.RuneStart(text[lo]) {
				lo++
			}
		}
	}
	if hi < len(text) && text[hi-1] != '\n' {
		from := max(end, hi-slack)
		if i := strings.LastIndexByte(text[from:hi], '\n'); i >= 0 {
			hi = from + i + 1
		} else {
			for hi > end && !utf8.RuneStart(text[hi]) {
				hi--
			}
		}
	}
	return lo, hi
}

// Close releases the tree.
func (t *Tree) Close() {
	if t != nil && t.t != nil {
		t.t.Close()
		t.t = nil
	}
}

// Root returns the root node.
func (t *Tree) Root() *sitter.Node { return t.t.RootNode() }

// ErrorCount counts ERROR and MISSING nodes: a measure of how badly the
// document fails to parse (0: it parses).
func (t *Tree) ErrorCount() int {
	root := t.Root()
	if !root.HasError() {
		return 0
	}
	return countErrors(root)
}

// countErrors counts the ERROR and MISSING nodes under n, descending only
// into subtrees that contain one.
func countErrors(n *sitter.Node) int {
	c := 0
	Walk(n, func(n *sitter.Node) bool {
		if n.IsMissing() {
			c++
			return false
		}
		if n.IsError() {
			c++
		}
		return n.HasError()
	})
	return c
}

// Walk visits n and its descendants in document order; visit returns
// whether to descend into the node it was given. It moves a tree cursor,
// so each step costs O(1): Node.Child(i) costs O(i), which makes a loop
// over the children of a wide node (an ERROR node holding a hundred
// thousand tokens) quadratic, and recursion over a deep tree grows the
// goroutine stack with every level.
func Walk(n *sitter.Node, visit func(*sitter.Node) bool) {
	if n == nil || n.IsNull() {
		return
	}
	c := sitter.NewTreeCursor(n)
	defer c.Close()
	for {
		if visit(c.CurrentNode()) && c.GoToFirstChild() {
			continue
		}
		for !c.GoToNextSibling() {
			if !c.GoToParent() {
				return
			}
		}
	}
}

// Children returns n's children (named or not) in order, in time linear in
// their number (see Walk).
func Children(n *sitter.Node) []*sitter.Node {
	if n == nil || n.IsNull() {
		return nil
	}
	c := sitter.NewTreeCursor(n)
	defer c.Close()
	var out []*sitter.Node
	for ok := c.GoToFirstChild(); ok; ok = c.GoToNextSibling() {
		out = append(out, c.CurrentNode())
	}
	return out
}

// ErrorCount parses src and counts its errors.
func ErrorCount(ctx context.Context, l *lang.Language, src []byte) (int, error) {
	t, err := Parse(ctx, l, src)
	if err != nil {
		return 0, err
	}
	defer t.Close()
	return t.ErrorCount(), nil
}

// Capture is one query capture: its name and byte range.
type Capture struct {
	Name       string
	Start, End int
	Node       *sitter.Node
}

// MaxQueryDepth is the deepest bracket nesting over which queries run.
// Tree-sitter's query cursor slows down without bound on pathologically
// nested input (a window of a million "[" took minutes), and no real code
// nests brackets this deep.
const MaxQueryDepth = 256

// ErrTooDeep is returned by Captures for text nested deeper than
// MaxQueryDepth.
var ErrTooDeep = errors.New("syntax: text nested too deeply for queries")

// bracketDepth returns the deepest nesting of (), [] and {} in src,
// stopping once it passes limit. Brackets in strings and comments count
// too: it is a bound, not a parse.
func bracketDepth(src []byte, limit int) int {
	d, deepest := 0, 0
	for _, b := range src {
		switch b {
		case '(', '[', '{':
			d++
			if d > deepest {
				if deepest = d; deepest > limit {
					return deepest
				}
			}
		case ')', ']', '}':
			d = max(d-1, 0)
		}
	}
	return deepest
}

// Captures runs the named query of the tree's language over the whole tree.
// Text nested deeper than MaxQueryDepth gets ErrTooDeep.
func (t *Tree) Captures(query string) ([]Capture, error) {
	if bracketDepth(t.Src, MaxQueryDepth) > MaxQueryDepth {
		return nil, ErrTooDeep
	}
	q, err := t.Lang.Query(query)
	if err != nil {
		return nil, err
	}
	qc := sitter.NewQueryCursor()
	defer qc.Close()
	qc.Exec(q, t.Root())
	var out []Capture
	for {
		m, ok := qc.NextMatch()
		if !ok {
			break
		}
		m = qc.FilterPredicates(m, t.Src)
		for _, c := range m.Captures {
			out = append(out, Capture{Name: q.CaptureNameForId(c.Index), Start: int(c.Node.StartByte()), End: int(c.Node.EndByte()), Node: c.Node})
		}
	}
	return out, nil
}

// NodeAt returns the smallest node (named or not) that contains the byte
// range [start, end).
func (t *Tree) NodeAt(start, end int) *sitter.Node {
	path := t.Path(start, end)
	return path[len(path)-1]
}

// Path returns the nodes from the root down to NodeAt(start, end). Walking
// it backwards visits the ancestors without Node.Parent, which tree-sitter
// answers by descending from the root again (quadratic on deep trees).
func (t *Tree) Path(start, end int) []*sitter.Node {
	c := sitter.NewTreeCursor(t.Root())
	defer c.Close()
	path := []*sitter.Node{c.CurrentNode()}
	for c.GoToFirstChild() {
		found := false
		for {
			n := c.CurrentNode()
			if int(n.StartByte()) <= start && end <= int(n.EndByte()) && !(int(n.EndByte()) == start && start == end && int(n.StartByte()) < start) {
				found = true
				break
			}
			if !c.GoToNextSibling() {
				break
			}
		}
		if !found {
			break
		}
		path = append(path, c.CurrentNode())
	}
	return path
}

// Enclosing returns the innermost ancestor of the node at offset (the node
// included) whose type satisfies pred, or nil.
func (t *Tree) Enclosing(offset int, pred func(nodeType string) bool) *sitter.Node {
	path := t.Path(offset, offset)
	for i := len(path) - 1; i >= 0; i-- {
		if n := path[i]; pred(n.Type()) && int(n.StartByte()) < offset && offset < int(n.EndByte()) {
			return n
		}
	}
	return nil
}
