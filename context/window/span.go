// Package window decides what to fill at a cursor (the span: its kind,
// byte range and indentation) and which part of the document the model sees
// (prefix and suffix windows under a token budget, cut at syntax boundaries,
// keeping imports, the enclosing signature and the lines near the cursor).
package window

import (
	"strings"

	"github.com/dream-lsp/dream-lsp/context/lang"
	"github.com/dream-lsp/dream-lsp/context/syntax"
)

// Kind names the cursor situation.
type Kind string

// The span kinds.
const (
	EndOfLine Kind = "end_of_line" // cursor at the end of a non-blank line
	MidLine   Kind = "mid_line"    // text after the cursor on its line
	EmptyLine Kind = "empty_line"  // blank line inside a block
	EmptyBody Kind = "empty_body"  // blank body of a function or block
	ArgList   Kind = "arg_list"    // inside call arguments, before the closing ')'
	Hole      Kind = "hole"        // an explicit placeholder: /* fill */, // fill, # fill, ...
)

// Span is the region the middle replaces and how it should be shaped.
type Span struct {
	Kind       Kind
	Start, End int // byte range of the document the middle replaces (End > Start for holes)
	// Indent is the indentation of the lines of a multi-line middle.
	Indent string
	// LineIndent is the indentation of the cursor's line.
	LineIndent string
	// IndentUnit is one indentation level in this document ("\t", "    ").
	IndentUnit string
	// ScopeIndent: a non-blank middle line indented less than this leaves
	// the enclosing scope; the middle stops before it.
	ScopeIndent string
	// Before is the text of the cursor's line before Start; After the text
	// of the line after End.
	Before, After string
	// Closers is After when After is only closing characters (")", "}", quotes, ";").
	Closers string
	// Multiline is true where the middle may span several lines.
	Multiline bool
	// LineStart is true when the cursor is in the indentation (or at column
	// 0) before the text of a non-blank line: the middle is whole new lines
	// inserted above it, ending with a newline and Before.
	LineStart bool
}

// Continues reports whether the middle's first line continues text
// already on the cursor's line (non-blank text before the cursor): its
// leading blanks are then spacing between words, not indentation, and
// only the lines after it start lines of their own.
func (s Span) Continues() bool { return strings.TrimSpace(s.Before) != "" }

const closerChars = ")]}\"'`;,: \t"

// DetectSpan finds the span at offset. tree may be nil (unknown language):
// detection then uses the text alone.
func DetectSpan(tree *syntax.Tree, text string, offset int) Span {
	offset = clamp(offset, 0, len(text))
	var l *lang.Language
	if tree != nil {
		l = tree.Lang
	}
	ls := strings.LastIndexByte(text[:offset], '\n') + 1
	le := len(text)
	if i := strings.IndexByte(text[offset:], '\n'); i >= 0 {
		le = offset + i
	}
	sp := Span{Start: offset, End: offset, IndentUnit: IndentUnit(text, l)}
	if h, ok := holeAt(tree, l, text, ls, le, offset); ok {
		return h
	}
	line := text[ls:le]
	sp.LineIndent = leadingWS(line)
	sp.Before, sp.After = text[ls:offset], text[offset:le]
	before, after := strings.TrimSpace(sp.Before), strings.TrimSpace(sp.After)
	prev := prevNonBlank(text, ls)
	prevTrim := strings.TrimSpace(prev)
	if l != nil && l.IndentScoped {
		prev, prevTrim = skipDocstring(text, ls, prev, prevTrim)
	}
	switch {
	case before == "" && after != "":
		// In the indentation before existing text: insert whole lines
		// above it (the middle ends with a newline and this indentation).
		sp.Kind = EmptyLine
		sp.Multiline, sp.LineStart = true, true
		ind := leadingWS(prev)
		if opensBlock(prevTrim) {
			ind += sp.IndentUnit
		}
		cur := sp.Before + leadingWS(sp.After)
		sp.Indent = ind
		if len(cur) > len(ind) {
			sp.Indent = cur
		}
		sp.ScopeIndent = scopeIndent(l, text, ls, ind, line, sp.IndentUnit)
	case before == "" && after == "":
		sp.Kind = EmptyLine
		sp.Multiline = true
		ind := leadingWS(prev)
		if opensBlock(prevTrim) {
			ind += sp.IndentUnit
		}
		if len(sp.Before) > len(ind) {
			ind = sp.Before
		}
		sp.Indent = ind
		sp.ScopeIndent = scopeIndent(l, text, ls, ind, nextNonBlank(text, le), sp.IndentUnit)
		if isEmptyBody(tree, l, text, offset, prevTrim, ls, le) {
			sp.Kind = EmptyBody
		}
	case before != "" && after == "":
		sp.Kind = EndOfLine
		sp.Indent = sp.LineIndent
		sp.ScopeIndent = sp.LineIndent
		if opensBlock(before) {
			sp.Multiline = true
			sp.Indent = sp.LineIndent + sp.IndentUnit
		}
	default:
		sp.Kind = MidLine
		sp.Indent, sp.ScopeIndent = sp.LineIndent, sp.LineIndent
		if strings.Trim(sp.After, closerChars) == "" {
			sp.Closers = strings.TrimRight(sp.After, " \t\r")
		}
		last := before
		if strings.HasSuffix(last, "(") || strings.HasSuffix(last, ",") {
			if strings.HasPrefix(after, ")") || inArgs(tree, l, offset) {
				sp.Kind = ArgList
			}
		} else if strings.HasSuffix(last, "{") && strings.HasPrefix(after, "}") {
			sp.Kind = EmptyBody
			sp.Indent = sp.LineIndent + sp.IndentUnit
		}
	}
	return sp
}

// scopeIndent is the least indentation a new line at a blank line (or
// above line start ls) may have without leaving the enclosing block: the
// guessed indentation, lowered to that of the next non-blank line (one
// level deeper when that line closes a block), and in indentation-scoped
// languages to the body of the enclosing def.
func scopeIndent(l *lang.Language, text string, ls int, guess, next, unit string) string {
	scope := guess
	if strings.TrimSpace(next) != "" {
		ni := leadingWS(next)
		if t := strings.TrimSpace(next); strings.IndexAny(t[:1], ")]}") == 0 {
			ni += unit
		}
		if width(ni) < width(scope) {
			scope = ni
		}
	}
	if l != nil && l.IndentScoped {
		for end := ls - 1; end > 0; {
			start := strings.LastIndexByte(text[:end], '\n') + 1
			line := text[start:end]
			t := strings.TrimSpace(line)
			if strings.HasPrefix(t, "def ") || strings.HasPrefix(t, "async def ") || strings.HasPrefix(t, "class ") {
				// A blank line after a nested def may belong to any
				// enclosing def: take the outermost one.
				if body := leadingWS(line) + unit; width(body) < width(scope) {
					scope = body
				}
				if leadingWS(line) == "" {
					break
				}
			}
			end = start - 1
		}
	}
	return scope
}

// width is the column width of indentation (a tab counts four).
func width(ws string) int { return len(ws) + 3*strings.Count(ws, "\t") }

// opensBlock reports whether a trimmed line ends by opening a block.
func opensBlock(s string) bool {
	return strings.HasSuffix(s, "{") || strings.HasSuffix(s, ":") || strings.HasSuffix(s, "(") || strings.HasSuffix(s, "[")
}

func inArgs(tree *syntax.Tree, l *lang.Language, offset int) bool {
	if tree == nil {
		return false
	}
	return tree.Enclosing(offset, l.IsArgs) != nil
}

// skipDocstring: when the previous non-blank line closes a docstring, the
// line before the docstring (the def or class line) is the opener.
func skipDocstring(text string, ls int, prev, prevTrim string) (string, string) {
	for _, q := range []string{`"""`, `'''`} {
		if !strings.HasSuffix(prevTrim, q) {
			continue
		}
		// find the line where the docstring opens
		end := ls - 1
		for end > 0 {
			start := strings.LastIndexByte(text[:end], '\n') + 1
			line := strings.TrimSpace(text[start:end])
			if strings.HasPrefix(line, q) {
				if p := prevNonBlank(text, start); strings.HasSuffix(strings.TrimSpace(p), ":") {
					return p, strings.TrimSpace(p)
				}
				break
			}
			end = start - 1
		}
	}
	return prev, prevTrim
}

// isEmptyBody: the blank line is the whole body of a block (only blank
// lines and comments between its opening and closing).
func isEmptyBody(tree *syntax.Tree, l *lang.Language, text string, offset int, prevTrim string, ls, le int) bool {
	if !opensBlock(prevTrim) || strings.HasSuffix(prevTrim, "(") || strings.HasSuffix(prevTrim, "[") {
		return false
	}
	next := nextNonBlank(text, le)
	nt := strings.TrimSpace(next)
	if l != nil && l.IndentScoped || strings.HasSuffix(prevTrim, ":") {
		// Python: the next non-blank line is not indented deeper than the opener.
		return nt == "" || len(leadingWS(next)) <= len(leadingWS(prevNonBlank(text, ls)))
	}
	if tree != nil {
		if b := tree.Enclosing(offset, l.IsBlock); b != nil {
			for i := 0; i < int(b.NamedChildCount()); i++ {
				if c := b.NamedChild(i); !strings.Contains(c.Type(), "comment") {
					return false
				}
			}
			return true
		}
	}
	return strings.HasPrefix(nt, "}")
}

// holeAt finds an explicit hole marker on the cursor's line that the cursor
// touches.
func holeAt(tree *syntax.Tree, l *lang.Language, text string, ls, le, offset int) (Span, bool) {
	for _, h := range findHoles(tree, l, text, ls, le) {
		if h.Start <= offset && offset <= h.End {
			return h, true
		}
	}
	return Span{}, false
}

// Holes returns every explicit hole marker in text[start:end], in order.
func Holes(tree *syntax.Tree, text string, start, end int) []Span {
	var l *lang.Language
	if tree != nil {
		l = tree.Lang
	}
	start, end = clamp(start, 0, len(text)), clamp(end, 0, len(text))
	return findHoles(tree, l, text, start, end)
}

func findHoles(tree *syntax.Tree, l *lang.Language, text string, start, end int) []Span {
	markers := []string{"/* fill */", "// fill", "# fill", "..."}
	if l != nil {
		markers = l.HoleMarkers()
	}
	unit := IndentUnit(text, l)
	var out []Span
	for i := start; i < end; {
		best, bestAt := "", -1
		for _, m := range markers {
			j := strings.Index(text[i:end], m)
			if j >= 0 && (bestAt < 0 || i+j < bestAt) {
				best, bestAt = m, i+j
			}
		}
		if bestAt < 0 {
			break
		}
		ms, me := bestAt, bestAt+len(best)
		i = me
		ls := strings.LastIndexByte(text[:ms], '\n') + 1
		le := len(text)
		if k := strings.IndexByte(text[me:], '\n'); k >= 0 {
			le = me + k
		}
		before, after := text[ls:ms], text[me:le]
		switch best {
		case "// fill", "# fill":
			if strings.TrimSpace(after) != "" {
				continue
			}
			me = le
		case "...":
			if identAdjacent(text, ms-1) || identAdjacent(text, me) || (ms > 0 && text[ms-1] == '.') || (me < len(text) && text[me] == '.') {
				continue
			}
			if l != nil && l.ID != "python" && strings.TrimSpace(before) == "" && strings.TrimSpace(after) == "" {
				// a lone ... line is a hole in every language
			} else if l != nil && l.ID != "python" {
				b := strings.TrimSpace(before)
				if !(strings.HasSuffix(b, "(") || strings.HasSuffix(b, "{") || strings.HasSuffix(b, "[") || strings.HasSuffix(b, ",")) {
					continue
				}
			}
		}
		if tree != nil && best != "/* fill */" && best != "// fill" && best != "# fill" {
			if n := tree.NodeAt(ms, me); n != nil && strings.Contains(n.Type(), "string") {
				continue
			}
		}
		ownLine := strings.TrimSpace(before) == "" && strings.TrimSpace(text[me:le]) == ""
		sp := Span{Kind: Hole, Start: ms, End: me, IndentUnit: unit, LineIndent: leadingWS(text[ls:le]),
			Before: before, After: text[me:le], Multiline: ownLine}
		sp.Indent, sp.ScopeIndent = sp.LineIndent, sp.LineIndent
		if strings.Trim(sp.After, closerChars) == "" {
			sp.Closers = strings.TrimRight(sp.After, " \t\r")
		}
		out = append(out, sp)
	}
	return out
}

func identAdjacent(text string, i int) bool {
	if i < 0 || i >= len(text) {
		return false
	}
	c := text[i]
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// IndentUnit guesses one indentation level of text: a tab when any line is
// tab-indented, else the smallest space indentation, else the language's
// convention.
func IndentUnit(text string, l *lang.Language) string {
	minSp := 0
	for _, line := range strings.Split(text, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		if strings.HasPrefix(line, "\t") {
			return "\t"
		}
		n := len(line) - len(strings.TrimLeft(line, " "))
		if n >= 2 && (minSp == 0 || n < minSp) {
			minSp = n
		}
	}
	if minSp > 0 {
		return strings.Repeat(" ", minSp)
	}
	if l != nil && l.ID == "go" {
		return "\t"
	}
	return "    "
}

func leadingWS(s string) string { return s[:len(s)-len(strings.TrimLeft(s, " \t"))] }

// prevNonBlank returns the last non-blank line ending before byte ls.
func prevNonBlank(text string, ls int) string {
	for end := ls - 1; end > 0; {
		start := strings.LastIndexByte(text[:end], '\n') + 1
		if line := text[start:end]; strings.TrimSpace(line) != "" {
			return line
		}
		end = start - 1
	}
	return ""
}

// nextNonBlank returns the first non-blank line starting after byte le.
func nextNonBlank(text string, le int) string {
	for start := le + 1; start < len(text); {
		end := len(text)
		if k := strings.IndexByte(text[start:], '\n'); k >= 0 {
			end = start + k
		}
		if line := text[start:end]; strings.TrimSpace(line) != "" {
			return line
		}
		start = end + 1
	}
	return ""
}

func clamp(x, lo, hi int) int {
	if x < lo {
		return lo
	}
	if x > hi {
		return hi
	}
	return x
}
