package window

import (
	"sort"
	"strings"

	sitter "github.com/smacker/go-tree-sitter"

	"github.com/dream-lsp/dream-lsp/context/lang"
	"github.com/dream-lsp/dream-lsp/context/syntax"
)

// Window is the part of the document the model sees: Head + Prefix, then
// the middle, then Suffix.
type Window struct {
	// Head holds pieces kept from above the prefix window when it was
	// trimmed (imports, the enclosing signature), each ending in a newline;
	// empty when nothing was trimmed.
	Head string
	// Prefix is Text[PrefixStart:span.Start]; Suffix is Text[span.End:SuffixEnd].
	Prefix, Suffix         string
	PrefixStart, SuffixEnd int
	// Trimmed is true when the document did not fit the budget.
	Trimmed bool
}

// Counter counts the tokens of a text.
type Counter func(string) int

// SuffixShare is the share of a tight budget given to the suffix.
const SuffixShare = 0.25

// Build cuts prefix and suffix windows around span so that their tokens
// (by count) stay within budget. budget <= 0 means no limit. tree may be nil.
func Build(tree *syntax.Tree, text string, span Span, budget int, count Counter) Window {
	w := Window{Prefix: text[:span.Start], Suffix: text[span.End:], PrefixStart: 0, SuffixEnd: len(text)}
	if budget <= 0 || len(text)-(span.End-span.Start) <= budget {
		return w // every token is at least one byte: it fits
	}
	pLines := splitLinesBack(text, span.Start)
	sLines := splitLinesFwd(text, span.End)
	pTok := make([]int, len(pLines))
	pTotal := 0
	for i, r := range pLines {
		pTok[i] = count(text[r[0]:r[1]])
		pTotal += pTok[i]
	}
	sTok := make([]int, len(sLines))
	sTotal := 0
	for i, r := range sLines {
		sTok[i] = count(text[r[0]:r[1]])
		sTotal += sTok[i]
	}
	if pTotal+sTotal <= budget {
		return w
	}
	w.Trimmed = true
	sBudget := int(float64(budget) * SuffixShare)
	if sTotal < sBudget {
		sBudget = sTotal
	}
	pBudget := budget - sBudget
	if pTotal < pBudget {
		pBudget = pTotal
		sBudget = budget - pBudget
	}

	// Head: imports and the enclosing signatures, when they lie above the cut.
	var pieces [][2]int
	if tree != nil {
		pieces = headPieces(tree, text, span.Start)
	}
	headCost := func(cut int) (string, int) {
		var b strings.Builder
		cost := 0
		for _, p := range pieces {
			if p[1] <= cut {
				s := text[p[0]:p[1]]
				if !strings.HasSuffix(s, "\n") {
					s += "\n"
				}
				c := count(s)
				if cost+c > pBudget/2 {
					continue
				}
				b.WriteString(s)
				cost += c
			}
		}
		return b.String(), cost
	}

	// Grow the prefix upward from the cursor line by whole lines.
	used, k := 0, 0
	for k < len(pLines) && used+pTok[k] <= pBudget {
		used += pTok[k]
		k++
	}
	if k == 0 {
		k = 1 // the cursor's own line is always kept
	}
	if k < len(pLines) {
		// Reserve room for the head by dropping lines far from the cursor.
		for k > 1 {
			_, hc := headCost(pLines[k-1][0])
			if used+hc <= pBudget {
				break
			}
			k--
			used -= pTok[k]
		}
		// Snap the cut to a line that starts a statement or definition.
		if tree != nil {
			for j := k - 1; j > 0 && j > k-12; j-- {
				if startsStatement(tree, text, pLines[j][0]) {
					k = j + 1
					break
				}
			}
		}
		w.PrefixStart = pLines[k-1][0]
		w.Head, _ = headCost(w.PrefixStart)
	}
	w.Prefix = text[w.PrefixStart:span.Start]

	used = 0
	k = 0
	for k < len(sLines) && used+sTok[k] <= sBudget {
		used += sTok[k]
		k++
	}
	if k == 0 && len(sLines) > 0 {
		k = 1 // the rest of the cursor's line is always kept
	}
	if k < len(sLines) && k > 0 {
		// Snap the cut back to the end of a line followed by a statement
		// or definition, so the suffix ends on a syntax boundary.
		if tree != nil {
			for j := k; j > 1 && j > k-12; j-- {
				if startsStatement(tree, text, sLines[j][0]) {
					k = j
					break
				}
			}
		}
		w.SuffixEnd = sLines[k-1][1]
	}
	w.Suffix = text[span.End:w.SuffixEnd]
	return w
}

// splitLinesBack returns the line ranges ending at or before end, from the
// cursor line upward; the first range is [line start, end).
func splitLinesBack(text string, end int) [][2]int {
	var out [][2]int
	for e := end; ; {
		s := strings.LastIndexByte(text[:e], '\n') + 1
		if e < end {
			out = append(out, [2]int{s, e + 1}) // a full line with its newline
		} else {
			out = append(out, [2]int{s, e})
		}
		if s == 0 {
			return out
		}
		e = s - 1
	}
}

// splitLinesFwd returns the line ranges starting at start, downward; each
// includes its newline.
func splitLinesFwd(text string, start int) [][2]int {
	var out [][2]int
	for s := start; s < len(text); {
		e := len(text)
		if k := strings.IndexByte(text[s:], '\n'); k >= 0 {
			e = s + k + 1
		}
		out = append(out, [2]int{s, e})
		s = e
	}
	return out
}

// headPieces: byte ranges of imports and of the signatures of the
// definitions enclosing offset (from the definition's start to the end of
// the line where its body starts), sorted by position.
func headPieces(tree *syntax.Tree, text string, offset int) [][2]int {
	var out [][2]int
	if caps, err := tree.Captures(lang.QueryImports); err == nil {
		for _, c := range caps {
			if c.Name == "import" && c.End <= offset {
				out = append(out, [2]int{lineStart(text, c.Start), lineEnd(text, c.End)})
			}
		}
	}
	if caps, err := tree.Captures(lang.QueryScopes); err == nil {
		for _, c := range caps {
			if c.Name != "body" || !(c.Start < offset && offset <= c.End) {
				continue
			}
			def := c.Node.Parent()
			if def == nil {
				continue
			}
			out = append(out, [2]int{lineStart(text, int(def.StartByte())), lineEnd(text, c.Start)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	// drop overlapping pieces
	var dedup [][2]int
	for _, p := range out {
		if len(dedup) > 0 && p[0] < dedup[len(dedup)-1][1] {
			continue
		}
		dedup = append(dedup, p)
	}
	return dedup
}

func lineStart(text string, i int) int { return strings.LastIndexByte(text[:i], '\n') + 1 }

func lineEnd(text string, i int) int {
	if k := strings.IndexByte(text[i:], '\n'); k >= 0 {
		return i + k + 1
	}
	return len(text)
}

// startsStatement reports whether the line at ls begins with a node that is
// a direct child of the root or of a block.
func startsStatement(tree *syntax.Tree, text string, ls int) bool {
	le := lineEnd(text, ls)
	line := text[ls:le]
	ws := len(leadingWS(line))
	if strings.TrimSpace(line) == "" {
		return false
	}
	at := ls + ws
	n := tree.NodeAt(at, at+1)
	for ; n != nil && !n.IsNull(); n = n.Parent() {
		if int(n.StartByte()) != at {
			return false
		}
		p := n.Parent()
		if p == nil || p.IsNull() {
			return true
		}
		if isContainer(tree.Lang, p) {
			return true
		}
	}
	return false
}

func isContainer(l *lang.Language, n *sitter.Node) bool {
	t := n.Type()
	if n.Parent() == nil || n.Parent().IsNull() {
		return true // root
	}
	return l.IsBlock(t) || t == "source_file" || t == "module" || t == "program" || t == "translation_unit"
}
