// Package syntax parses documents with tree-sitter and runs the language
// registry's queries over the trees.
package syntax

import (
	"context"
	"fmt"

	sitter "github.com/smacker/go-tree-sitter"

	"github.com/dream-lsp/dream-lsp/context/lang"
)

// Tree is a parsed document. Close it when done.
type Tree struct {
	Lang *lang.Language
	Src  []byte
	t    *sitter.Tree
}

// Parse parses src. It returns an error only when ctx ends or the parser
// fails; syntax errors in src are represented in the tree.
func Parse(ctx context.Context, l *lang.Language, src []byte) (*Tree, error) {
	p := sitter.NewParser()
	defer p.Close()
	p.SetLanguage(l.Grammar())
	t, err := p.ParseCtx(ctx, nil, src)
	if err != nil {
		return nil, fmt.Errorf("syntax: parse %s: %w", l.ID, err)
	}
	if t == nil {
		return nil, fmt.Errorf("syntax: parse %s: parser returned no tree", l.ID)
	}
	return &Tree{Lang: l, Src: src, t: t}, nil
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

func countErrors(n *sitter.Node) int {
	if n == nil || n.IsNull() {
		return 0
	}
	if n.IsMissing() {
		return 1
	}
	c := 0
	if n.IsError() {
		c = 1
	}
	if !n.HasError() {
		return c
	}
	for i := 0; i < int(n.ChildCount()); i++ {
		c += countErrors(n.Child(i))
	}
	return c
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

// Captures runs the named query of the tree's language over the whole tree.
func (t *Tree) Captures(query string) ([]Capture, error) {
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
	n := t.Root()
	for {
		next := (*sitter.Node)(nil)
		for i := 0; i < int(n.ChildCount()); i++ {
			c := n.Child(i)
			if int(c.StartByte()) <= start && end <= int(c.EndByte()) && !(int(c.EndByte()) == start && start == end && int(c.StartByte()) < start) {
				next = c
				break
			}
		}
		if next == nil {
			return n
		}
		n = next
	}
}

// Enclosing returns the innermost ancestor of the node at offset (the node
// included) whose type satisfies pred, or nil.
func (t *Tree) Enclosing(offset int, pred func(nodeType string) bool) *sitter.Node {
	for n := t.NodeAt(offset, offset); n != nil && !n.IsNull(); n = n.Parent() {
		if pred(n.Type()) && int(n.StartByte()) < offset && offset < int(n.EndByte()) {
			return n
		}
	}
	return nil
}
